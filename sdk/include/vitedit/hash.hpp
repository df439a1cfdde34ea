// vitedit — content hashes (SHA-256) that tie patches and checkpoints to the model they were made on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "vitedit/safetensors.hpp"

namespace vitedit {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t len);
    std::string hex();  // finishes; the object is spent afterwards
private:
    void block(const uint8_t* p);
    uint32_t h_[8];
    uint8_t buf_[64];
    size_t fill_ = 0;
    uint64_t total_ = 0;
};

// Hash of a set of named tensors: names, shapes and f32 bytes in name order.
std::string tensors_hash(const std::map<std::string, HostTensor>& tensors);

}  // namespace vitedit

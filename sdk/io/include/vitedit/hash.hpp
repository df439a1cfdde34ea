// vitedit — content hashes (SHA-256) that tie patches and checkpoints to the model they were made on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vitedit/host_tensor.hpp"

namespace vitedit {

// SHA-256 (libcrypto's EVP implementation, which uses the CPU's SHA extensions where present).
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256& other);  // the state so far, to continue two ways
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, size_t len);
    std::string hex();  // finishes; the object is spent afterwards
private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

// Hash of a set of named tensors: for each in name order its name (with a NUL), its dims (int64,
// host order) and its f32 bytes. The definition of a model's identity: never change the bytes it
// covers, or every stored patch, checkpoint and manifest stops matching its model.
std::string tensors_hash(const std::map<std::string, HostTensor>& tensors);

// tensors_hash of a model and of later versions of it that differ only in some tensors: the state
// just before the first of those (in name order) is kept, so each version rehashes only from
// there on.
class TensorsHasher {
public:
    // Hashes `tensors`, keeping the state before the first (in name order) of `changing`.
    TensorsHasher(const std::map<std::string, HostTensor>& tensors, const std::vector<std::string>& changing);
    const std::string& hash() const { return hash_; }
    // tensors_hash of `tensors` with those of `changed` replacing theirs. `tensors` and `changed`
    // may differ from the hashed tensors only from the first of `changing` on (in name order);
    // a tensor of `changed` before it is refused.
    std::string rehash(const std::map<std::string, HostTensor>& tensors,
                       const std::map<std::string, HostTensor>& changed) const;
    // The same with the tensors from the first of `changing` on made one at a time:
    // `version(name, t)` is what to hash in place of `tensors`' t (t itself where unchanged), so
    // that the edited tensors of a large model need not all be held at once.
    std::string rehash(const std::map<std::string, HostTensor>& tensors,
                       const std::function<HostTensor(const std::string& name, const HostTensor& t)>& version) const;

private:
    std::string first_changing_;
    std::unique_ptr<Sha256> before_;  // state before first_changing_
    std::string hash_;
};

}  // namespace vitedit

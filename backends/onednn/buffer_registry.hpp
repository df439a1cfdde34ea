// The oneDNN backend's host allocations: 64-byte aligned blocks, each remembered with its size
// so that every tensor descriptor and every upload/download can be bounds-checked. Freed blocks
// are kept (up to kMaxCachedBytes) and handed out again for a request of the same rounded size:
// an edit step or an evaluation batch allocates the same temporaries every time, and after the
// first one no step touches the allocator or faults in fresh pages.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "vitedit/tensor.h"

namespace vitedit::onednn {

class BufferRegistry {
public:
    static constexpr uint64_t kAlignment = 64;
    static constexpr uint64_t kMaxCachedBytes = 512ull << 20;

    BufferRegistry() = default;
    BufferRegistry(const BufferRegistry&) = delete;
    BufferRegistry& operator=(const BufferRegistry&) = delete;
    ~BufferRegistry();  // frees whatever the engine did not

    // Contents undefined; a 0-byte request still returns a distinct handle. Throws bad_alloc.
    ve_buffer alloc(uint64_t bytes);
    // Unknown handles (double free, foreign buffer) are ignored: free() cannot report.
    void free(ve_buffer buffer);
    // Size in bytes of a live allocation; throws Invalid naming `what` if the handle is unknown.
    uint64_t size_of(ve_buffer buffer, const char* what) const;
    // Checks [offset, offset + bytes) against the allocation and returns its address.
    unsigned char* range(ve_buffer buffer, uint64_t offset, uint64_t bytes, const char* what) const;

private:
    mutable std::mutex mutex_;
    std::unordered_map<const void*, uint64_t> sizes_;
    std::unordered_multimap<uint64_t, void*> cached_;  // rounded size -> freed block
    uint64_t cached_bytes_ = 0;
};

}  // namespace vitedit::onednn

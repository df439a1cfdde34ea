// The CUDA backend's device memory and host transfers, all ordered on the instance's stream.
//
//   - Allocations come from a per-instance stream-ordered memory pool (cudaMallocFromPoolAsync,
//     released with cudaFreeAsync after the work queued before the free), so neither alloc nor
//     free synchronizes; freed memory stays in the pool for reuse. Devices without memory pools
//     fall back to cudaMalloc/cudaFree. A ve_buffer is the allocation's device address; every
//     allocation is remembered with its size so descriptors and transfers are bounds-checked.
//   - upload() copies through a pinned double-buffered staging area (the caller may reuse its
//     memory as soon as upload returns, and no synchronization with queued kernels is needed);
//     uploads larger than a staging half are copied directly and waited for.
//   - download() waits for everything queued before it (it is a synchronization point).
//   - scratch(): one growable device workspace for ops that need temporaries (GEMM packing,
//     column-sum partials, loss staging); valid until the next scratch() call.
//
// alloc/free/upload/download may be called from several threads; ops and scratch() from one.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include <cuda_runtime_api.h>

#include "vitedit/tensor.h"

namespace vitedit::cuda {

class DeviceMemory {
public:
    DeviceMemory(int device, cudaStream_t stream);
    ~DeviceMemory();  // waits for the stream, then frees whatever the engine did not
    DeviceMemory(const DeviceMemory&) = delete;
    DeviceMemory& operator=(const DeviceMemory&) = delete;

    // Contents undefined; a 0-byte request still returns a distinct handle. Throws bad_alloc
    // when the device is out of memory.
    ve_buffer alloc(uint64_t bytes);
    // Unknown handles (double free, foreign buffer) are ignored: free() cannot report.
    void free(ve_buffer buffer);
    // Size in bytes of a live allocation; throws Invalid naming `what` if the handle is unknown.
    uint64_t size_of(ve_buffer buffer, const char* what) const;
    // Checks [offset, offset + bytes) against the allocation and returns its device address.
    unsigned char* range(ve_buffer buffer, uint64_t offset, uint64_t bytes, const char* what) const;

    void upload(ve_buffer dst, uint64_t offset, const void* src, uint64_t bytes);
    void download(ve_buffer src, uint64_t offset, void* dst, uint64_t bytes);

    // Device workspace of at least `bytes` (256-byte aligned), stream-ordered: valid for the
    // work queued until the next scratch() call.
    void* scratch(size_t bytes);

    bool pooled() const { return pool_ != nullptr; }
    uint64_t live_bytes() const;

private:
    void* raw_alloc(size_t bytes);
    void raw_free(void* p) noexcept;

    int device_;
    cudaStream_t stream_;
    cudaMemPool_t pool_ = nullptr;

    mutable std::mutex mutex_;
    std::unordered_map<const void*, uint64_t> sizes_;

    void* scratch_ = nullptr;
    size_t scratch_bytes_ = 0;

    static constexpr size_t kStagingBytes = size_t(4) << 20;  // per half
    std::mutex staging_mutex_;
    void* staging_[2] = {nullptr, nullptr};
    cudaEvent_t staging_done_[2] = {nullptr, nullptr};
    int staging_next_ = 0;
};

}  // namespace vitedit::cuda

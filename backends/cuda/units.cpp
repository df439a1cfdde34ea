// gather_units / scatter_units (ABI 1.2): selected rows or columns of a matrix, for the weight
// gradients of the masked neurons only (an fc1 neuron is a row, an fc2 neuron a column).
// Validation here, the same checks and words as the oneDNN backend's (backends/onednn/units.cpp);
// kernels in units_kernels.cu.
//
// The index list arrives in host memory. It is checked on the host, then copied into one device
// buffer kept by the instance (grown to the largest count seen, never shrunk) through the
// memory's pinned staging, in stream order: the caller may reuse its array as soon as the op
// returns, and a later list overwrites the buffer only after the kernels queued before it have
// read it. A list equal to the one the buffer already holds (the engine passes the same masked
// units several times a step) is not copied again.
#include <algorithm>
#include <cstring>
#include <string>

#include "cuda_backend.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

const int32_t* CudaBackend::device_index(const int32_t* index, int64_t count) {
    const uint64_t bytes = static_cast<uint64_t>(count) * sizeof(int32_t);
    if (bytes > index_capacity_) {
        // Grow by at least half, so a few different mask sizes settle on one buffer. The old
        // buffer is released in stream order (after the kernels queued before that read it).
        const uint64_t want = std::max<uint64_t>(bytes, index_capacity_ + index_capacity_ / 2);
        ve_buffer fresh = memory_->alloc(want);
        if (index_buffer_) memory_->free(index_buffer_);
        index_buffer_ = fresh;
        index_capacity_ = want;
        index_held_.clear();
    }
    const bool same = index_held_.size() == static_cast<size_t>(count) &&
                      std::memcmp(index_held_.data(), index, static_cast<size_t>(bytes)) == 0;
    if (!same) {
        index_held_.clear();  // unknown contents should the copy fail
        memory_->upload(index_buffer_, 0, index, bytes);
        index_held_.assign(index, index + count);
    }
    return reinterpret_cast<const int32_t*>(index_buffer_);
}

void CudaBackend::gather_units(const ve_tensor& src_t, int axis, const int32_t* index, int64_t count,
                               const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = view(dst_t, "dst");
    require_units(src, dst, axis, index, count);
    if (dst.numel == 0) return;
    activate();
    launched(kernels::gather_units(axis == VE_MASK_ROWS, src.shape[0], src.shape[1], src.data, device_index(index, count),
                                   count, dst.data, stream_),
             "the gather_units kernel");
}

void CudaBackend::scatter_units(const ve_tensor& src_t, int axis, const int32_t* index, int64_t count,
                                const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = view(dst_t, "dst");
    require_units(dst, src, axis, index, count);
    if (src.numel == 0) return;
    activate();
    launched(kernels::scatter_units(axis == VE_MASK_ROWS, dst.shape[0], dst.shape[1], src.data, device_index(index, count),
                                    count, dst.data, stream_),
             "the scatter_units kernel");
}

}  // namespace vitedit::cuda

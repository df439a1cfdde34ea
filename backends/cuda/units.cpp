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

namespace {

// Checks the layouts of the full matrix `whole` and its selection `part`, and the index.
void check(const View& whole, const View& part, int axis, const int32_t* index, int64_t count) {
    require_ndim(whole, 2, 2);
    require_ndim(part, 2, 2);
    require_contiguous(whole);
    require_contiguous(part);
    if (axis != VE_MASK_ROWS && axis != VE_MASK_COLS) fail("axis " + std::to_string(axis) + " (must be rows 0 or columns 1)");
    const int64_t R = whole.shape[0], C = whole.shape[1];
    const int64_t want_r = axis == VE_MASK_ROWS ? count : R, want_c = axis == VE_MASK_ROWS ? C : count;
    if (part.shape[0] != want_r || part.shape[1] != want_c)
        fail("the selection is [" + std::to_string(part.shape[0]) + "," + std::to_string(part.shape[1]) + "], expected [" +
             std::to_string(want_r) + "," + std::to_string(want_c) + "]");
    if (count > 0 && !index) fail("no index array");
    const int64_t limit = axis == VE_MASK_ROWS ? R : C;
    for (int64_t i = 0; i < count; ++i)
        if (index[i] < 0 || index[i] >= limit)
            fail("index " + std::to_string(index[i]) + " out of range 0.." + std::to_string(limit - 1));
}

}  // namespace

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
    check(src, dst, axis, index, count);
    if (dst.numel == 0) return;
    activate();
    launched(kernels::gather_units(axis == VE_MASK_ROWS, src.shape[0], src.shape[1], src.data, device_index(index, count),
                                   count, dst.data, stream_),
             "the gather_units kernel");
}

void CudaBackend::scatter_units(const ve_tensor& src_t, int axis, const int32_t* index, int64_t count,
                                const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = view(dst_t, "dst");
    check(dst, src, axis, index, count);
    if (src.numel == 0) return;
    activate();
    launched(kernels::scatter_units(axis == VE_MASK_ROWS, dst.shape[0], dst.shape[1], src.data, device_index(index, count),
                                    count, dst.data, stream_),
             "the scatter_units kernel");
}

}  // namespace vitedit::cuda

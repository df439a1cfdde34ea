// gather_units / scatter_units: selected rows or columns of a matrix, for weight gradients of
// the masked neurons only (an fc1 neuron is a row, an fc2 neuron a column).
#include <cstring>
#include <string>

#include "onednn_backend.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

namespace {

// Checks the layout and the index; returns {R, C} of the full matrix `whole`.
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

void OnednnBackend::gather_units(const ve_tensor& src_t, int axis, const int32_t* index, int64_t count,
                                 const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = out(dst_t, "dst");
    check(src, dst, axis, index, count);
    const int64_t R = src.shape[0], C = src.shape[1];
    const float* s = src.data;
    float* d = dst.data;
    if (axis == VE_MASK_ROWS) {
#pragma omp parallel for schedule(static) if (worth_parallel(count * C))
        for (int64_t i = 0; i < count; ++i) std::memcpy(d + i * C, s + index[i] * C, sizeof(float) * C);
    } else {
#pragma omp parallel for schedule(static) if (worth_parallel(R * count))
        for (int64_t r = 0; r < R; ++r) {
            const float* sr = s + r * C;
            float* dr = d + r * count;
            for (int64_t i = 0; i < count; ++i) dr[i] = sr[index[i]];
        }
    }
}

void OnednnBackend::scatter_units(const ve_tensor& src_t, int axis, const int32_t* index, int64_t count,
                                  const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = out(dst_t, "dst");
    check(dst, src, axis, index, count);
    const int64_t R = dst.shape[0], C = dst.shape[1];
    const float* s = src.data;
    float* d = dst.data;
    if (axis == VE_MASK_ROWS) {
#pragma omp parallel for schedule(static) if (worth_parallel(count * C))
        for (int64_t i = 0; i < count; ++i) std::memcpy(d + index[i] * C, s + i * C, sizeof(float) * C);
    } else {
#pragma omp parallel for schedule(static) if (worth_parallel(R * count))
        for (int64_t r = 0; r < R; ++r) {
            const float* sr = s + r * count;
            float* dr = d + r * C;
            for (int64_t i = 0; i < count; ++i) dr[index[i]] = sr[i];
        }
    }
}

}  // namespace vitedit::onednn

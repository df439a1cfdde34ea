// gather_units / scatter_units: selected rows or columns of a matrix, for weight gradients of
// the masked neurons only (an fc1 neuron is a row, an fc2 neuron a column).
#include <cstring>
#include <string>

#include "onednn_backend.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

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

// Copies the `count` selected units between a full [R, C] matrix and its compact form: gather
// (full -> compact) or scatter (compact -> full). Units are rows (VE_MASK_ROWS) or columns.
void move_units(bool gather, float* full, float* compact, int64_t R, int64_t C, int axis, const int32_t* index,
                int64_t count) {
    if (axis == VE_MASK_ROWS) {
#pragma omp parallel for schedule(static) if (worth_parallel(count * C))
        for (int64_t i = 0; i < count; ++i) {
            float* f = full + index[i] * C;
            float* c = compact + i * C;
            if (gather) std::memcpy(c, f, sizeof(float) * C);
            else std::memcpy(f, c, sizeof(float) * C);
        }
    } else {
#pragma omp parallel for schedule(static) if (worth_parallel(R * count))
        for (int64_t r = 0; r < R; ++r) {
            float* f = full + r * C;
            float* c = compact + r * count;
            if (gather) for (int64_t i = 0; i < count; ++i) c[i] = f[index[i]];
            else for (int64_t i = 0; i < count; ++i) f[index[i]] = c[i];
        }
    }
}

}  // namespace

void OnednnBackend::gather_units(const ve_tensor& src_t, int axis, const int32_t* index, int64_t count,
                                 const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = out(dst_t, "dst");
    check(src, dst, axis, index, count);
    move_units(true, src.data, dst.data, src.shape[0], src.shape[1], axis, index, count);
}

void OnednnBackend::scatter_units(const ve_tensor& src_t, int axis, const int32_t* index, int64_t count,
                                  const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = out(dst_t, "dst");
    check(dst, src, axis, index, count);
    move_units(false, dst.data, src.data, dst.shape[0], dst.shape[1], axis, index, count);
}

}  // namespace vitedit::onednn

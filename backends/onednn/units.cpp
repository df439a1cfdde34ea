// gather_units / scatter_units: selected rows or columns of a matrix, for weight gradients of
// the masked neurons only (an fc1 neuron is a row, an fc2 neuron a column).
#include <cstring>
#include <string>

#include "onednn_backend.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

namespace {

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
    require_units(src, dst, axis, index, count);
    move_units(true, src.data, dst.data, src.shape[0], src.shape[1], axis, index, count);
}

void OnednnBackend::scatter_units(const ve_tensor& src_t, int axis, const int32_t* index, int64_t count,
                                  const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = out(dst_t, "dst");
    require_units(dst, src, axis, index, count);
    move_units(false, dst.data, src.data, dst.shape[0], dst.shape[1], axis, index, count);
}

}  // namespace vitedit::onednn

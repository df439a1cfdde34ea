// penalty_grad: the gradient of the FT-L1 / FT-L2 regularizer c * |w - w0|^p, added to g.
#include <string>

#include "onednn_backend.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

void OnednnBackend::penalty_grad(const ve_tensor& w_t, const ve_tensor& w0_t, const ve_tensor& g_t,
                                 float c, int p) {
    View w = view(w_t, "w"), w0 = view(w0_t, "w0"), g = out(g_t, "g");
    require_same_shape(w0, w);
    require_same_shape(g, w);
    require_contiguous(w);
    require_contiguous(w0);
    require_contiguous(g);
    if (p != 1 && p != 2) fail("penalty power p = " + std::to_string(p) + " (must be 1 or 2)");
    const float* ws = w.data;
    const float* w0s = w0.data;
    float* gs = g.data;
    const int64_t n = w.numel;
    if (p == 1) {
#pragma omp parallel for simd schedule(static) if (worth_parallel(n))
        for (int64_t i = 0; i < n; ++i) {
            const float d = ws[i] - w0s[i];
            gs[i] += d > 0.0f ? c : (d < 0.0f ? -c : 0.0f);
        }
    } else {
        const float two_c = 2.0f * c;
#pragma omp parallel for simd schedule(static) if (worth_parallel(n))
        for (int64_t i = 0; i < n; ++i) gs[i] += two_c * (ws[i] - w0s[i]);
    }
}

}  // namespace vitedit::onednn

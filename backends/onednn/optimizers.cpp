// Masked SGD / RMSprop / AdamW steps (PyTorch semantics with g replaced by g * mask): loops.
#include <cmath>
#include <initializer_list>
#include <string>

#include "onednn_backend.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

namespace {

// The [R, C] view of a parameter and its optional per-row / per-column mask.
struct MaskedParam {
    int64_t R = 0, C = 0;
    const float* mask = nullptr;
    int axis = VE_MASK_ROWS;
};

// Calls f(i, m) for every element i of the [R, C] parameter with its mask value m (1 when no
// mask), parallel over rows; f must be independent per element.
template <class F>
void for_each_masked(const MaskedParam& p, F&& f) {
    const int64_t R = p.R, C = p.C;
    const float* mask = p.mask;
#pragma omp parallel for schedule(static) if (worth_parallel(R * C) && R > 1)
    for (int64_t r = 0; r < R; ++r) {
        const int64_t base = r * C;
        if (!mask) {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) f(base + c, 1.0f);
        } else if (p.axis == VE_MASK_ROWS) {
            const float m = mask[r];
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) f(base + c, m);
        } else {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) f(base + c, mask[c]);
        }
    }
}

// RMSprop over rows [r0, r1) (written out rather than through for_each_masked: a lambda does not
// inline into VE_SIMD_CLONES' AVX-512 / AVX2 copies, and this is the editors' default step).
VE_SIMD_CLONES void rmsprop_rows(float* ws, const float* gs, float* ss, const float* mask, int axis, int64_t C,
                                 int64_t r0, int64_t r1, float lr, float alpha, float eps) {
    for (int64_t r = r0; r < r1; ++r) {
        float* w = ws + r * C;
        const float* g = gs + r * C;
        float* s = ss + r * C;
        const float row_m = mask && axis == VE_MASK_ROWS ? mask[r] : 1.0f;
        if (row_m == 0.0f) {
            // An unmasked row: w keeps its value and sq only decays, so read sq alone (most of
            // an edit's elements are unmasked; this saves most of the step's memory traffic).
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) s[c] = alpha * s[c];
            continue;
        }
        if (!mask || axis == VE_MASK_ROWS) {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) {
                const float gm = g[c] * row_m;
                const float si = alpha * s[c] + (1.0f - alpha) * gm * gm;
                s[c] = si;
                w[c] -= lr * gm / (std::sqrt(si) + eps);
            }
        } else {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) {
                const float gm = mask[c] != 0.0f ? g[c] * mask[c] : 0.0f;  // an unmasked g is never read
                const float si = alpha * s[c] + (1.0f - alpha) * gm * gm;
                s[c] = si;
                if (mask[c] != 0.0f) w[c] -= lr * gm / (std::sqrt(si) + eps);
            }
        }
    }
}

// Shared validation (vitedit/tensor_view.hpp), then the [R, C] view the kernels walk.
MaskedParam check_param(const View& w, std::initializer_list<const View*> same, const View* mask, int axis) {
    author::require_param_state(w, same);
    MaskedParam p;
    p.C = w.last();
    p.R = w.rows();
    if (mask) {
        author::require_mask(*mask, axis, w);
        p.mask = mask->data;
        p.axis = axis;
    }
    return p;
}

}  // namespace

void OnednnBackend::sgd_step(const ve_tensor& w_t, const ve_tensor& g_t, const ve_tensor* mask_t,
                             int axis, float lr, float weight_decay) {
    View w = out(w_t, "w"), g = view(g_t, "g");
    View mask;
    if (mask_t) mask = view(mask_t, "mask");
    const MaskedParam p = check_param(w, {&g}, mask_t ? &mask : nullptr, axis);
    float* ws = w.data;
    const float* gs = g.data;
    for_each_masked(p, [=](int64_t i, float m) {
        ws[i] -= lr * (gs[i] * m + weight_decay * ws[i]);
    });
}

void OnednnBackend::rmsprop_step(const ve_tensor& w_t, const ve_tensor& g_t, const ve_tensor& sq_t,
                                 const ve_tensor* mask_t, int axis, float lr, float alpha,
                                 float eps) {
    View w = out(w_t, "w"), g = view(g_t, "g"), sq = out(sq_t, "sq");
    View mask;
    if (mask_t) mask = view(mask_t, "mask");
    const MaskedParam p = check_param(w, {&g, &sq}, mask_t ? &mask : nullptr, axis);
    float* ws = w.data;
    const float* gs = g.data;
    float* ss = sq.data;
    for_row_spans(p.R, p.C, [&](int64_t r0, int64_t r1) { rmsprop_rows(ws, gs, ss, p.mask, p.axis, p.C, r0, r1, lr, alpha, eps); });
}

void OnednnBackend::adam_step(const ve_tensor& w_t, const ve_tensor& g_t, const ve_tensor& m_t,
                              const ve_tensor& v_t, const ve_tensor* mask_t, int axis, float lr,
                              float beta1, float beta2, float eps, float weight_decay,
                              int64_t step) {
    View w = out(w_t, "w"), g = view(g_t, "g"), m = out(m_t, "m"), v = out(v_t, "v");
    View mask;
    if (mask_t) mask = view(mask_t, "mask");
    const MaskedParam p = check_param(w, {&g, &m, &v}, mask_t ? &mask : nullptr, axis);
    if (step < 1) fail("adam step " + std::to_string(step) + " must count from 1");
    const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
    const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
    const float step_size = static_cast<float>(lr / bc1);
    const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
    const float decay = 1.0f - lr * weight_decay;
    const bool masked = mask_t != nullptr;
    float* ws = w.data;
    const float* gs = g.data;
    float* ms = m.data;
    float* vs = v.data;
    for_each_masked(p, [=](int64_t i, float mk) {
        // With a mask, decay only what the mask selects (unmasked parameters stay frozen).
        const float wi = (!masked || mk != 0.0f) ? ws[i] * decay : ws[i];
        const float gm = gs[i] * mk;
        const float mi = beta1 * ms[i] + (1.0f - beta1) * gm;
        const float vi = beta2 * vs[i] + (1.0f - beta2) * gm * gm;
        ms[i] = mi;
        vs[i] = vi;
        ws[i] = wi - step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
    });
}

}  // namespace vitedit::onednn

// GELU (gelu.hpp's kernels over per-thread spans) and softmax over the last dim (oneDNN
// softmax_forward; the backward is a row loop).
#include "gelu.hpp"
#include "onednn_backend.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

void OnednnBackend::gelu_fwd(const ve_tensor& x_t, const ve_tensor& y_t) {
    View x = view(x_t, "x"), y = out(y_t, "y");
    require_same_shape(x, y);
    require_contiguous(x);
    require_contiguous(y);
    const float* xs = x.data;
    float* ys = y.data;
    for_spans(x.numel, [&](int64_t lo, int64_t hi) { gelu_fwd_span(xs + lo, ys + lo, hi - lo); });
}

void OnednnBackend::gelu_bwd(const ve_tensor& dy_t, const ve_tensor& x_t, const ve_tensor& dx_t) {
    View dy = view(dy_t, "dy"), x = view(x_t, "x"), dx = out(dx_t, "dx");
    require_same_shape(dy, x);
    require_same_shape(dx, x);
    require_contiguous(dy);
    require_contiguous(x);
    require_contiguous(dx);
    const float* dys = dy.data;
    const float* xs = x.data;
    float* dxs = dx.data;
    for_spans(x.numel, [&](int64_t lo, int64_t hi) { gelu_bwd_span(dys + lo, xs + lo, dxs + lo, hi - lo); });
}

void OnednnBackend::softmax_fwd(const ve_tensor& x_t, float scale, const ve_tensor& y_t) {
    View x = view(x_t, "x"), y = out(y_t, "y");
    require_same_shape(x, y);
    require_contiguous(x);
    require_contiguous(y);
    const float* src = x.data;
    if (scale != 1.0f) {  // y = scale * x, then softmax in place
        const float* xs = x.data;
        float* ys = y.data;
        const int64_t n = y.numel;
#pragma omp parallel for simd schedule(static) if (worth_parallel(n))
        for (int64_t i = 0; i < n; ++i) ys[i] = scale * xs[i];
        src = y.data;
    }
    softmax_prims_->softmax_fwd(src, y.data, y.rows(), y.last());
}

void OnednnBackend::softmax_bwd(const ve_tensor& dy_t, const ve_tensor& y_t, float scale,
                                const ve_tensor& dx_t) {
    View dy = view(dy_t, "dy"), y = view(y_t, "y"), dx = out(dx_t, "dx");
    require_same_shape(dy, y);
    require_same_shape(dx, y);
    require_contiguous(dy);
    require_contiguous(y);
    require_contiguous(dx);
    const int64_t C = y.last(), R = y.rows();
    const float* dys = dy.data;
    const float* ys = y.data;
    float* dxs = dx.data;
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t r = 0; r < R; ++r) {
        const float* dyr = dys + r * C;
        const float* yr = ys + r * C;
        float* dxr = dxs + r * C;
        double dot = 0.0;
#pragma omp simd reduction(+ : dot)
        for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(dyr[c]) * yr[c];
        const float d = static_cast<float>(dot);
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) dxr[c] = scale * yr[c] * (dyr[c] - d);
    }
}

}  // namespace vitedit::onednn

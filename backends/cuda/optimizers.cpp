// Masked optimizer steps and the FT-L1/L2 penalty gradient: validation here, kernels in
// optimizers_kernels.cu.
#include <cmath>
#include <initializer_list>
#include <string>

#include "cuda_backend.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

namespace {

// Shared validation (vitedit/tensor_view.hpp), then the [R, C] view the kernels walk.
kernels::MaskedParam check_param(const View& w, std::initializer_list<const View*> same, const View* mask, int axis) {
    author::require_param_state(w, same);
    kernels::MaskedParam p;
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

void CudaBackend::sgd_step(const ve_tensor& w_t, const ve_tensor& g_t, const ve_tensor* mask_t, int axis,
                           float lr, float weight_decay) {
    View w = view(w_t, "w"), g = view(g_t, "g");
    View mask;
    if (mask_t) mask = view(mask_t, "mask");
    const kernels::MaskedParam p = check_param(w, {&g}, mask_t ? &mask : nullptr, axis);
    activate();
    launched(kernels::sgd_step(p, w.data, g.data, lr, weight_decay, stream_), "the sgd_step kernel");
}

void CudaBackend::rmsprop_step(const ve_tensor& w_t, const ve_tensor& g_t, const ve_tensor& sq_t,
                               const ve_tensor* mask_t, int axis, float lr, float alpha, float eps) {
    View w = view(w_t, "w"), g = view(g_t, "g"), sq = view(sq_t, "sq");
    View mask;
    if (mask_t) mask = view(mask_t, "mask");
    const kernels::MaskedParam p = check_param(w, {&g, &sq}, mask_t ? &mask : nullptr, axis);
    activate();
    launched(kernels::rmsprop_step(p, w.data, g.data, sq.data, lr, alpha, eps, stream_), "the rmsprop_step kernel");
}

void CudaBackend::adam_step(const ve_tensor& w_t, const ve_tensor& g_t, const ve_tensor& m_t,
                            const ve_tensor& v_t, const ve_tensor* mask_t, int axis, float lr, float beta1,
                            float beta2, float eps, float weight_decay, int64_t step) {
    View w = view(w_t, "w"), g = view(g_t, "g"), m = view(m_t, "m"), v = view(v_t, "v");
    View mask;
    if (mask_t) mask = view(mask_t, "mask");
    const kernels::MaskedParam p = check_param(w, {&g, &m, &v}, mask_t ? &mask : nullptr, axis);
    if (step < 1) fail("adam step " + std::to_string(step) + " must count from 1");
    // Bias corrections on the host in double, exactly as the oneDNN backend does.
    const double bc1 = 1.0 - std::pow(static_cast<double>(beta1), static_cast<double>(step));
    const double bc2 = 1.0 - std::pow(static_cast<double>(beta2), static_cast<double>(step));
    const float step_size = static_cast<float>(lr / bc1);
    const float bc2_sqrt = static_cast<float>(std::sqrt(bc2));
    const float decay = 1.0f - lr * weight_decay;
    activate();
    launched(kernels::adam_step(p, w.data, g.data, m.data, v.data, beta1, beta2, eps, step_size, bc2_sqrt, decay,
                                stream_),
             "the adam_step kernel");
}

void CudaBackend::penalty_grad(const ve_tensor& w_t, const ve_tensor& w0_t, const ve_tensor& g_t, float c, int p) {
    View w = view(w_t, "w"), w0 = view(w0_t, "w0"), g = view(g_t, "g");
    require_same_shape(w0, w);
    require_same_shape(g, w);
    require_contiguous(w);
    require_contiguous(w0);
    require_contiguous(g);
    if (p != 1 && p != 2) fail("penalty power p = " + std::to_string(p) + " (must be 1 or 2)");
    activate();
    launched(kernels::penalty_grad(w.numel, w.data, w0.data, g.data, c, p, stream_), "the penalty_grad kernel");
}

}  // namespace vitedit::cuda

// linear_fwd (ABI 1.3): y = act(x @ w^T + bias). The product on cuBLAS through the gemm path
// (gemm.cpp: strict FP32, any strides of x and w), then one pass over y for the bias and GELU
// together (gelu_kernels.cu) instead of bias_add's and gelu_fwd's two; with neither, the product
// alone. cuBLASLt's GELU epilogues are the tanh approximation, not the exact (erf) GELU of the
// contract, so the activation is not fused into the cuBLAS call itself.
// Validation as the oneDNN backend's: everything is checked before anything is queued, so a
// refused call leaves y as it was.
#include <string>

#include "cuda_backend.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

void CudaBackend::linear_fwd(const ve_tensor& x_t, const ve_tensor& w_t, const ve_tensor* bias_t, int act,
                             const ve_tensor& y_t) {
    View x = view(x_t, "x"), w = view(w_t, "w"), y = view(y_t, "y");
    const View b = bias_t ? view(bias_t, "bias") : View{};
    require_linear(x, w, bias_t ? &b : nullptr, act, y);
    const float* bias = bias_t ? b.data : nullptr;
    product(false, true, 1.0f, x, w, 0.0f, y);  // checks that the shapes chain before queuing
    if (y.numel == 0) return;
    const int64_t R = y.shape[0], N = y.shape[1];
    if (act == VE_ACT_GELU)
        launched(kernels::bias_gelu(R, N, y.data, bias, stream_), "the linear_fwd bias+GELU kernel");
    else if (bias)
        launched(kernels::bias_add(R, N, y.data, bias, stream_), "the linear_fwd bias kernel");
}

}  // namespace vitedit::cuda

// LayerNorm over the last dim: validation here, kernels in layernorm_kernels.cu.
#include "cuda_backend.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

void CudaBackend::layernorm_fwd(const ve_tensor& x_t, const ve_tensor& gamma_t,
                                const ve_tensor& beta_t, float eps, const ve_tensor& y_t,
                                const ve_tensor* mean_t, const ve_tensor* rstd_t) {
    View x = view(x_t, "x"), y = view(y_t, "y");
    View gamma = view(gamma_t, "gamma"), beta = view(beta_t, "beta");
    author::require_layernorm_fwd_inputs(x, y, gamma, beta);
    const int64_t C = x.last(), R = x.rows();
    float* mean = nullptr;
    float* rstd = nullptr;
    if (mean_t) {
        View m = view(mean_t, "mean");
        require_vector(m, R, "one per row of x");
        mean = m.data;
    }
    if (rstd_t) {
        View s = view(rstd_t, "rstd");
        require_vector(s, R, "one per row of x");
        rstd = s.data;
    }
    if (C == 0) return;
    activate();
    launched(kernels::layernorm_fwd(R, C, x.data, gamma.data, beta.data, eps, y.data, mean, rstd, stream_),
             "the layernorm_fwd kernel");
}

void CudaBackend::layernorm_bwd(const ve_tensor& dy_t, const ve_tensor& x_t, const ve_tensor& gamma_t,
                                const ve_tensor& mean_t, const ve_tensor& rstd_t, const ve_tensor* dx_t,
                                float dx_beta, const ve_tensor* dgamma_t, const ve_tensor* dbeta_t,
                                float param_beta) {
    View dy = view(dy_t, "dy"), x = view(x_t, "x"), gamma = view(gamma_t, "gamma");
    View mean = view(mean_t, "mean"), rstd = view(rstd_t, "rstd");
    author::require_layernorm_bwd_inputs(dy, x, gamma, mean, rstd);
    const int64_t C = x.last(), R = x.rows();
    float* dx = nullptr;
    float* dgamma = nullptr;
    float* dbeta = nullptr;
    if (dx_t) {
        View v = view(dx_t, "dx");
        require_same_shape(v, x);
        require_contiguous(v);
        dx = v.data;
    }
    if (dgamma_t) {
        View v = view(dgamma_t, "dgamma");
        require_vector(v, C, "the last dim of x");
        dgamma = v.data;
    }
    if (dbeta_t) {
        View v = view(dbeta_t, "dbeta");
        require_vector(v, C, "the last dim of x");
        dbeta = v.data;
    }
    if (C == 0) return;
    activate();
    if (dgamma || dbeta) {
        void* scratch = memory_->scratch(kernels::column_sum_scratch_bytes(2, R, C));
        launched(kernels::layernorm_bwd_params(R, C, dy.data, x.data, mean.data, rstd.data, dgamma, dbeta,
                                               param_beta, scratch, stream_),
                 "the layernorm_bwd parameter-gradient kernels");
    }
    if (dx)
        launched(kernels::layernorm_bwd_dx(R, C, dy.data, x.data, gamma.data, mean.data, rstd.data, dx,
                                           dx_beta, stream_),
                 "the layernorm_bwd dx kernel");
}

}  // namespace vitedit::cuda

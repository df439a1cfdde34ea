// LayerNorm over the last dim: one warp per row, statistics in double (two passes over the row,
// the second from cache), and the parameter gradients as deterministic column sums.
#include <cmath>

#include "column_sum.cuh"
#include "kernels.hpp"
#include "launch.cuh"

namespace vitedit::cuda::kernels {

namespace {

__global__ void layernorm_fwd_kernel(int64_t R, int64_t C, const float* __restrict__ x,
                                     const float* __restrict__ gamma, const float* __restrict__ beta,
                                     float eps, float* __restrict__ y, float* __restrict__ mean,
                                     float* __restrict__ rstd) {
    const int lane = threadIdx.x & 31;
    VE_WARP_ROWS_LOOP(r, R) {
        const float* xr = x + r * C;
        float* yr = y + r * C;
        double sum = 0.0;
        for (int64_t c = lane; c < C; c += 32) sum += xr[c];
        const double mu = warp_sum(sum) / static_cast<double>(C);
        double sq = 0.0;
        for (int64_t c = lane; c < C; c += 32) {
            const double d = xr[c] - mu;
            sq += d * d;
        }
        const double var = warp_sum(sq) / static_cast<double>(C);
        const double rs = 1.0 / sqrt(var + static_cast<double>(eps));
        const float muf = static_cast<float>(mu), rsf = static_cast<float>(rs);
        for (int64_t c = lane; c < C; c += 32) yr[c] = (xr[c] - muf) * rsf * gamma[c] + beta[c];
        if (lane == 0) {
            if (mean) mean[r] = muf;
            if (rstd) rstd[r] = rsf;
        }
    }
}

__global__ void layernorm_bwd_dx_kernel(int64_t R, int64_t C, const float* __restrict__ dy,
                                        const float* __restrict__ x, const float* __restrict__ gamma,
                                        const float* __restrict__ mean, const float* __restrict__ rstd,
                                        float* __restrict__ dx, float dx_beta) {
    const int lane = threadIdx.x & 31;
    VE_WARP_ROWS_LOOP(r, R) {
        const float* dyr = dy + r * C;
        const float* xr = x + r * C;
        const float mu = mean[r], rs = rstd[r];
        double s1 = 0.0, s2 = 0.0;  // sum(g), sum(g * xhat), g = dy * gamma
        for (int64_t c = lane; c < C; c += 32) {
            const double g = static_cast<double>(dyr[c]) * gamma[c];
            s1 += g;
            s2 += g * ((xr[c] - mu) * rs);
        }
        const float a = static_cast<float>(warp_sum(s1) / static_cast<double>(C));
        const float b = static_cast<float>(warp_sum(s2) / static_cast<double>(C));
        float* dxr = dx + r * C;
        if (dx_beta == 0.0f) {
            for (int64_t c = lane; c < C; c += 32)
                dxr[c] = rs * (dyr[c] * gamma[c] - a - (xr[c] - mu) * rs * b);
        } else {
            for (int64_t c = lane; c < C; c += 32)
                dxr[c] = rs * (dyr[c] * gamma[c] - a - (xr[c] - mu) * rs * b) + dx_beta * dxr[c];
        }
    }
}

// acc[0] += dy * xhat (dgamma), acc[1] += dy (dbeta).
struct LayerNormParamTerms {
    const float* dy;
    const float* x;
    const float* mean;
    const float* rstd;
    int64_t C;
    __device__ void operator()(int64_t r, int64_t c, double* acc) const {
        const int64_t i = r * C + c;
        const float xhat = (x[i] - mean[r]) * rstd[r];
        acc[0] += static_cast<double>(dy[i]) * xhat;
        acc[1] += dy[i];
    }
};

}  // namespace

cudaError_t layernorm_fwd(int64_t R, int64_t C, const float* x, const float* gamma,
                          const float* beta, float eps, float* y, float* mean, float* rstd,
                          cudaStream_t stream) {
    if (R <= 0 || C <= 0) return cudaSuccess;
    layernorm_fwd_kernel<<<warp_rows_grid(R), kThreads, 0, stream>>>(R, C, x, gamma, beta, eps, y, mean, rstd);
    return cudaGetLastError();
}

cudaError_t layernorm_bwd_dx(int64_t R, int64_t C, const float* dy, const float* x,
                             const float* gamma, const float* mean, const float* rstd, float* dx,
                             float dx_beta, cudaStream_t stream) {
    if (R <= 0 || C <= 0) return cudaSuccess;
    layernorm_bwd_dx_kernel<<<warp_rows_grid(R), kThreads, 0, stream>>>(R, C, dy, x, gamma, mean, rstd, dx, dx_beta);
    return cudaGetLastError();
}

cudaError_t layernorm_bwd_params(int64_t R, int64_t C, const float* dy, const float* x,
                                 const float* mean, const float* rstd, float* dgamma, float* dbeta,
                                 float param_beta, void* scratch, cudaStream_t stream) {
    if (!dgamma && !dbeta) return cudaSuccess;
    return launch_column_sum<2>(R, C, LayerNormParamTerms{dy, x, mean, rstd, C},
                                ColumnOutputs<2>{{dgamma, dbeta}}, param_beta, scratch, stream);
}

}  // namespace vitedit::cuda::kernels

// Cross-entropy with label smoothing and temperature-scaled KL divergence: one warp per row of
// logits, log-sum-exp in double.
#include <cmath>

#include "kernels.hpp"
#include "launch.cuh"

namespace vitedit::cuda::kernels {

namespace {

// log(sum_k exp(s * x_k)) over one row, stable; every lane gets the result.
__device__ double row_log_sum_exp(const float* x, int64_t K, double s, int lane) {
    double m = -INFINITY;
    for (int64_t k = lane; k < K; k += 32) m = fmax(m, s * x[k]);
    m = warp_max(m);
    if (!isfinite(m)) return m;
    double sum = 0.0;
    for (int64_t k = lane; k < K; k += 32) sum += exp(s * x[k] - m);
    return m + log(warp_sum(sum));
}

__global__ void cross_entropy_kernel(int64_t N, int64_t K, const float* __restrict__ logits,
                                     const int32_t* __restrict__ labels, float smoothing,
                                     float* __restrict__ loss, float* __restrict__ dlogits,
                                     float grad_scale) {
    const int lane = threadIdx.x & 31;
    const double s = smoothing, uniform = s / static_cast<double>(K);
    VE_WARP_ROWS_LOOP(n, N) {
        const float* xr = logits + n * K;
        const double lse = row_log_sum_exp(xr, K, 1.0, lane);
        const int64_t y = labels[n];
        if (loss) {
            double sum_logp = 0.0;
            for (int64_t k = lane; k < K; k += 32) sum_logp += xr[k] - lse;
            sum_logp = warp_sum(sum_logp);
            if (lane == 0) loss[n] = static_cast<float>(-((1.0 - s) * (xr[y] - lse) + uniform * sum_logp));
        }
        if (dlogits) {
            float* dr = dlogits + n * K;
            for (int64_t k = lane; k < K; k += 32) {
                const double target = (k == y ? 1.0 - s : 0.0) + uniform;
                dr[k] = static_cast<float>(grad_scale * (exp(xr[k] - lse) - target));
            }
        }
    }
}

__global__ void kl_div_kernel(int64_t N, int64_t K, const float* __restrict__ logits,
                              const float* __restrict__ target, float temperature,
                              float* __restrict__ loss, float* __restrict__ dlogits, float grad_scale) {
    const int lane = threadIdx.x & 31;
    const double T = temperature, invT = 1.0 / T;
    VE_WARP_ROWS_LOOP(n, N) {
        const float* xr = logits + n * K;
        const float* pr = target + n * K;
        const double lse = row_log_sum_exp(xr, K, invT, lane);
        if (loss) {
            double sum = 0.0;
            for (int64_t k = lane; k < K; k += 32) {
                if (pr[k] == 0.0f) continue;  // 0 * log 0 = 0
                const double pk = pr[k];
                sum += pk * (log(pk) - (invT * xr[k] - lse));
            }
            sum = warp_sum(sum);
            if (lane == 0) loss[n] = static_cast<float>(T * T * sum);
        }
        if (dlogits) {
            float* dr = dlogits + n * K;
            for (int64_t k = lane; k < K; k += 32)
                dr[k] = static_cast<float>(grad_scale * T * (exp(invT * xr[k] - lse) - pr[k]));
        }
    }
}

}  // namespace

cudaError_t cross_entropy(int64_t N, int64_t K, const float* logits, const int32_t* labels,
                          float label_smoothing, float* loss, float* dlogits, float grad_scale,
                          cudaStream_t stream) {
    if (N <= 0 || K <= 0) return cudaSuccess;
    cross_entropy_kernel<<<warp_rows_grid(N), kThreads, 0, stream>>>(N, K, logits, labels, label_smoothing,
                                                                     loss, dlogits, grad_scale);
    return cudaGetLastError();
}

cudaError_t kl_div(int64_t N, int64_t K, const float* logits, const float* target,
                   float temperature, float* loss, float* dlogits, float grad_scale,
                   cudaStream_t stream) {
    if (N <= 0 || K <= 0) return cudaSuccess;
    kl_div_kernel<<<warp_rows_grid(N), kThreads, 0, stream>>>(N, K, logits, target, temperature, loss,
                                                              dlogits, grad_scale);
    return cudaGetLastError();
}

}  // namespace vitedit::cuda::kernels

// Exact (erf) GELU, forward and backward, element-wise.
//   y  = x * Phi(x),            Phi(x) = 0.5 * (1 + erf(x / sqrt 2)) = 0.5 * erfc(-x / sqrt 2)
//   dx = dy * (Phi(x) + x * phi(x)),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
// Phi is evaluated as 0.5 * erfc(-x / sqrt 2): the same function, without the cancellation of
// 1 + erf(.) for negative x.
#include <cmath>

#include "kernels.hpp"
#include "launch.cuh"

namespace vitedit::cuda::kernels {

namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

__device__ __forceinline__ float normal_cdf(float x) { return 0.5f * erfcf(-x * kInvSqrt2); }

__global__ void gelu_fwd_kernel(int64_t n, const float* __restrict__ x, float* __restrict__ y) {
    VE_FLAT_LOOP(i, n) {
        const float v = x[i];
        y[i] = v * normal_cdf(v);
    }
}

__global__ void gelu_bwd_kernel(int64_t n, const float* __restrict__ dy, const float* __restrict__ x,
                                float* __restrict__ dx) {
    VE_FLAT_LOOP(i, n) {
        const float v = x[i];
        const float pdf = kInvSqrt2Pi * expf(-0.5f * v * v);
        dx[i] = dy[i] * (normal_cdf(v) + v * pdf);
    }
}

}  // namespace

cudaError_t gelu_fwd(int64_t n, const float* x, float* y, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    gelu_fwd_kernel<<<flat_grid(n), kThreads, 0, stream>>>(n, x, y);
    return cudaGetLastError();
}

cudaError_t gelu_bwd(int64_t n, const float* dy, const float* x, float* dx, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    gelu_bwd_kernel<<<flat_grid(n), kThreads, 0, stream>>>(n, dy, x, dx);
    return cudaGetLastError();
}

}  // namespace vitedit::cuda::kernels

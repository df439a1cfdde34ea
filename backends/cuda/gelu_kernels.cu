// Exact (erf) GELU, forward and backward, element-wise; and linear_fwd's bias+GELU epilogue.
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

// y = gelu(y + bias[c]) in place: the sum rounded as bias_add rounds it, then gelu_fwd's formula.
__global__ void bias_gelu_kernel(int64_t R, int64_t C, float* __restrict__ y, const float* __restrict__ bias) {
    VE_ROWS_LOOP(r, R) {
        float* row = y + r * C;
        VE_COLS_LOOP(c, C) {
            const float v = row[c] + bias[c];
            row[c] = v * normal_cdf(v);
        }
    }
}

__global__ void gelu_inplace_kernel(int64_t n, float* __restrict__ y) {
    VE_FLAT_LOOP(i, n) {
        const float v = y[i];
        y[i] = v * normal_cdf(v);
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

cudaError_t bias_gelu(int64_t R, int64_t C, float* y, const float* bias, cudaStream_t stream) {
    if (R <= 0 || C <= 0) return cudaSuccess;
    if (bias) {
        const RowsLaunch l = rows_launch(R, C);
        bias_gelu_kernel<<<l.grid, l.block, 0, stream>>>(R, C, y, bias);
    } else {
        gelu_inplace_kernel<<<flat_grid(R * C), kThreads, 0, stream>>>(R * C, y);
    }
    return cudaGetLastError();
}

}  // namespace vitedit::cuda::kernels

// Softmax over the last dim of scale * x, forward and backward: one warp per row.
#include <cmath>

#include "kernels.hpp"
#include "launch.cuh"

namespace vitedit::cuda::kernels {

namespace {

// y = softmax(t), t = scale * x rounded to float (as a framework computing `scale * x` first).
__global__ void softmax_fwd_kernel(int64_t R, int64_t C, const float* __restrict__ x, float scale,
                                   float* __restrict__ y) {
    const int lane = threadIdx.x & 31;
    VE_WARP_ROWS_LOOP(r, R) {
        const float* xr = x + r * C;
        float* yr = y + r * C;
        float m = -INFINITY;
        for (int64_t c = lane; c < C; c += 32) m = fmaxf(m, __fmul_rn(scale, xr[c]));
        m = warp_max(m);
        double sum = 0.0;
        for (int64_t c = lane; c < C; c += 32) sum += expf(__fmul_rn(scale, xr[c]) - m);
        const float inv = static_cast<float>(1.0 / warp_sum(sum));
        for (int64_t c = lane; c < C; c += 32) yr[c] = expf(__fmul_rn(scale, xr[c]) - m) * inv;
    }
}

// dx = scale * y * (dy - sum(dy * y)).
__global__ void softmax_bwd_kernel(int64_t R, int64_t C, const float* __restrict__ dy,
                                   const float* __restrict__ y, float scale, float* __restrict__ dx) {
    const int lane = threadIdx.x & 31;
    VE_WARP_ROWS_LOOP(r, R) {
        const float* dyr = dy + r * C;
        const float* yr = y + r * C;
        float* dxr = dx + r * C;
        double dot = 0.0;
        for (int64_t c = lane; c < C; c += 32) dot += static_cast<double>(dyr[c]) * yr[c];
        const float d = static_cast<float>(warp_sum(dot));
        for (int64_t c = lane; c < C; c += 32) dxr[c] = scale * yr[c] * (dyr[c] - d);
    }
}

}  // namespace

cudaError_t softmax_fwd(int64_t R, int64_t C, const float* x, float scale, float* y,
                        cudaStream_t stream) {
    if (R <= 0 || C <= 0) return cudaSuccess;
    softmax_fwd_kernel<<<warp_rows_grid(R), kThreads, 0, stream>>>(R, C, x, scale, y);
    return cudaGetLastError();
}

cudaError_t softmax_bwd(int64_t R, int64_t C, const float* dy, const float* y, float scale,
                        float* dx, cudaStream_t stream) {
    if (R <= 0 || C <= 0) return cudaSuccess;
    softmax_bwd_kernel<<<warp_rows_grid(R), kThreads, 0, stream>>>(R, C, dy, y, scale, dx);
    return cudaGetLastError();
}

}  // namespace vitedit::cuda::kernels

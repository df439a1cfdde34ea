// Masked SGD / RMSprop / AdamW steps (PyTorch semantics with g replaced by g * mask) and the
// FT-L1/L2 penalty gradient: element-wise over the [R, C] parameter view, rows along y.
#include <cmath>

#include "kernels.hpp"
#include "launch.cuh"

namespace vitedit::cuda::kernels {

namespace {

// Mask value of element (r, c): 1 without a mask.
__device__ __forceinline__ float mask_at(const MaskedParam& p, int64_t r, int64_t c) {
    if (!p.mask) return 1.0f;
    return p.axis == 0 ? p.mask[r] : p.mask[c];
}

__global__ void sgd_kernel(MaskedParam p, float* __restrict__ w, const float* __restrict__ g,
                           float lr, float wd) {
    VE_ROWS_LOOP(r, p.R) {
        VE_COLS_LOOP(c, p.C) {
            const int64_t i = r * p.C + c;
            w[i] -= lr * (g[i] * mask_at(p, r, c) + wd * w[i]);
        }
    }
}

__global__ void rmsprop_kernel(MaskedParam p, float* __restrict__ w, const float* __restrict__ g,
                               float* __restrict__ sq, float lr, float alpha, float eps) {
    VE_ROWS_LOOP(r, p.R) {
        VE_COLS_LOOP(c, p.C) {
            const int64_t i = r * p.C + c;
            const float gm = g[i] * mask_at(p, r, c);
            const float s = alpha * sq[i] + (1.0f - alpha) * gm * gm;
            sq[i] = s;
            w[i] -= lr * gm / (sqrtf(s) + eps);
        }
    }
}

__global__ void adam_kernel(MaskedParam p, float* __restrict__ w, const float* __restrict__ g,
                            float* __restrict__ m, float* __restrict__ v, float beta1, float beta2,
                            float eps, float step_size, float bc2_sqrt, float decay) {
    const bool masked = p.mask != nullptr;
    VE_ROWS_LOOP(r, p.R) {
        VE_COLS_LOOP(c, p.C) {
            const int64_t i = r * p.C + c;
            const float mk = mask_at(p, r, c);
            // With a mask, decay only what the mask selects (unmasked parameters stay frozen).
            const float wi = (!masked || mk != 0.0f) ? w[i] * decay : w[i];
            const float gm = g[i] * mk;
            const float mi = beta1 * m[i] + (1.0f - beta1) * gm;
            const float vi = beta2 * v[i] + (1.0f - beta2) * gm * gm;
            m[i] = mi;
            v[i] = vi;
            w[i] = wi - step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
        }
    }
}

__global__ void penalty_kernel(int64_t n, const float* __restrict__ w, const float* __restrict__ w0,
                               float* __restrict__ g, float c, int p) {
    if (p == 1) {
        VE_FLAT_LOOP(i, n) {
            const float d = w[i] - w0[i];
            g[i] += d > 0.0f ? c : (d < 0.0f ? -c : 0.0f);
        }
    } else {
        const float two_c = 2.0f * c;
        VE_FLAT_LOOP(i, n) g[i] += two_c * (w[i] - w0[i]);
    }
}

}  // namespace

cudaError_t sgd_step(const MaskedParam& p, float* w, const float* g, float lr, float weight_decay,
                     cudaStream_t stream) {
    if (p.R <= 0 || p.C <= 0) return cudaSuccess;
    const RowsLaunch l = rows_launch(p.R, p.C);
    sgd_kernel<<<l.grid, l.block, 0, stream>>>(p, w, g, lr, weight_decay);
    return cudaGetLastError();
}

cudaError_t rmsprop_step(const MaskedParam& p, float* w, const float* g, float* sq, float lr,
                         float alpha, float eps, cudaStream_t stream) {
    if (p.R <= 0 || p.C <= 0) return cudaSuccess;
    const RowsLaunch l = rows_launch(p.R, p.C);
    rmsprop_kernel<<<l.grid, l.block, 0, stream>>>(p, w, g, sq, lr, alpha, eps);
    return cudaGetLastError();
}

cudaError_t adam_step(const MaskedParam& p, float* w, const float* g, float* m, float* v,
                      float beta1, float beta2, float eps, float step_size, float bc2_sqrt,
                      float decay, cudaStream_t stream) {
    if (p.R <= 0 || p.C <= 0) return cudaSuccess;
    const RowsLaunch l = rows_launch(p.R, p.C);
    adam_kernel<<<l.grid, l.block, 0, stream>>>(p, w, g, m, v, beta1, beta2, eps, step_size, bc2_sqrt, decay);
    return cudaGetLastError();
}

cudaError_t penalty_grad(int64_t n, const float* w, const float* w0, float* g, float c, int p,
                         cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    penalty_kernel<<<flat_grid(n), kThreads, 0, stream>>>(n, w, w0, g, c, p);
    return cudaGetLastError();
}

}  // namespace vitedit::cuda::kernels

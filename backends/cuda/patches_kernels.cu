// Patch embedding data movement (im2col / col2im for non-overlapping p x p patches) and the token
// assembly (CLS + patches + positions). Row-walk kernels: no per-element 64-bit divisions
// except the small per-row and per-column decompositions.
#include "kernels.hpp"
#include "launch.cuh"

namespace vitedit::cuda::kernels {

namespace {

// cols [N, gh*gw, C*p*p]; column k = (c*p + ky)*p + kx.
__global__ void im2col_kernel(PatchGrid g, const float* __restrict__ img, float* __restrict__ cols) {
    const int64_t P = g.gh * g.gw, K = g.C * g.p * g.p, pp = g.p * g.p;
    VE_ROWS_LOOP(row, g.N * P) {
        const int64_t n = row / P, q = row % P;
        const int64_t gy = q / g.gw, gx = q % g.gw;
        const float* base = img + n * g.C * g.H * g.W + gy * g.p * g.W + gx * g.p;
        float* out = cols + row * K;
        VE_COLS_LOOP(k, K) {
            const int64_t c = k / pp, rem = k % pp;
            const int64_t ky = rem / g.p, kx = rem % g.p;
            out[k] = base[(c * g.H + ky) * g.W + kx];
        }
    }
}

// dimages[n, c, y, x] = dcols[...] (or 0 outside the patch grid) + beta * dimages[...].
__global__ void col2im_kernel(PatchGrid g, const float* __restrict__ dcols, float beta,
                              float* __restrict__ img) {
    const int64_t P = g.gh * g.gw, K = g.C * g.p * g.p;
    VE_ROWS_LOOP(row, g.N * g.C * g.H) {
        const int64_t y = row % g.H, plane = row / g.H;
        const int64_t c = plane % g.C, n = plane / g.C;
        const bool inside_y = y < g.gh * g.p;
        const int64_t gy = y / g.p, ky = y % g.p;
        const float* src = dcols + (n * P + gy * g.gw) * K + (c * g.p + ky) * g.p;
        float* out = img + row * g.W;
        VE_COLS_LOOP(x, g.W) {
            float v = 0.0f;
            if (inside_y && x < g.gw * g.p) {
                const int64_t gx = x / g.p, kx = x % g.p;
                v = src[gx * K + kx];
            }
            out[x] = beta == 0.0f ? v : __fmul_rn(beta, out[x]) + v;
        }
    }
}

__global__ void tokens_fwd_kernel(int64_t N, int64_t P, int64_t D, const float* __restrict__ patches,
                                  const float* __restrict__ cls, const float* __restrict__ pos,
                                  float* __restrict__ tokens) {
    const int64_t T = P + 1;
    VE_ROWS_LOOP(row, N * T) {
        const int64_t n = row / T, j = row % T;
        const float* src = j == 0 ? cls : patches + (n * P + j - 1) * D;
        const float* pr = pos + j * D;
        float* dst = tokens + row * D;
        VE_COLS_LOOP(d, D) dst[d] = src[d] + pr[d];
    }
}

}  // namespace

cudaError_t im2col(const PatchGrid& g, const float* images, float* cols, cudaStream_t stream) {
    const int64_t R = g.N * g.patches(), K = g.cols();
    if (R <= 0 || K <= 0) return cudaSuccess;
    const RowsLaunch l = rows_launch(R, K);
    im2col_kernel<<<l.grid, l.block, 0, stream>>>(g, images, cols);
    return cudaGetLastError();
}

cudaError_t col2im(const PatchGrid& g, const float* dcols, float beta, float* dimages,
                   cudaStream_t stream) {
    const int64_t R = g.N * g.C * g.H;
    if (R <= 0 || g.W <= 0) return cudaSuccess;
    const RowsLaunch l = rows_launch(R, g.W);
    col2im_kernel<<<l.grid, l.block, 0, stream>>>(g, dcols, beta, dimages);
    return cudaGetLastError();
}

cudaError_t tokens_fwd(int64_t N, int64_t P, int64_t D, const float* patches, const float* cls,
                       const float* pos, float* tokens, cudaStream_t stream) {
    const int64_t R = N * (P + 1);
    if (R <= 0 || D <= 0) return cudaSuccess;
    const RowsLaunch l = rows_launch(R, D);
    tokens_fwd_kernel<<<l.grid, l.block, 0, stream>>>(N, P, D, patches, cls, pos, tokens);
    return cudaGetLastError();
}

}  // namespace vitedit::cuda::kernels

// Launchers of the CUDA backend's kernels: plain C++ declarations (the .cpp files validate the
// arguments and call these; the kernels live in the *_kernels.cu files). Every launcher enqueues
// its work on `stream` without waiting and returns the launch status (cudaGetLastError).
// Pointers are device addresses; shapes are already validated; strides are in elements.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <cuda_runtime_api.h>

namespace vitedit::cuda::kernels {

// ---- elementwise_kernels.cu ----------------------------------------------------------------
// dst = src over an up-to-4-D strided view (nd <= 4; any non-negative strides).
cudaError_t strided_copy(int nd, const int64_t* shape, const float* src, const int64_t* src_stride,
                         float* dst, const int64_t* dst_stride, cudaStream_t stream);
// x = beta * x over a strided view; beta == 0 writes zeros (overwriting NaNs).
cudaError_t strided_scale(int nd, const int64_t* shape, float* x, const int64_t* stride, float beta,
                          cudaStream_t stream);
cudaError_t fill(float* dst, int64_t n, float value, cudaStream_t stream);
// y = alpha * x + beta * y (beta == 0: y is not read).
cudaError_t axpby(int64_t n, float alpha, const float* x, float beta, float* y, cudaStream_t stream);
// out = a + b; out may alias a or b.
cudaError_t add(int64_t n, const float* a, const float* b, float* out, cudaStream_t stream);
// y[r, c] += bias[c], y [R, C] contiguous.
cudaError_t bias_add(int64_t R, int64_t C, float* y, const float* bias, cudaStream_t stream);
// dst[c] = sum_r src[r * ld + c] + beta * dst[c] (beta == 0 overwrites), summed in double.
// `scratch` holds column_sum_scratch_bytes(1, R, C) bytes.
cudaError_t column_sum(int64_t R, int64_t C, const float* src, int64_t ld, float* dst, float beta,
                       void* scratch, cudaStream_t stream);

// ---- layernorm_kernels.cu ------------------------------------------------------------------
cudaError_t layernorm_fwd(int64_t R, int64_t C, const float* x, const float* gamma,
                          const float* beta, float eps, float* y, float* mean, float* rstd,
                          cudaStream_t stream);
// dx = rstd * (dy*gamma - mean(dy*gamma) - xhat * mean(dy*gamma*xhat)) + dx_beta * dx
cudaError_t layernorm_bwd_dx(int64_t R, int64_t C, const float* dy, const float* x,
                             const float* gamma, const float* mean, const float* rstd, float* dx,
                             float dx_beta, cudaStream_t stream);
// dgamma = sum_r dy*xhat (+ param_beta*old), dbeta = sum_r dy (+ ...); either may be NULL.
// `scratch` holds column_sum_scratch_bytes(2, R, C) bytes.
cudaError_t layernorm_bwd_params(int64_t R, int64_t C, const float* dy, const float* x,
                                 const float* mean, const float* rstd, float* dgamma, float* dbeta,
                                 float param_beta, void* scratch, cudaStream_t stream);

// ---- softmax_kernels.cu --------------------------------------------------------------------
cudaError_t softmax_fwd(int64_t R, int64_t C, const float* x, float scale, float* y,
                        cudaStream_t stream);
cudaError_t softmax_bwd(int64_t R, int64_t C, const float* dy, const float* y, float scale,
                        float* dx, cudaStream_t stream);

// ---- gelu_kernels.cu -----------------------------------------------------------------------
cudaError_t gelu_fwd(int64_t n, const float* x, float* y, cudaStream_t stream);
cudaError_t gelu_bwd(int64_t n, const float* dy, const float* x, float* dx, cudaStream_t stream);
// linear_fwd's epilogue, one pass over the product y [R, C] (contiguous): y = gelu(y + bias[c]),
// bias may be NULL (y = gelu(y)); the same arithmetic as bias_add then gelu_fwd.
cudaError_t bias_gelu(int64_t R, int64_t C, float* y, const float* bias, cudaStream_t stream);

// ---- units_kernels.cu ------------------------------------------------------------------------
// The `count` selected rows (rows = true) or columns of a full [R, C] matrix and their compact
// form [count, C] / [R, count], both contiguous; index: `count` device int32, in range, no
// repeats. gather: compact = full[index]; scatter: full[index] = compact (the rest untouched).
cudaError_t gather_units(bool rows, int64_t R, int64_t C, const float* full, const int32_t* index, int64_t count,
                         float* compact, cudaStream_t stream);
cudaError_t scatter_units(bool rows, int64_t R, int64_t C, const float* compact, const int32_t* index, int64_t count,
                          float* full, cudaStream_t stream);

// ---- patches_kernels.cu --------------------------------------------------------------------
struct PatchGrid {
    int64_t N, C, H, W, p, gh, gw;
    int64_t patches() const { return gh * gw; }
    int64_t cols() const { return C * p * p; }
};
cudaError_t im2col(const PatchGrid& g, const float* images, float* cols, cudaStream_t stream);
cudaError_t col2im(const PatchGrid& g, const float* dcols, float beta, float* dimages,
                   cudaStream_t stream);
// tokens[n, 0] = cls + pos[0]; tokens[n, 1 + i] = patches[n, i] + pos[1 + i].
cudaError_t tokens_fwd(int64_t N, int64_t P, int64_t D, const float* patches, const float* cls,
                       const float* pos, float* tokens, cudaStream_t stream);

// ---- losses_kernels.cu ---------------------------------------------------------------------
// Per row of logits [N, K]: loss (may be NULL) and dlogits (may be NULL); labels on the device.
cudaError_t cross_entropy(int64_t N, int64_t K, const float* logits, const int32_t* labels,
                          float label_smoothing, float* loss, float* dlogits, float grad_scale,
                          cudaStream_t stream);
cudaError_t kl_div(int64_t N, int64_t K, const float* logits, const float* target,
                   float temperature, float* loss, float* dlogits, float grad_scale,
                   cudaStream_t stream);

// ---- optimizers_kernels.cu -----------------------------------------------------------------
// A parameter viewed as [R, C] and its optional mask (NULL, [R] for axis 0, [C] for axis 1).
struct MaskedParam {
    int64_t R = 0, C = 0;
    const float* mask = nullptr;
    int axis = 0;
};
cudaError_t sgd_step(const MaskedParam& p, float* w, const float* g, float lr, float weight_decay,
                     cudaStream_t stream);
cudaError_t rmsprop_step(const MaskedParam& p, float* w, const float* g, float* sq, float lr,
                         float alpha, float eps, cudaStream_t stream);
// step_size = lr / (1 - b1^t), bc2_sqrt = sqrt(1 - b2^t), decay = 1 - lr*wd (host-computed).
cudaError_t adam_step(const MaskedParam& p, float* w, const float* g, float* m, float* v,
                      float beta1, float beta2, float eps, float step_size, float bc2_sqrt,
                      float decay, cudaStream_t stream);
cudaError_t penalty_grad(int64_t n, const float* w, const float* w0, float* g, float c, int p,
                         cudaStream_t stream);

// ---- the column-sum plan (shared by the .cpp side to size scratch) ---------------------------
// Rows are split into `splits` chunks; each (32-column block, chunk) pair sums in double into
// partials [nout][splits][C], then one pass adds the partials per column (deterministic).
struct ColumnSumPlan {
    int64_t col_blocks = 1, splits = 1, rows_per_split = 1;
};
inline ColumnSumPlan plan_column_sum(int64_t R, int64_t C) {
    ColumnSumPlan p;
    p.col_blocks = std::max<int64_t>(1, (C + 31) / 32);
    const int64_t by_rows = std::max<int64_t>(1, (R + 31) / 32);          // >= 32 rows a chunk
    const int64_t by_occupancy = std::max<int64_t>(1, 2048 / p.col_blocks);  // ~2k blocks in all
    p.splits = std::min<int64_t>(std::min(by_rows, by_occupancy), 65535);
    p.rows_per_split = std::max<int64_t>(1, (R + p.splits - 1) / p.splits);
    p.splits = std::max<int64_t>(1, (R + p.rows_per_split - 1) / p.rows_per_split);
    return p;
}
inline size_t column_sum_scratch_bytes(int nout, int64_t R, int64_t C) {
    const ColumnSumPlan p = plan_column_sum(R, C);
    return static_cast<size_t>(nout) * static_cast<size_t>(p.splits) *
           static_cast<size_t>(std::max<int64_t>(C, 1)) * sizeof(double);
}

}  // namespace vitedit::cuda::kernels

// Deterministic column sums in double: out_k[c] = sum_r f_k(r, c) + beta * out_k[c], for NOUT
// outputs at once (LayerNorm's dgamma/dbeta share one pass). See plan_column_sum in kernels.hpp.
#pragma once

#include "launch.cuh"

namespace vitedit::cuda::kernels {

template <int NOUT>
struct ColumnOutputs {
    float* out[NOUT];
};

// f(r, c, acc) adds row r's contribution at column c to acc[0..NOUT).
template <int NOUT, class F>
__global__ void column_partial_kernel(int64_t R, int64_t C, int64_t rows_per_split, F f,
                                      double* partial) {
    __shared__ double sh[NOUT][8][33];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int64_t c = static_cast<int64_t>(blockIdx.x) * 32 + tx;
    const int64_t splits = gridDim.y, split = blockIdx.y;
    double acc[NOUT];
#pragma unroll
    for (int k = 0; k < NOUT; ++k) acc[k] = 0.0;
    if (c < C) {
        const int64_t r0 = split * rows_per_split;
        const int64_t r1 = r0 + rows_per_split < R ? r0 + rows_per_split : R;
        for (int64_t r = r0 + ty; r < r1; r += 8) f(r, c, acc);
    }
#pragma unroll
    for (int k = 0; k < NOUT; ++k) sh[k][ty][tx] = acc[k];
    __syncthreads();
    if (ty == 0 && c < C) {
#pragma unroll
        for (int k = 0; k < NOUT; ++k) {
            double s = 0.0;
            for (int i = 0; i < 8; ++i) s += sh[k][i][tx];
            partial[(k * splits + split) * C + c] = s;
        }
    }
}

template <int NOUT>
__global__ void column_finish_kernel(int64_t C, int64_t splits, const double* partial,
                                     ColumnOutputs<NOUT> outs, float beta) {
    VE_FLAT_LOOP(c, C) {
#pragma unroll
        for (int k = 0; k < NOUT; ++k) {
            float* o = outs.out[k];
            if (!o) continue;
            double s = 0.0;
            for (int64_t i = 0; i < splits; ++i) s += partial[(k * splits + i) * C + c];
            o[c] = beta == 0.0f ? static_cast<float>(s)
                                : static_cast<float>(s + static_cast<double>(beta) * o[c]);
        }
    }
}

template <int NOUT, class F>
cudaError_t launch_column_sum(int64_t R, int64_t C, F f, ColumnOutputs<NOUT> outs, float beta,
                              void* scratch, cudaStream_t stream) {
    if (C <= 0) return cudaSuccess;
    const ColumnSumPlan p = plan_column_sum(R, C);
    double* partial = static_cast<double*>(scratch);
    column_partial_kernel<NOUT, F><<<dim3(static_cast<unsigned>(p.col_blocks), static_cast<unsigned>(p.splits)),
                                     dim3(32, 8), 0, stream>>>(R, C, p.rows_per_split, f, partial);
    column_finish_kernel<NOUT><<<flat_grid(C), kThreads, 0, stream>>>(C, p.splits, partial, outs, beta);
    return cudaGetLastError();
}

}  // namespace vitedit::cuda::kernels

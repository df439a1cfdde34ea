// Selected rows or columns of a full [R, C] matrix and their compact form: gather (full ->
// compact) and scatter (compact -> full). Pure data movement (bit-exact). The indices are on the
// device, in range and without repeats (checked on the host), so no two threads of a scatter
// write one element.
#include "kernels.hpp"
#include "launch.cuh"

namespace vitedit::cuda::kernels {

namespace {

// Rows: compact [count, C]. A block's threads run along a row (coalesced on both sides).
template <bool kGather>
__global__ void unit_rows_kernel(int64_t count, int64_t C, const float* src, const int32_t* __restrict__ index,
                                 float* dst) {
    VE_ROWS_LOOP(i, count) {
        const int64_t u = index[i];
        const float* s = src + (kGather ? u : i) * C;
        float* d = dst + (kGather ? i : u) * C;
        VE_COLS_LOOP(j, C) d[j] = s[j];
    }
}

// Columns: compact [R, count]. Threads run along the selected units of a row: the compact side
// and the index are read coalesced, the full side at the units' columns.
template <bool kGather>
__global__ void unit_cols_kernel(int64_t R, int64_t C, int64_t count, const float* src,
                                 const int32_t* __restrict__ index, float* dst) {
    const int64_t src_ld = kGather ? C : count, dst_ld = kGather ? count : C;
    VE_ROWS_LOOP(r, R) {
        const float* s = src + r * src_ld;
        float* d = dst + r * dst_ld;
        VE_COLS_LOOP(i, count) {
            const int64_t u = index[i];
            d[kGather ? i : u] = s[kGather ? u : i];
        }
    }
}

template <bool kGather>
cudaError_t move_units(bool rows, int64_t R, int64_t C, const float* src, const int32_t* index, int64_t count,
                       float* dst, cudaStream_t stream) {
    const int64_t lines = rows ? count : R, along = rows ? C : count;
    if (lines <= 0 || along <= 0) return cudaSuccess;
    const RowsLaunch l = rows_launch(lines, along);
    if (rows)
        unit_rows_kernel<kGather><<<l.grid, l.block, 0, stream>>>(count, C, src, index, dst);
    else
        unit_cols_kernel<kGather><<<l.grid, l.block, 0, stream>>>(R, C, count, src, index, dst);
    return cudaGetLastError();
}

}  // namespace

cudaError_t gather_units(bool rows, int64_t R, int64_t C, const float* full, const int32_t* index, int64_t count,
                         float* compact, cudaStream_t stream) {
    return move_units<true>(rows, R, C, full, index, count, compact, stream);
}

cudaError_t scatter_units(bool rows, int64_t R, int64_t C, const float* compact, const int32_t* index, int64_t count,
                          float* full, cudaStream_t stream) {
    return move_units<false>(rows, R, C, compact, index, count, full, stream);
}

}  // namespace vitedit::cuda::kernels

// Kernels for data movement and simple element-wise ops: strided copy/scale over up to 4-D
// views, fill, axpby, add, bias add and the column sum behind bias_grad / tokens_bwd.
#include <cstring>

#include "column_sum.cuh"
#include "kernels.hpp"
#include "launch.cuh"

namespace vitedit::cuda::kernels {

namespace {

// An up-to-4-D view padded with leading size-1 dims.
struct Dims4 {
    int64_t shape[4];
    int64_t s[4];  // source strides (or the only strides)
    int64_t d[4];  // destination strides
};

Dims4 pad4(int nd, const int64_t* shape, const int64_t* ss, const int64_t* ds) {
    Dims4 v;
    for (int i = 0; i < 4; ++i) v.shape[i] = 1, v.s[i] = 0, v.d[i] = 0;
    for (int i = 0; i < nd; ++i) {
        v.shape[4 - nd + i] = shape[i];
        v.s[4 - nd + i] = ss ? ss[i] : 0;
        v.d[4 - nd + i] = ds ? ds[i] : 0;
    }
    return v;
}

// Offset of outer row o (over dims 0..2) with strides st.
__device__ __forceinline__ int64_t outer_offset(const Dims4& v, int64_t o, const int64_t* st) {
    const int64_t i2 = o % v.shape[2], q = o / v.shape[2];
    const int64_t i1 = q % v.shape[1], i0 = q / v.shape[1];
    return i0 * st[0] + i1 * st[1] + i2 * st[2];
}

// No __restrict__: a copy between views of one buffer is allowed.
__global__ void strided_copy_kernel(Dims4 v, const float* src, float* dst) {
    const int64_t outer = v.shape[0] * v.shape[1] * v.shape[2], inner = v.shape[3];
    VE_ROWS_LOOP(o, outer) {
        const float* s = src + outer_offset(v, o, v.s);
        float* d = dst + outer_offset(v, o, v.d);
        VE_COLS_LOOP(i, inner) d[i * v.d[3]] = s[i * v.s[3]];
    }
}

__global__ void strided_scale_kernel(Dims4 v, float* x, float beta) {
    const int64_t outer = v.shape[0] * v.shape[1] * v.shape[2], inner = v.shape[3];
    VE_ROWS_LOOP(o, outer) {
        float* p = x + outer_offset(v, o, v.s);
        VE_COLS_LOOP(i, inner) {
            float& e = p[i * v.s[3]];
            e = beta == 0.0f ? 0.0f : beta * e;
        }
    }
}

__global__ void fill_kernel(float* __restrict__ d, int64_t n, float value) {
    VE_FLAT_LOOP(i, n) d[i] = value;
}

__global__ void scale_copy_kernel(int64_t n, float alpha, const float* __restrict__ x, float* __restrict__ y) {
    VE_FLAT_LOOP(i, n) y[i] = alpha * x[i];
}

__global__ void axpby_kernel(int64_t n, float alpha, const float* __restrict__ x, float beta,
                             float* __restrict__ y) {
    VE_FLAT_LOOP(i, n) y[i] = alpha * x[i] + beta * y[i];
}

// out may alias a or b: each element is read before it is written, by the same thread.
__global__ void add_kernel(int64_t n, const float* a, const float* b, float* out) {
    VE_FLAT_LOOP(i, n) out[i] = a[i] + b[i];
}

__global__ void bias_add_kernel(int64_t R, int64_t C, float* __restrict__ y, const float* __restrict__ bias) {
    VE_ROWS_LOOP(r, R) {
        float* row = y + r * C;
        VE_COLS_LOOP(c, C) row[c] += bias[c];
    }
}

struct ReadColumn {
    const float* src;
    int64_t ld;
    __device__ void operator()(int64_t r, int64_t c, double* acc) const { acc[0] += src[r * ld + c]; }
};

int64_t outer_of(const Dims4& v) { return v.shape[0] * v.shape[1] * v.shape[2]; }

}  // namespace

cudaError_t strided_copy(int nd, const int64_t* shape, const float* src, const int64_t* src_stride,
                         float* dst, const int64_t* dst_stride, cudaStream_t stream) {
    const Dims4 v = pad4(nd, shape, src_stride, dst_stride);
    const int64_t outer = outer_of(v), inner = v.shape[3];
    if (outer == 0 || inner == 0) return cudaSuccess;
    const RowsLaunch l = rows_launch(outer, inner);
    strided_copy_kernel<<<l.grid, l.block, 0, stream>>>(v, src, dst);
    return cudaGetLastError();
}

cudaError_t strided_scale(int nd, const int64_t* shape, float* x, const int64_t* stride, float beta,
                          cudaStream_t stream) {
    const Dims4 v = pad4(nd, shape, stride, nullptr);
    const int64_t outer = outer_of(v), inner = v.shape[3];
    if (outer == 0 || inner == 0 || beta == 1.0f) return cudaSuccess;
    const RowsLaunch l = rows_launch(outer, inner);
    strided_scale_kernel<<<l.grid, l.block, 0, stream>>>(v, x, beta);
    return cudaGetLastError();
}

cudaError_t fill(float* dst, int64_t n, float value, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof bits);
    if (bits == 0) return cudaMemsetAsync(dst, 0, static_cast<size_t>(n) * sizeof(float), stream);
    fill_kernel<<<flat_grid(n), kThreads, 0, stream>>>(dst, n, value);
    return cudaGetLastError();
}

cudaError_t axpby(int64_t n, float alpha, const float* x, float beta, float* y, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    if (beta == 0.0f)
        scale_copy_kernel<<<flat_grid(n), kThreads, 0, stream>>>(n, alpha, x, y);
    else
        axpby_kernel<<<flat_grid(n), kThreads, 0, stream>>>(n, alpha, x, beta, y);
    return cudaGetLastError();
}

cudaError_t add(int64_t n, const float* a, const float* b, float* out, cudaStream_t stream) {
    if (n <= 0) return cudaSuccess;
    add_kernel<<<flat_grid(n), kThreads, 0, stream>>>(n, a, b, out);
    return cudaGetLastError();
}

cudaError_t bias_add(int64_t R, int64_t C, float* y, const float* bias, cudaStream_t stream) {
    if (R <= 0 || C <= 0) return cudaSuccess;
    const RowsLaunch l = rows_launch(R, C);
    bias_add_kernel<<<l.grid, l.block, 0, stream>>>(R, C, y, bias);
    return cudaGetLastError();
}

cudaError_t column_sum(int64_t R, int64_t C, const float* src, int64_t ld, float* dst, float beta,
                       void* scratch, cudaStream_t stream) {
    return launch_column_sum<1>(R, C, ReadColumn{src, ld}, ColumnOutputs<1>{{dst}}, beta, scratch, stream);
}

}  // namespace vitedit::cuda::kernels

// copy, fill, axpby, add, bias_add, bias_grad: plain loops.
#include <algorithm>

#include "onednn_backend.hpp"
#include "parallel.hpp"
#include "strided.hpp"

namespace vitedit::onednn {

namespace {

// Span kernels of the element-wise ops (VE_SIMD_CLONES: built for AVX-512 and AVX2 too).
VE_SIMD_CLONES void add_span(const float* a, const float* b, float* o, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) o[i] = a[i] + b[i];
}
VE_SIMD_CLONES void axpby_span(float alpha, const float* x, float beta, float* y, int64_t n) {
    if (beta == 0.0f) {
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i];
    } else {
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i] + beta * y[i];
    }
}
VE_SIMD_CLONES void bias_rows(float* y, const float* bias, int64_t rows, int64_t C) {
    for (int64_t r = 0; r < rows; ++r) {
        float* row = y + r * C;
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) row[c] += bias[c];
    }
}

}  // namespace

void OnednnBackend::copy(const ve_tensor& src_t, const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = out(dst_t, "dst");
    require_same_shape(src, dst);
    for (int i = 0; i < dst.nd; ++i)
        if (dst.shape[i] > 1 && dst.stride[i] == 0)
            fail(describe(dst) + ": the destination has a zero stride (elements overlap)");
    strided_copy(dst.nd, dst.shape, src.data, src.stride, dst.data, dst.stride);
}

void OnednnBackend::fill(const ve_tensor& dst_t, float value) {
    View dst = out(dst_t, "dst");
    require_contiguous(dst);
    float* d = dst.data;
    const int64_t n = dst.numel;
#pragma omp parallel for simd schedule(static) if (worth_parallel(n))
    for (int64_t i = 0; i < n; ++i) d[i] = value;
}

void OnednnBackend::axpby(float alpha, const ve_tensor& x_t, float beta, const ve_tensor& y_t) {
    View x = view(x_t, "x"), y = out(y_t, "y");
    require_same_shape(x, y);
    require_contiguous(x);
    require_contiguous(y);
    const float* xs = x.data;
    float* ys = y.data;
    for_spans(y.numel, [&](int64_t lo, int64_t hi) { axpby_span(alpha, xs + lo, beta, ys + lo, hi - lo); });
}

void OnednnBackend::add(const ve_tensor& a_t, const ve_tensor& b_t, const ve_tensor& out_t) {
    View a = view(a_t, "a"), b = view(b_t, "b"), out = this->out(out_t, "out");
    require_same_shape(a, b);
    require_same_shape(a, out);
    require_contiguous(a);
    require_contiguous(b);
    require_contiguous(out);
    const float* as = a.data;
    const float* bs = b.data;
    float* os = out.data;  // may alias a or b: each element is read before it is written
    for_spans(out.numel, [&](int64_t lo, int64_t hi) { add_span(as + lo, bs + lo, os + lo, hi - lo); });
}

void OnednnBackend::bias_add(const ve_tensor& y_t, const ve_tensor& bias_t) {
    View y = out(y_t, "y"), bias = view(bias_t, "bias");
    require_contiguous(y);
    const int64_t C = y.last(), R = y.rows();
    require_vector(bias, C, "the last dim of y");
    float* ys = y.data;
    const float* bs = bias.data;
    for_row_spans(R, C, [&](int64_t r0, int64_t r1) { bias_rows(ys + r0 * C, bs, r1 - r0, C); });
}

void OnednnBackend::bias_grad(const ve_tensor& dy_t, const ve_tensor& dbias_t, float beta) {
    View dy = view(dy_t, "dy"), dbias = out(dbias_t, "dbias");
    require_contiguous(dy);
    const int64_t C = dy.last(), R = dy.rows();
    require_vector(dbias, C, "the last dim of dy");
    const float* g = dy.data;
    float* db = dbias.data;
    // Column blocks per thread; rows summed in double.
    constexpr int64_t kBlock = 64;
    const int64_t blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (worth_parallel(R * C) && blocks > 1)
    for (int64_t blk = 0; blk < blocks; ++blk) {
        const int64_t c0 = blk * kBlock, c1 = std::min(C, c0 + kBlock);
        double acc[kBlock] = {};
        for (int64_t r = 0; r < R; ++r) {
            const float* row = g + r * C;
#pragma omp simd
            for (int64_t c = c0; c < c1; ++c) acc[c - c0] += row[c];
        }
        for (int64_t c = c0; c < c1; ++c)
            db[c] = beta == 0.0f ? static_cast<float>(acc[c - c0])
                                 : static_cast<float>(acc[c - c0] + static_cast<double>(beta) * db[c]);
    }
}

}  // namespace vitedit::onednn

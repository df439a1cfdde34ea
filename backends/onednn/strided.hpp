// Loops over up to 4-D strided views: copy (gather/scatter) and in-place scaling.
#pragma once

#include <cstdint>

namespace vitedit::onednn {

// dst = src elementwise over `shape` (nd <= 4); strides in elements, any non-negative values.
void strided_copy(int nd, const int64_t* shape, const float* src, const int64_t* src_stride,
                  float* dst, const int64_t* dst_stride);

// dst = bf16(src) elementwise (round to nearest even; NaN stays NaN): the operands of a GEMM run
// in bf16 precision, converted from the f32 master values at every call.
void strided_copy_bf16(int nd, const int64_t* shape, const float* src, const int64_t* src_stride,
                       uint16_t* dst, const int64_t* dst_stride);

// x = beta * x over a strided view; beta == 0 writes zeros (overwriting NaNs).
void strided_scale(int nd, const int64_t* shape, float* x, const int64_t* stride, float beta);

}  // namespace vitedit::onednn

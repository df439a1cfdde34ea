// How a strided, batched GEMM maps onto cuBLAS (column-major, one unit stride per matrix):
// pure planning, no CUDA calls, so the logic is testable on any machine.
//
// c = alpha * op(a) @ op(b) + beta * c over the last two dims, up to two batch dims.
//   - every operand is described as a logical matrix [rows, cols] with a row and a column stride
//     (op() folded in by swapping strides);
//   - a column-major c is computed directly; a row-major c as C^T = op(B)^T op(A)^T (the usual
//     row-major trick, which only swaps strides again); a c with neither layout (no unit stride,
//     or overlapping rows) is computed into dense scratch and copied back;
//   - an input with a unit row stride is passed as CUBLAS_OP_N, one with a unit column stride as
//     CUBLAS_OP_T (its transpose is column-major); one with neither (e.g. a column of a qkv
//     buffer, or a zero-stride broadcast) is first packed into dense row-major scratch;
//   - size-1 batch dims are dropped and two batch dims merged when every operand allows it; one
//     batch dim runs as one strided-batched call, two as a loop of strided-batched calls over
//     the outer one (the longer dim is made the inner one).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor_view.hpp"

namespace vitedit::cuda {

struct GemmPlan {
    enum Role { A = 0, B = 1, C = 2 };

    // A copy between a user operand and its dense scratch image, over [outer, inner, rows, cols].
    struct Pack {
        Role role;
        size_t offset = 0;  // floats into the scratch
        int64_t shape[4] = {1, 1, 1, 1};
        int64_t user_stride[4] = {0, 0, 0, 0};
        int64_t dense_stride[4] = {0, 0, 0, 0};
        bool copy_in = true;  // false for an output with beta == 0 (never read)
    };
    Pack packs[3];
    int npacks = 0;
    size_t scratch_floats = 0;

    // One cuBLAS operand: which tensor (or its packed image), transposed or not, leading dim,
    // batch strides (outer, inner).
    struct Operand {
        Role role = A;
        bool packed = false;
        bool trans = false;  // CUBLAS_OP_T
        int64_t ld = 1;
        int64_t bstride[2] = {0, 0};
    };
    Operand x, y, out;  // cuBLAS's A (m x k), B (k x n), C (m x n)
    int64_t m = 0, n = 0, k = 0;
    int64_t batch_outer = 1, batch_inner = 1;  // loop count, strided-batched count
    bool swapped = false;                      // computes c^T = op(b)^T op(a)^T
};

// a, b, c validated (same ndim 2..4, equal batch dims, shapes chain, K > 0, c non-empty).
GemmPlan plan_gemm(bool trans_a, bool trans_b, const View& a, const View& b, float beta, const View& c);

}  // namespace vitedit::cuda

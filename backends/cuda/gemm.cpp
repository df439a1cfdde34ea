// GEMM on cuBLAS in strict FP32 (the handle's math mode is set at creation: DEFAULT_MATH, which
// never uses TF32 for Sgemm, or PEDANTIC): validation here, the layout plan in gemm_plan.cpp,
// then packing copies (strided-copy kernel), cublasSgemm / cublasSgemmStridedBatched calls and
// the copy back of a packed output, all enqueued on the stream. linear_fwd (linear.cpp) runs its
// product through the same path.
// beta == 0 never reads c (cuBLAS guarantees it), so NaNs in c are overwritten.
#include <string>

#include "cuda_backend.hpp"
#include "cuda_errors.hpp"
#include "gemm_plan.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

void CudaBackend::gemm(bool ta, bool tb, float alpha, const ve_tensor& a_t, const ve_tensor& b_t, float beta,
                       const ve_tensor& c_t) {
    View a = view(a_t, "a"), b = view(b_t, "b"), c = view(c_t, "c");  // in this order (which fails first)
    product(ta, tb, alpha, a, b, beta, c);
}

// Validates the product, then enqueues it; nothing is queued when an argument is refused.
void CudaBackend::product(bool ta, bool tb, float alpha, const View& a, const View& b, float beta, const View& c) {
    require_ndim(a, 2, 4);
    if (b.nd != a.nd || c.nd != a.nd)
        fail("a, b and c must have the same ndim: " + describe(a) + ", " + describe(b) + ", " + describe(c));
    const int nd = a.nd;
    for (int i = 0; i < nd - 2; ++i)
        if (a.shape[i] != c.shape[i] || b.shape[i] != c.shape[i])
            fail("batch dims differ: " + describe(a) + ", " + describe(b) + ", " + describe(c));
    const int64_t M = a.shape[nd - (ta ? 1 : 2)], K = a.shape[nd - (ta ? 2 : 1)];
    const int64_t Kb = b.shape[nd - (tb ? 1 : 2)], N = b.shape[nd - (tb ? 2 : 1)];
    if (K != Kb || c.shape[nd - 2] != M || c.shape[nd - 1] != N)
        fail(std::string("shapes do not chain: op(a) is [") + std::to_string(M) + "," + std::to_string(K) +
             "], op(b) is [" + std::to_string(Kb) + "," + std::to_string(N) + "], c must be [" +
             std::to_string(M) + "," + std::to_string(N) + "] (trans_a=" + std::to_string(ta) +
             ", trans_b=" + std::to_string(tb) + "; " + describe(a) + ", " + describe(b) + ", " + describe(c) + ")");
    require_no_zero_stride(c, "output");
    if (c.numel == 0) return;
    activate();
    if (K == 0) {  // empty sum: c = beta * c
        launched(kernels::strided_scale(c.nd, c.shape, c.data, c.stride, beta, stream_), "the gemm beta-scaling kernel");
        return;
    }

    const GemmPlan plan = plan_gemm(ta, tb, a, b, beta, c);
    float* user[3] = {a.data, b.data, c.data};
    float* scratch = plan.npacks ? static_cast<float*>(memory_->scratch(plan.scratch_floats * sizeof(float))) : nullptr;
    float* image[3] = {nullptr, nullptr, nullptr};  // packed images
    for (int i = 0; i < plan.npacks; ++i) {
        const GemmPlan::Pack& p = plan.packs[i];
        image[p.role] = scratch + p.offset;
        if (p.copy_in)
            launched(kernels::strided_copy(4, p.shape, user[p.role], p.user_stride, image[p.role], p.dense_stride, stream_),
                     "the gemm packing copy");
    }
    auto ptr = [&](const GemmPlan::Operand& o) { return o.packed ? image[o.role] : user[o.role]; };
    const float* X = ptr(plan.x);
    const float* Y = ptr(plan.y);
    float* C = ptr(plan.out);
    const cublasOperation_t opx = plan.x.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t opy = plan.y.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
    auto blas = [&](cublasStatus_t st) {
        if (st == CUBLAS_STATUS_SUCCESS) return;
        check_cublas(st, "cublasSgemm" + std::string(plan.batch_inner > 1 ? "StridedBatched" : "") + " (m=" +
                             std::to_string(plan.m) + ", n=" + std::to_string(plan.n) + ", k=" +
                             std::to_string(plan.k) + ") for " + describe(a) + (ta ? "^T" : "") + " x " +
                             describe(b) + (tb ? "^T" : "") + " -> " + describe(c));
    };
    if (plan.batch_outer * plan.batch_inner == 1) {
        blas(cublasSgemm_64(blas_, opx, opy, plan.m, plan.n, plan.k, &alpha, X, plan.x.ld, Y, plan.y.ld, &beta, C,
                            plan.out.ld));
    } else {
        for (int64_t o = 0; o < plan.batch_outer; ++o)
            blas(cublasSgemmStridedBatched_64(blas_, opx, opy, plan.m, plan.n, plan.k, &alpha,
                                              X + o * plan.x.bstride[0], plan.x.ld, plan.x.bstride[1],
                                              Y + o * plan.y.bstride[0], plan.y.ld, plan.y.bstride[1], &beta,
                                              C + o * plan.out.bstride[0], plan.out.ld, plan.out.bstride[1],
                                              plan.batch_inner));
    }
    for (int i = 0; i < plan.npacks; ++i) {
        const GemmPlan::Pack& p = plan.packs[i];
        if (p.role != GemmPlan::C) continue;
        launched(kernels::strided_copy(4, p.shape, image[p.role], p.dense_stride, user[p.role], p.user_stride, stream_),
                 "the gemm output copy");
    }
}

}  // namespace vitedit::cuda

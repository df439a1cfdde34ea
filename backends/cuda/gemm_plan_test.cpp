// CPU check of the CUDA backend's GEMM layout plan (gemm_plan.cpp), runnable without a GPU:
// executes each plan with a column-major reference "cuBLAS" (which also enforces cuBLAS's
// leading-dimension rules) and the packing copies, in double, and compares with a naive strided
// GEMM over 20000 random problems: 2-D to 4-D, all transpose combinations, row/column-major,
// padded, inner-stride-3 (qkv-like), no-unit-stride and zero-batch-stride (broadcast) operands,
// permuted and padded batch dims, beta 0 over NaN and beta != 0.
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>
#include <string>

#include "gemm_plan.hpp"
using namespace vitedit::cuda;

static std::string text(const View& v) {
    std::string s = std::string(v.name) + " [";
    for (int i = 0; i < v.nd; ++i) s += (i ? "," : "") + std::to_string(v.shape[i]);
    s += "] strides [";
    for (int i = 0; i < v.nd; ++i) s += (i ? "," : "") + std::to_string(v.stride[i]);
    return s + "]";
}

static std::mt19937_64 rng(42);
static int64_t rnd(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

// Fill a View over a buffer with layout kind for logical shape (batch dims + [r,c]).
View make(std::vector<double>& buf, int nd, const int64_t* shape, int kind, bool is_out, const char* name) {
    View v; v.name = name; v.nd = nd;
    for (int i = 0; i < nd; ++i) v.shape[i] = shape[i];
    int64_t R = shape[nd-2], C = shape[nd-1];
    int64_t rs, cs, mat;
    switch (kind) {
    case 0: rs = C; cs = 1; mat = R*C; break;                         // row-major
    case 1: rs = 1; cs = R; mat = R*C; break;                         // col-major
    case 2: rs = C + 3; cs = 1; mat = R*(C+3); break;                 // padded row-major
    case 3: rs = 1; cs = R + 2; mat = C*(R+2); break;                 // padded col-major
    case 4: rs = C*3; cs = 3; mat = R*C*3; break;                     // inner stride 3 (qkv-like)
    default: rs = 2; cs = 2*R+1; mat = C*(2*R+1)+2; break;            // no unit stride at all
    }
    v.stride[nd-2] = rs; v.stride[nd-1] = cs;
    int64_t extent = mat + 5;
    // batch dims: random order/padding; zero stride only for inputs
    int nb = nd - 2;
    int64_t bst[2] = {0, 0};
    if (nb == 1) {
        bst[0] = (!is_out && rnd(0, 4) == 0) ? 0 : extent + rnd(0, 3);
    } else if (nb == 2) {
        int mode = rnd(0, is_out ? 2 : 3);
        if (mode == 0) { bst[1] = extent; bst[0] = extent * shape[1]; }              // dense, mergeable
        else if (mode == 1) { bst[0] = extent; bst[1] = extent * shape[0]; }         // permuted
        else if (mode == 2) { bst[1] = extent + 7; bst[0] = (extent + 7) * shape[1] + 11; } // padded
        else { bst[0] = 0; bst[1] = extent; }                                        // broadcast over dim 0
    }
    for (int i = 0; i < nb; ++i) v.stride[i] = bst[i];
    int64_t span = 1;
    for (int i = 0; i < nd; ++i) span += (shape[i] - 1) * v.stride[i];
    int64_t off = rnd(0, 3);
    buf.assign(off + span + 8, 0.0);
    for (auto& x : buf) x = std::uniform_real_distribution<double>(-1, 1)(rng);
    v.data = reinterpret_cast<float*>(static_cast<intptr_t>(off));  // element offset carried as "pointer"
    v.numel = 1; for (int i = 0; i < nd; ++i) v.numel *= shape[i];
    return v;
}
static int64_t off_of(const View& v) { return static_cast<int64_t>(reinterpret_cast<intptr_t>(v.data)); }

static void copy4(const int64_t* shape, const double* src, const int64_t* ss, double* dst, const int64_t* ds) {
    for (int64_t i0 = 0; i0 < shape[0]; ++i0) for (int64_t i1 = 0; i1 < shape[1]; ++i1)
    for (int64_t i2 = 0; i2 < shape[2]; ++i2) for (int64_t i3 = 0; i3 < shape[3]; ++i3)
        dst[i0*ds[0]+i1*ds[1]+i2*ds[2]+i3*ds[3]] = src[i0*ss[0]+i1*ss[1]+i2*ss[2]+i3*ss[3]];
}

// column-major sgemm reference with cuBLAS argument checks
static bool blas(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* A, int64_t lda,
                 const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
    if (lda < std::max<int64_t>(1, ta ? k : m) || ldb < std::max<int64_t>(1, tb ? n : k) || ldc < std::max<int64_t>(1, m)) return false;
    for (int64_t j = 0; j < n; ++j) for (int64_t i = 0; i < m; ++i) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) {
            double a = ta ? A[p + i*lda] : A[i + p*lda];
            double b = tb ? B[j + p*ldb] : B[p + j*ldb];
            s += a * b;
        }
        C[i + j*ldc] = alpha * s + (beta == 0 ? 0.0 : beta * C[i + j*ldc]);
    }
    return true;
}

int main() {
    int failures = 0, runs = 0, packs = 0, swaps = 0, batched2 = 0;
    for (int it = 0; it < 20000; ++it) {
        int nd = rnd(2, 4);
        bool ta = rnd(0, 1), tb = rnd(0, 1);
        int64_t M = rnd(1, 5), N = rnd(1, 5), K = rnd(1, 5);
        int64_t bs[2] = {rnd(1, 3), rnd(1, 3)};
        int64_t sa[4], sb[4], sc[4];
        for (int i = 0; i < nd - 2; ++i) sa[i] = sb[i] = sc[i] = bs[i];
        sa[nd-2] = ta ? K : M; sa[nd-1] = ta ? M : K;
        sb[nd-2] = tb ? N : K; sb[nd-1] = tb ? K : N;
        sc[nd-2] = M; sc[nd-1] = N;
        std::vector<double> ba, bb, bc;
        View a = make(ba, nd, sa, rnd(0, 5), false, "a");
        View b = make(bb, nd, sb, rnd(0, 5), false, "b");
        View c = make(bc, nd, sc, rnd(0, 5), true, "c");
        double alpha = 1.5, beta = rnd(0, 1) ? 0.0 : -0.75;
        if (beta == 0) for (auto& x : bc) x = NAN;
        // expected
        std::vector<double> expect = bc;
        int64_t B0 = nd >= 4 ? sc[0] : 1, B1 = nd >= 3 ? sc[nd-3] : 1;
        auto bstr = [&](const View& v, int which) -> int64_t { // which: 0 outer (dim 0 of 4-D), 1 inner
            if (nd == 4) return v.stride[which];
            if (nd == 3) return which == 1 ? v.stride[0] : 0;
            return 0; };
        for (int64_t o = 0; o < B0; ++o) for (int64_t q = 0; q < B1; ++q)
        for (int64_t i = 0; i < M; ++i) for (int64_t j = 0; j < N; ++j) {
            double s = 0;
            for (int64_t p = 0; p < K; ++p) {
                int64_t ai = off_of(a) + o*bstr(a,0) + q*bstr(a,1) + (ta ? p*a.stride[nd-2] + i*a.stride[nd-1] : i*a.stride[nd-2] + p*a.stride[nd-1]);
                int64_t bi = off_of(b) + o*bstr(b,0) + q*bstr(b,1) + (tb ? j*b.stride[nd-2] + p*b.stride[nd-1] : p*b.stride[nd-2] + j*b.stride[nd-1]);
                s += ba[ai] * bb[bi];
            }
            int64_t ci = off_of(c) + o*bstr(c,0) + q*bstr(c,1) + i*c.stride[nd-2] + j*c.stride[nd-1];
            expect[ci] = alpha * s + (beta == 0 ? 0.0 : beta * bc[ci]);
        }
        // plan + execute
        GemmPlan plan = plan_gemm(ta, tb, a, b, (float)beta, c);
        ++runs; packs += plan.npacks > 0; swaps += plan.swapped; batched2 += plan.batch_outer > 1;
        std::vector<double> scratch(plan.scratch_floats + 8, NAN);
        double* user[3] = {ba.data() + off_of(a), bb.data() + off_of(b), bc.data() + off_of(c)};
        double* image[3] = {nullptr, nullptr, nullptr};
        for (int i = 0; i < plan.npacks; ++i) {
            auto& p = plan.packs[i];
            image[p.role] = scratch.data() + p.offset;
            if (p.copy_in) copy4(p.shape, user[p.role], p.user_stride, image[p.role], p.dense_stride);
        }
        auto ptr = [&](const GemmPlan::Operand& o) { return o.packed ? image[o.role] : user[o.role]; };
        bool ok = true;
        for (int64_t o = 0; o < plan.batch_outer; ++o) for (int64_t q = 0; q < plan.batch_inner; ++q)
            ok = ok && blas(plan.x.trans, plan.y.trans, plan.m, plan.n, plan.k, alpha,
                            ptr(plan.x) + o*plan.x.bstride[0] + q*plan.x.bstride[1], plan.x.ld,
                            ptr(plan.y) + o*plan.y.bstride[0] + q*plan.y.bstride[1], plan.y.ld, beta,
                            ptr(plan.out) + o*plan.out.bstride[0] + q*plan.out.bstride[1], plan.out.ld);
        for (int i = 0; i < plan.npacks; ++i) {
            auto& p = plan.packs[i];
            if (p.role == GemmPlan::C) copy4(p.shape, image[p.role], p.dense_stride, user[p.role], p.user_stride);
        }
        double worst = 0;
        for (size_t i = 0; i < bc.size(); ++i) {
            if (std::isnan(expect[i]) && std::isnan(bc[i])) continue;
            double d = std::fabs(expect[i] - bc[i]);
            if (!(d <= 1e-12)) worst = std::max(worst, std::isnan(d) ? 1e9 : d);
        }
        if (!ok || worst > 0) {
            if (++failures <= 10)
                printf("FAIL it=%d nd=%d ta=%d tb=%d M=%ld N=%ld K=%ld a%s b%s c%s ok=%d worst=%g swap=%d packs=%d\n", it, nd, ta, tb,
                       (long)M, (long)N, (long)K, text(a).c_str(), text(b).c_str(), text(c).c_str(), ok, worst, plan.swapped, plan.npacks);
        }
    }
    printf("%d runs, %d failures (%d with packing, %d swapped, %d looped over two batch dims)\n", runs, failures, packs, swaps, batched2);
    return failures != 0;
}

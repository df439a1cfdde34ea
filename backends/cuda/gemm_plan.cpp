#include "gemm_plan.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace vitedit::cuda {

namespace {

// A logical matrix: rows x cols with strides in elements.
struct Mat {
    int64_t rows, cols, rs, cs;
    Mat t() const { return {cols, rows, cs, rs}; }
};

// Column-major with a valid leading dimension (a cuBLAS "N" operand)?
bool col_major(const Mat& m, int64_t& ld) {
    if ((m.rs == 1 || m.rows == 1) && (m.cols == 1 || m.cs >= std::max<int64_t>(m.rows, 1))) {
        ld = m.cols == 1 ? std::max<int64_t>(m.rows, 1) : m.cs;
        return true;
    }
    return false;
}
// Row-major with a valid leading dimension (its transpose is column-major: a "T" operand)?
bool row_major(const Mat& m, int64_t& ld) { return col_major(m.t(), ld); }

struct Operand {
    Mat m{};
    int64_t bstride[2] = {0, 0};
};

}  // namespace

GemmPlan plan_gemm(bool ta, bool tb, const View& a, const View& b, float beta, const View& c) {
    const int nd = c.nd;
    GemmPlan plan;
    Operand op[3];
    op[GemmPlan::A].m = {a.shape[nd - 2], a.shape[nd - 1], a.stride[nd - 2], a.stride[nd - 1]};
    if (ta) op[GemmPlan::A].m = op[GemmPlan::A].m.t();
    op[GemmPlan::B].m = {b.shape[nd - 2], b.shape[nd - 1], b.stride[nd - 2], b.stride[nd - 1]};
    if (tb) op[GemmPlan::B].m = op[GemmPlan::B].m.t();
    op[GemmPlan::C].m = {c.shape[nd - 2], c.shape[nd - 1], c.stride[nd - 2], c.stride[nd - 1]};
    const int64_t M = op[GemmPlan::C].m.rows, N = op[GemmPlan::C].m.cols, K = op[GemmPlan::A].m.cols;

    // Batch dims: drop size-1 ones; keep at most two, (outer, inner).
    int nb = 0;
    int64_t bshape[2] = {1, 1};
    const View* views[3] = {&a, &b, &c};
    for (int i = 0; i < nd - 2; ++i) {
        if (c.shape[i] == 1) continue;
        bshape[nb] = c.shape[i];
        for (int r = 0; r < 3; ++r) op[r].bstride[nb] = views[r]->stride[i];
        ++nb;
    }
    if (nb == 2) {
        bool mergeable = true;
        for (const Operand& o : op) mergeable = mergeable && o.bstride[0] == o.bstride[1] * bshape[1];
        if (mergeable) {
            nb = 1;
            bshape[0] *= bshape[1];
            for (Operand& o : op) o.bstride[0] = o.bstride[1];
        } else if (bshape[0] > bshape[1]) {  // the longer dim runs inside one strided-batched call
            std::swap(bshape[0], bshape[1]);
            for (Operand& o : op) std::swap(o.bstride[0], o.bstride[1]);
        }
    }
    if (nb == 1) {  // the single batch dim goes to the inner (strided-batched) slot
        bshape[1] = bshape[0];
        bshape[0] = 1;
        for (Operand& o : op) {
            o.bstride[1] = o.bstride[0];
            o.bstride[0] = 0;
        }
    }
    plan.batch_outer = bshape[0];
    plan.batch_inner = bshape[1];
    const int64_t batch = bshape[0] * bshape[1];

    // Replaces operand r by a dense row-major image [outer, inner, rows, cols] in scratch.
    bool packed[3] = {false, false, false};
    auto pack = [&](GemmPlan::Role r, bool copy_in) {
        GemmPlan::Pack& p = plan.packs[plan.npacks++];
        Operand& o = op[r];
        p.role = r;
        p.offset = plan.scratch_floats;
        p.copy_in = copy_in;
        p.shape[0] = bshape[0];
        p.shape[1] = bshape[1];
        p.shape[2] = o.m.rows;
        p.shape[3] = o.m.cols;
        p.user_stride[0] = o.bstride[0];
        p.user_stride[1] = o.bstride[1];
        p.user_stride[2] = o.m.rs;
        p.user_stride[3] = o.m.cs;
        o.m.rs = o.m.cols;
        o.m.cs = 1;
        o.bstride[1] = o.m.rows * o.m.cols;
        o.bstride[0] = bshape[1] * o.bstride[1];
        p.dense_stride[0] = o.bstride[0];
        p.dense_stride[1] = o.bstride[1];
        p.dense_stride[2] = o.m.rs;
        p.dense_stride[3] = o.m.cs;
        // keep every image 256-byte aligned
        plan.scratch_floats += (static_cast<size_t>(batch * o.m.rows * o.m.cols) + 63) / 64 * 64;
        packed[r] = true;
    };

    // Orientation of c: column-major -> as is; row-major -> c^T = op(b)^T op(a)^T; else pack
    // (a dense row-major image, computed transposed).
    int64_t ldc = 0;
    if (!col_major(op[GemmPlan::C].m, ldc)) {
        plan.swapped = true;
        if (!row_major(op[GemmPlan::C].m, ldc)) {
            pack(GemmPlan::C, beta != 0.0f);
            if (!row_major(op[GemmPlan::C].m, ldc)) throw std::logic_error("gemm: the packed output is not cuBLAS-friendly");
        }
    }
    const bool s = plan.swapped;
    plan.m = s ? N : M;
    plan.n = s ? M : N;
    plan.k = K;
    plan.out.role = GemmPlan::C;
    plan.out.packed = packed[GemmPlan::C];
    plan.out.ld = ldc;
    plan.out.bstride[0] = op[GemmPlan::C].bstride[0];
    plan.out.bstride[1] = op[GemmPlan::C].bstride[1];

    const GemmPlan::Role first = s ? GemmPlan::B : GemmPlan::A, second = s ? GemmPlan::A : GemmPlan::B;
    GemmPlan::Operand* slots[2] = {&plan.x, &plan.y};
    const GemmPlan::Role roles[2] = {first, second};
    for (int i = 0; i < 2; ++i) {
        const GemmPlan::Role r = roles[i];
        GemmPlan::Operand& dst = *slots[i];
        auto as_seen = [&] { return s ? op[r].m.t() : op[r].m; };  // the matrix cuBLAS multiplies
        int64_t ld = 0;
        bool trans = false;
        if (col_major(as_seen(), ld)) {
            trans = false;
        } else if (row_major(as_seen(), ld)) {
            trans = true;
        } else {
            pack(r, true);
            if (col_major(as_seen(), ld))
                trans = false;
            else if (row_major(as_seen(), ld))
                trans = true;
            else
                throw std::logic_error("gemm: a packed operand is not cuBLAS-friendly");
        }
        dst.role = r;
        dst.packed = packed[r];
        dst.trans = trans;
        dst.ld = ld;
        dst.bstride[0] = op[r].bstride[0];
        dst.bstride[1] = op[r].bstride[1];
    }
    return plan;
}

}  // namespace vitedit::cuda

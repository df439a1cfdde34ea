// vitedit SDK (backend authors) — validated F32 views of ve_tensor descriptors and the argument
// checks every op shares. Each check throws author::Invalid (or author::Unsupported for another
// dtype) with a message that names the argument and prints its shape and strides, so every backend
// refuses bad tensors with the same words. Header-only: backends compile it in.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "vitedit/backend_author.hpp"
#include "vitedit/tensor.h"

namespace vitedit::author {

struct View {
    const char* name = "";
    float* data = nullptr;  // address of element [0, ..., 0] (host or device)
    int nd = 0;
    int64_t shape[VE_MAX_DIMS] = {0, 0, 0, 0};
    int64_t stride[VE_MAX_DIMS] = {0, 0, 0, 0};
    int64_t numel = 0;

    int64_t last() const { return shape[nd - 1]; }
    int64_t rows() const { return last() == 0 ? 0 : numel / last(); }
    bool contiguous() const {
        int64_t expect = 1;
        for (int i = nd - 1; i >= 0; --i) {
            if (shape[i] != 1 && stride[i] != expect) return false;
            expect *= shape[i];
        }
        return true;
    }
};

[[noreturn]] inline void fail(const std::string& message) { throw Invalid(message); }

// "x [3,5,7] strides [35,7,1]"
inline std::string describe(const View& v) {
    auto list = [](const int64_t* x, int n) {
        std::string s = "[";
        for (int i = 0; i < n; ++i) s += (i ? "," : "") + std::to_string(x[i]);
        return s + "]";
    };
    return std::string(v.name) + " " + list(v.shape, v.nd) + " strides " + list(v.stride, v.nd);
}

// Checks dtype (F32), ndim (1..4), non-negative shape and strides, an aligned offset and that the
// extent does not overflow; `locate(buffer, offset, bytes, name)` is the backend's own lookup,
// which must check the buffer is known and that [offset, offset + bytes) lies inside it, and
// returns the address at `offset`.
template <class Locate>
View make_view(const ve_tensor* t, const char* name, Locate&& locate) {
    if (!t) fail(std::string(name) + " is NULL");
    View v;
    v.name = name;
    if (t->dtype == VE_BF16 || t->dtype == VE_I32)
        throw Unsupported(std::string(name) + ": dtype " + (t->dtype == VE_BF16 ? "BF16" : "I32") +
                          " (this backend computes in F32 only)");
    if (t->dtype != VE_F32) fail(std::string(name) + ": unknown dtype " + std::to_string(t->dtype));
    if (t->ndim < 1 || t->ndim > VE_MAX_DIMS)
        fail(std::string(name) + ": ndim " + std::to_string(t->ndim) + " outside 1..4");
    v.nd = t->ndim;
    v.numel = 1;
    for (int i = 0; i < v.nd; ++i) {
        v.shape[i] = t->shape[i];
        v.stride[i] = t->stride[i];
    }
    for (int i = 0; i < v.nd; ++i) {
        if (v.shape[i] < 0 || v.stride[i] < 0) fail(describe(v) + ": negative shape or stride");
        if (v.shape[i] > 0 && v.numel > INT64_MAX / v.shape[i]) fail(describe(v) + ": too large");
        v.numel *= v.shape[i];
    }
    if (t->offset % sizeof(float) != 0)
        fail(describe(v) + ": byte offset " + std::to_string(t->offset) + " is not a multiple of 4");
    // Highest element addressed, checked against the allocation (also when empty: the offset).
    uint64_t span = 0;
    if (v.numel > 0) {
        span = 1;
        for (int i = 0; i < v.nd; ++i) {
            const uint64_t reach = static_cast<uint64_t>(v.shape[i] - 1) * static_cast<uint64_t>(v.stride[i]);
            if (v.stride[i] != 0 && reach / static_cast<uint64_t>(v.stride[i]) != static_cast<uint64_t>(v.shape[i] - 1))
                fail(describe(v) + ": extent overflows");
            span += reach;
        }
    }
    if (span > UINT64_MAX / sizeof(float)) fail(describe(v) + ": extent overflows");
    unsigned char* base = locate(t->buffer, t->offset, span * sizeof(float), name);
    v.data = reinterpret_cast<float*>(base);
    return v;
}

inline void require_contiguous(const View& v) {
    if (!v.contiguous()) fail(describe(v) + " must be contiguous (row-major dense)");
}

inline void require_ndim(const View& v, int lo, int hi) {
    if (v.nd < lo || v.nd > hi)
        fail(describe(v) + ": expected " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi)) +
             " dims");
}

inline void require_same_shape(const View& a, const View& b) {
    bool same = a.nd == b.nd;
    for (int i = 0; same && i < a.nd; ++i) same = a.shape[i] == b.shape[i];
    if (!same) fail("shape mismatch: " + describe(a) + " vs " + describe(b));
}

// A parameter-like vector: contiguous with `n` elements (any shape, e.g. [C] or [1, 1, C]).
inline void require_vector(const View& v, int64_t n, const char* meaning) {
    if (v.numel != n) fail(describe(v) + ": expected " + std::to_string(n) + " elements (" + meaning + ")");
    require_contiguous(v);
}

// No dim of size > 1 with stride 0 (an output whose elements would overlap).
inline void require_no_zero_stride(const View& v, const char* role) {
    for (int i = 0; i < v.nd; ++i)
        if (v.shape[i] > 1 && v.stride[i] == 0)
            fail(describe(v) + ": the " + role + " has a zero stride (elements overlap)");
}

// Optimizer arguments: every state tensor matches the parameter w (all contiguous), and a mask
// has one value per row (VE_MASK_ROWS) or column (VE_MASK_COLS) of w's [rows, last] view.
inline void require_param_state(const View& w, std::initializer_list<const View*> same) {
    require_contiguous(w);
    for (const View* v : same) {
        require_same_shape(*v, w);
        require_contiguous(*v);
    }
}
inline void require_mask(const View& mask, int axis, const View& w) {
    if (axis != VE_MASK_ROWS && axis != VE_MASK_COLS)
        fail("mask axis " + std::to_string(axis) + " is neither VE_MASK_ROWS (0) nor VE_MASK_COLS (1)");
    require_vector(mask, axis == VE_MASK_ROWS ? w.rows() : w.last(),
                   axis == VE_MASK_ROWS ? "one per row of the [R, C] parameter view"
                                        : "one per column of the [R, C] parameter view");
}

// Cross-entropy arguments beyond the logits view ([N, K], contiguous): labels in [0, K), the
// smoothing in [0, 1].
inline void require_labels(const View& logits, const int32_t* labels, float label_smoothing) {
    const int64_t N = logits.shape[0], K = logits.shape[1];
    if (N > 0 && !labels) fail("labels is NULL");
    if (!(label_smoothing >= 0.0f && label_smoothing <= 1.0f))
        fail("label_smoothing " + std::to_string(label_smoothing) + " outside [0, 1]");
    if (N > 0 && K == 0) fail(describe(logits) + ": no classes");
    for (int64_t n = 0; n < N; ++n)
        if (labels[n] < 0 || labels[n] >= K)
            fail("labels[" + std::to_string(n) + "] = " + std::to_string(labels[n]) + " outside [0, " +
                 std::to_string(K) + ") for " + describe(logits));
}

// gather_units / scatter_units arguments: `whole` a contiguous [R, C] matrix, `part` its
// contiguous selection of `count` rows (VE_MASK_ROWS) or columns (VE_MASK_COLS), every index in
// range.
inline void require_units(const View& whole, const View& part, int axis, const int32_t* index, int64_t count) {
    require_ndim(whole, 2, 2);
    require_ndim(part, 2, 2);
    require_contiguous(whole);
    require_contiguous(part);
    if (axis != VE_MASK_ROWS && axis != VE_MASK_COLS) fail("axis " + std::to_string(axis) + " (must be rows 0 or columns 1)");
    const int64_t R = whole.shape[0], C = whole.shape[1];
    const int64_t want_r = axis == VE_MASK_ROWS ? count : R, want_c = axis == VE_MASK_ROWS ? C : count;
    if (part.shape[0] != want_r || part.shape[1] != want_c)
        fail("the selection is [" + std::to_string(part.shape[0]) + "," + std::to_string(part.shape[1]) + "], expected [" +
             std::to_string(want_r) + "," + std::to_string(want_c) + "]");
    if (count > 0 && !index) fail("no index array");
    const int64_t limit = axis == VE_MASK_ROWS ? R : C;
    for (int64_t i = 0; i < count; ++i)
        if (index[i] < 0 || index[i] >= limit)
            fail("index " + std::to_string(index[i]) + " out of range 0.." + std::to_string(limit - 1));
}

// linear_fwd arguments: x [M, K] and w [N, K] 2-D (their chaining is the GEMM's check), y [M, N]
// contiguous, the activation none or GELU, a bias (when given) one contiguous value per column of y.
inline void require_linear(const View& x, const View& w, const View* bias, int act, const View& y) {
    if (act != VE_ACT_NONE && act != VE_ACT_GELU) fail("act " + std::to_string(act) + " (must be none 0 or gelu 1)");
    require_ndim(x, 2, 2);
    require_ndim(w, 2, 2);
    require_ndim(y, 2, 2);
    require_contiguous(y);
    if (bias) {
        require_contiguous(*bias);
        require_vector(*bias, y.shape[1], "the last dim of y");
    }
}

// LayerNorm forward: y like x (both contiguous), gamma and beta one per channel.
inline void require_layernorm_fwd_inputs(const View& x, const View& y, const View& gamma, const View& beta) {
    require_same_shape(x, y);
    require_contiguous(x);
    require_contiguous(y);
    require_vector(gamma, x.last(), "the last dim of x");
    require_vector(beta, x.last(), "the last dim of x");
}

// KL-divergence inputs: logits [N, K] and a target of the same shape, contiguous.
inline void require_kl_inputs(const View& logits, const View& target) {
    require_ndim(logits, 2, 2);
    require_contiguous(logits);
    require_same_shape(target, logits);
    require_contiguous(target);
}

// LayerNorm backward inputs: dy like x (contiguous), gamma one per channel, mean/rstd one per row.
inline void require_layernorm_bwd_inputs(const View& dy, const View& x, const View& gamma, const View& mean,
                                         const View& rstd) {
    require_same_shape(dy, x);
    require_contiguous(dy);
    require_contiguous(x);
    require_vector(gamma, x.last(), "the last dim of x");
    require_vector(mean, x.rows(), "one per row of x");
    require_vector(rstd, x.rows(), "one per row of x");
}

}  // namespace vitedit::author

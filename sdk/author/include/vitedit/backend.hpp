// vitedit — the C++ view of a backend over its C table: RAII tensors and checked op calls.
//
// vitedit::Backend wraps a created ve_backend. Every op call checks its status and throws
// vitedit::Error naming the op and the backend ("onednn.gemm: ..."); an extension op the backend
// does not provide is reported as unsupported by name, or (linear_fwd) computed from core ops.
//
// Header-only, part of the author layer: a plugin that uses it compiles it in and imports
// nothing from any vitedit library (every call goes through the C table).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <sstream>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "vitedit/backend.h"
#include "vitedit/boundary.hpp"

namespace vitedit {

struct Error : std::runtime_error { using std::runtime_error::runtime_error; };

class Backend;

// A shape of up to 4 dims.
using Shape = std::vector<int64_t>;
inline int64_t shape_numel(const Shape& s);
inline std::string shape_str(const Shape& s);

// A view into a reference-counted backend buffer. Copying a Tensor copies the view, not data.
class Tensor {
public:
    Tensor() = default;
    // A non-owning view of a tensor another party owns (e.g. a site weight handed to a plugin).
    // The owner must outlive the view; bounds of further views cannot be checked.
    static inline Tensor wrap(std::shared_ptr<Backend> backend, const ve_tensor& desc);
    const ve_tensor& desc() const { return d_; }
    const ve_tensor* ptr() const { return &d_; }
    Shape shape() const { return Shape(d_.shape, d_.shape + d_.ndim); }
    int64_t dim(int i) const { return d_.shape[i < 0 ? d_.ndim + i : i]; }
    int ndim() const { return d_.ndim; }
    int64_t numel() const;
    bool defined() const { return static_cast<bool>(storage_); }
    bool contiguous() const;
    Backend& backend() const;

    // Views (no copies). reshape requires a contiguous tensor.
    Tensor reshape(const Shape& shape) const;
    // Elements [begin, end) of the leading dim.
    Tensor slice(int64_t begin, int64_t end) const;
    // General strided view with an element offset relative to this view's start.
    Tensor view(const Shape& shape, const Shape& strides, int64_t elem_offset) const;
    // Swap the last two dims (a transposed view).
    Tensor t() const;

    // Host transfers (f32).
    void upload(const float* src, int64_t n) const;
    void upload(const std::vector<float>& v) const { upload(v.data(), static_cast<int64_t>(v.size())); }
    std::vector<float> download() const;  // contiguous tensors only
    void download(float* dst) const;       // numel() floats into dst, contiguous tensors only

private:
    friend class Backend;
    struct Storage;
    std::shared_ptr<Storage> storage_;
    ve_tensor d_{};
};

// An instance of a backend library. Not copyable; Tensors keep it alive via their storage.
class Backend : public std::enable_shared_from_this<Backend> {
public:
    inline Backend(std::string name, ve_backend be, std::shared_ptr<void> library_keepalive);
    // A non-owning wrapper over an instance someone else created (the host's backend as a
    // plugin sees it): destroying the wrapper leaves the instance alone.
    static inline std::shared_ptr<Backend> borrow(const ve_backend& be, std::string name = "host backend");
    inline ~Backend();
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    const std::string& name() const { return name_; }
    const ve_backend& raw() const { return be_; }

    Tensor empty(const Shape& shape);                        // contents undefined
    Tensor zeros(const Shape& shape);
    Tensor from_host(const Shape& shape, const float* data);
    Tensor from_host(const Shape& shape, const std::vector<float>& data);
    void synchronize();

    // ---- checked op calls (see vitedit/backend.h for the semantics) ----
    void copy(const Tensor& src, const Tensor& dst);
    void fill(const Tensor& dst, float v);
    void axpby(float alpha, const Tensor& x, float beta, const Tensor& y);
    void add(const Tensor& a, const Tensor& b, const Tensor& out);
    void gemm(bool ta, bool tb, float alpha, const Tensor& a, const Tensor& b, float beta,
              const Tensor& c);
    // Multiply-add FLOPs (2*M*N*K per product) of every gemm issued through this wrapper since
    // it was made: what `vitedit perf` divides by the GEMM rate to get the arithmetic limit.
    double gemm_flops() const { return gemm_flops_; }
    void bias_add(const Tensor& y, const Tensor& bias);
    void bias_grad(const Tensor& dy, const Tensor& dbias, float beta);
    void layernorm_fwd(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps,
                       const Tensor& y, const Tensor* mean, const Tensor* rstd);
    void layernorm_bwd(const Tensor& dy, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                       const Tensor& rstd, const Tensor* dx, float dx_beta, const Tensor* dgamma,
                       const Tensor* dbeta, float param_beta);
    void gelu_fwd(const Tensor& x, const Tensor& y);
    void gelu_bwd(const Tensor& dy, const Tensor& x, const Tensor& dx);
    void softmax_fwd(const Tensor& x, float scale, const Tensor& y);
    void softmax_bwd(const Tensor& dy, const Tensor& y, float scale, const Tensor& dx);
    void im2col(const Tensor& images, int patch, const Tensor& cols);
    void col2im(const Tensor& dcols, int patch, float beta, const Tensor& dimages);
    void tokens_fwd(const Tensor& patches, const Tensor& cls, const Tensor& pos, const Tensor& tokens);
    void tokens_bwd(const Tensor& dtokens, const Tensor* dpatches, const Tensor* dcls,
                    const Tensor* dpos, float param_beta);
    // Returns per-sample losses.
    std::vector<float> cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels,
                                     float label_smoothing, const Tensor* dlogits, float grad_scale);
    std::vector<float> kl_div(const Tensor& logits, const Tensor& target, float temperature,
                              const Tensor* dlogits, float grad_scale);
    void sgd_step(const Tensor& w, const Tensor& g, const Tensor* mask, int axis, float lr,
                  float weight_decay);
    void rmsprop_step(const Tensor& w, const Tensor& g, const Tensor& sq, const Tensor* mask,
                      int axis, float lr, float alpha, float eps);
    void adam_step(const Tensor& w, const Tensor& g, const Tensor& m, const Tensor& v,
                   const Tensor* mask, int axis, float lr, float beta1, float beta2, float eps,
                   float weight_decay, int64_t step);
    // Extension VE_EXT_PENALTY (the FT editors).
    bool has_penalty() const { return penalty_ != nullptr; }
    void penalty_grad(const Tensor& w, const Tensor& w0, const Tensor& g, float c, int p);
    // Extension VE_EXT_UNITS (see backend.h). has_unit_ops(): whether this backend provides it.
    bool has_unit_ops() const { return units_ != nullptr; }
    void gather_units(const Tensor& src, int axis, const std::vector<int32_t>& index, const Tensor& dst);
    void scatter_units(const Tensor& src, int axis, const std::vector<int32_t>& index, const Tensor& dst);
    // Extension VE_EXT_LINEAR: y = act(x @ w^T + bias) (bias may be null; act VE_ACT_NONE or
    // VE_ACT_GELU), in one op where the backend fuses it (has_fused_linear()), else as gemm,
    // bias_add and gelu_fwd.
    bool has_fused_linear() const { return linear_ != nullptr; }
    void linear_fwd(const Tensor& x, const Tensor& w, const Tensor* bias, int act, const Tensor& y);

    // Throws vitedit::Error "<backend>.<op>: <message>" when status != VE_OK.
    void check(ve_status st, const char* op) const;
    // Throws when the backend left an op entry NULL.
    [[noreturn]] void unsupported(const char* op) const;

private:
    std::string name_;
    ve_backend be_;
    std::shared_ptr<void> keepalive_;
    bool owned_ = true;
    double gemm_flops_ = 0;
    // The extensions this instance provides (NULL: absent), asked once at construction.
    const ve_ext_penalty* penalty_ = nullptr;
    const ve_ext_units* units_ = nullptr;
    const ve_ext_linear* linear_ = nullptr;
};

// ---- definitions (inline: the header is the whole wrapper) ----------------------------------


inline int64_t shape_numel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

inline std::string shape_str(const Shape& s) {
    std::ostringstream o;
    o << "[";
    for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i];
    o << "]";
    return o.str();
}

// One backend allocation. Freed by the backend that made it when the last view goes.
struct Tensor::Storage {
    std::shared_ptr<Backend> backend;
    ve_buffer buffer = nullptr;
    uint64_t bytes = 0;
    bool owned = true;
    ~Storage() {
        if (buffer && owned) backend->raw().ops->free(backend->raw().ctx, buffer);
    }
};

inline Tensor Tensor::wrap(std::shared_ptr<Backend> backend, const ve_tensor& desc) {
    if (desc.ndim < 1 || desc.ndim > VE_MAX_DIMS) throw Error("wrap: bad tensor rank " + std::to_string(desc.ndim));
    Tensor t;
    auto st = std::make_shared<Storage>();
    st->backend = std::move(backend);
    st->buffer = desc.buffer;
    st->bytes = UINT64_MAX;  // unknown: owned elsewhere
    st->owned = false;
    t.storage_ = std::move(st);
    t.d_ = desc;
    return t;
}

inline int64_t Tensor::numel() const {
    int64_t n = 1;
    for (int i = 0; i < d_.ndim; ++i) n *= d_.shape[i];
    return n;
}

inline bool Tensor::contiguous() const {
    int64_t expect = 1;
    for (int i = d_.ndim - 1; i >= 0; --i) {
        if (d_.shape[i] != 1 && d_.stride[i] != expect) return false;
        expect *= d_.shape[i];
    }
    return true;
}

inline Backend& Tensor::backend() const {
    if (!storage_) throw Error("use of an undefined tensor");
    return *storage_->backend;
}

inline void set_contiguous(ve_tensor& d, const Shape& shape) {
    if (shape.empty() || shape.size() > VE_MAX_DIMS)
        throw Error("tensor rank must be 1.." + std::to_string(VE_MAX_DIMS) + ", got " + shape_str(shape));
    d.ndim = static_cast<int32_t>(shape.size());
    int64_t s = 1;
    for (int i = d.ndim - 1; i >= 0; --i) {
        if (shape[i] < 0) throw Error("negative dimension in shape " + shape_str(shape));
        d.shape[i] = shape[i];
        d.stride[i] = s;
        s *= shape[i];
    }
    for (int i = d.ndim; i < VE_MAX_DIMS; ++i) d.shape[i] = 1, d.stride[i] = 0;
}

inline Tensor Tensor::reshape(const Shape& shape) const {
    if (!contiguous()) throw Error("reshape of a non-contiguous view " + shape_str(this->shape()));
    if (shape_numel(shape) != numel())
        throw Error("reshape " + shape_str(this->shape()) + " -> " + shape_str(shape) + ": sizes differ");
    Tensor t = *this;
    set_contiguous(t.d_, shape);
    return t;
}

inline Tensor Tensor::slice(int64_t begin, int64_t end) const {
    if (begin < 0 || end > d_.shape[0] || begin > end)
        throw Error("slice [" + std::to_string(begin) + "," + std::to_string(end) + ") of " + shape_str(shape()));
    Tensor t = *this;
    t.d_.shape[0] = end - begin;
    t.d_.offset += static_cast<uint64_t>(begin * d_.stride[0]) * sizeof(float);
    return t;
}

inline Tensor Tensor::view(const Shape& shape, const Shape& strides, int64_t elem_offset) const {
    if (shape.size() != strides.size() || shape.empty() || shape.size() > VE_MAX_DIMS)
        throw Error("view: shape " + shape_str(shape) + " and strides " + shape_str(strides) + " do not match");
    // Bounds check against the allocation: the furthest element must lie inside it.
    int64_t last = elem_offset;
    for (size_t i = 0; i < shape.size(); ++i) last += (shape[i] - 1) * strides[i];
    int64_t start = static_cast<int64_t>(d_.offset / sizeof(float)) + elem_offset;
    if (elem_offset < 0 || (shape_numel(shape) > 0 && storage_->bytes != UINT64_MAX &&
        static_cast<uint64_t>(start + last - elem_offset + 1) * sizeof(float) > storage_->bytes))
        throw Error("view " + shape_str(shape) + " strides " + shape_str(strides) + " exceeds its buffer");
    Tensor t = *this;
    t.d_.ndim = static_cast<int32_t>(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) t.d_.shape[i] = shape[i], t.d_.stride[i] = strides[i];
    t.d_.offset = static_cast<uint64_t>(start) * sizeof(float);
    return t;
}

inline Tensor Tensor::t() const {
    if (d_.ndim < 2) throw Error("t() needs at least 2 dims");
    Tensor t = *this;
    std::swap(t.d_.shape[d_.ndim - 1], t.d_.shape[d_.ndim - 2]);
    std::swap(t.d_.stride[d_.ndim - 1], t.d_.stride[d_.ndim - 2]);
    return t;
}

inline void Tensor::upload(const float* src, int64_t n) const {
    if (!contiguous() || n != numel())
        throw Error("upload of " + std::to_string(n) + " floats into " + shape_str(shape()));
    Backend& b = backend();
    b.check(b.raw().ops->upload(b.raw().ctx, d_.buffer, d_.offset, src, n * sizeof(float)), "upload");
}

inline std::vector<float> Tensor::download() const {
    std::vector<float> out(static_cast<size_t>(numel()));
    download(out.data());
    return out;
}

inline void Tensor::download(float* dst) const {
    if (!contiguous()) throw Error("download of a non-contiguous view " + shape_str(shape()));
    Backend& b = backend();
    b.check(b.raw().ops->download(b.raw().ctx, d_.buffer, d_.offset, dst, static_cast<uint64_t>(numel()) * sizeof(float)),
            "download");
}

inline Backend::Backend(std::string name, ve_backend be, std::shared_ptr<void> keepalive)
    : name_(std::move(name)), be_(be), keepalive_(std::move(keepalive)) {
    if (!be_.ops || be_.ops->struct_size < offsetof(ve_backend_ops, get_extension) + sizeof(void*))
        throw Error("backend '" + name_ + "': its op table is older than ABI " + std::to_string(VITEDIT_ABI_MAJOR) + ".0");
    penalty_ = boundary::extension<ve_ext_penalty>(be_, VE_EXT_PENALTY);
    units_ = boundary::extension<ve_ext_units>(be_, VE_EXT_UNITS);
    linear_ = boundary::extension<ve_ext_linear>(be_, VE_EXT_LINEAR);
}

inline Backend::~Backend() {
    if (owned_ && be_.ops && be_.ops->destroy) be_.ops->destroy(be_.ctx);
}

inline std::shared_ptr<Backend> Backend::borrow(const ve_backend& be, std::string name) {
    auto b = std::make_shared<Backend>(std::move(name), be, nullptr);
    b->owned_ = false;
    return b;
}

inline void Backend::check(ve_status st, const char* op) const {
    if (st == VE_OK) return;
    const char* msg = be_.ops->last_error ? be_.ops->last_error(be_.ctx) : nullptr;
    std::string m = msg && *msg ? msg : std::string(name_) + "." + op + ": failed with status " + std::to_string(st);
    if (st == VE_ERR_UNSUPPORTED && m.find("unsupported") == std::string::npos)
        m = "op '" + std::string(op) + "' is not supported by backend '" + name_ + "': " + m;
    throw Error(m);
}

[[noreturn]] inline void Backend::unsupported(const char* op) const {
    throw Error("op '" + std::string(op) + "' is not supported by backend '" + name_ + "'");
}

inline Tensor Backend::empty(const Shape& shape) {
    Tensor t;
    set_contiguous(t.d_, shape);
    auto st = std::make_shared<Tensor::Storage>();
    st->backend = shared_from_this();
    st->bytes = static_cast<uint64_t>(std::max<int64_t>(shape_numel(shape), 1)) * sizeof(float);
    check(be_.ops->alloc(be_.ctx, st->bytes, &st->buffer), "alloc");
    t.storage_ = std::move(st);
    t.d_.buffer = t.storage_->buffer;
    t.d_.offset = 0;
    t.d_.dtype = VE_F32;
    return t;
}

inline Tensor Backend::zeros(const Shape& shape) {
    Tensor t = empty(shape);
    fill(t, 0.0f);
    return t;
}

inline Tensor Backend::from_host(const Shape& shape, const float* data) {
    Tensor t = empty(shape);
    t.upload(data, shape_numel(shape));
    return t;
}

inline Tensor Backend::from_host(const Shape& shape, const std::vector<float>& data) {
    if (static_cast<int64_t>(data.size()) != shape_numel(shape))
        throw Error("from_host: " + std::to_string(data.size()) + " values for shape " + shape_str(shape));
    return from_host(shape, data.data());
}

inline void Backend::synchronize() { check(be_.ops->synchronize(be_.ctx), "synchronize"); }

// Calls a core op entry (the host checked at load that none is NULL).
#define VE_CALL(op, ...) check(be_.ops->op(be_.ctx, __VA_ARGS__), #op)

namespace detail {
inline const ve_tensor* opt(const Tensor* t) { return t ? t->ptr() : nullptr; }
}  // namespace detail
using detail::opt;

inline void Backend::copy(const Tensor& s, const Tensor& d) { VE_CALL(copy, s.ptr(), d.ptr()); }
inline void Backend::fill(const Tensor& d, float v) { VE_CALL(fill, d.ptr(), v); }
inline void Backend::axpby(float a, const Tensor& x, float b, const Tensor& y) { VE_CALL(axpby, a, x.ptr(), b, y.ptr()); }
inline void Backend::add(const Tensor& a, const Tensor& b, const Tensor& o) { VE_CALL(add, a.ptr(), b.ptr(), o.ptr()); }
inline void Backend::gemm(bool ta, bool tb, float alpha, const Tensor& a, const Tensor& b, float beta, const Tensor& c) {
    const int64_t k = ta ? a.dim(-2) : a.dim(-1);
    check(be_.ops->gemm(be_.ctx, ta ? 1 : 0, tb ? 1 : 0, alpha, a.ptr(), b.ptr(), beta, c.ptr()), "gemm");
    gemm_flops_ += 2.0 * static_cast<double>(c.numel()) * static_cast<double>(k);
}
inline void Backend::bias_add(const Tensor& y, const Tensor& bias) { VE_CALL(bias_add, y.ptr(), bias.ptr()); }
inline void Backend::bias_grad(const Tensor& dy, const Tensor& db, float beta) { VE_CALL(bias_grad, dy.ptr(), db.ptr(), beta); }
inline void Backend::layernorm_fwd(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y,
                            const Tensor* mean, const Tensor* rstd) {
    VE_CALL(layernorm_fwd, x.ptr(), g.ptr(), b.ptr(), eps, y.ptr(), opt(mean), opt(rstd));
}
inline void Backend::layernorm_bwd(const Tensor& dy, const Tensor& x, const Tensor& g, const Tensor& mean,
                            const Tensor& rstd, const Tensor* dx, float dx_beta, const Tensor* dg,
                            const Tensor* db, float pb) {
    VE_CALL(layernorm_bwd, dy.ptr(), x.ptr(), g.ptr(), mean.ptr(), rstd.ptr(), opt(dx), dx_beta, opt(dg), opt(db), pb);
}
inline void Backend::gelu_fwd(const Tensor& x, const Tensor& y) { VE_CALL(gelu_fwd, x.ptr(), y.ptr()); }
inline void Backend::gelu_bwd(const Tensor& dy, const Tensor& x, const Tensor& dx) { VE_CALL(gelu_bwd, dy.ptr(), x.ptr(), dx.ptr()); }
inline void Backend::softmax_fwd(const Tensor& x, float s, const Tensor& y) { VE_CALL(softmax_fwd, x.ptr(), s, y.ptr()); }
inline void Backend::softmax_bwd(const Tensor& dy, const Tensor& y, float s, const Tensor& dx) {
    VE_CALL(softmax_bwd, dy.ptr(), y.ptr(), s, dx.ptr());
}
inline void Backend::im2col(const Tensor& im, int p, const Tensor& cols) { VE_CALL(im2col, im.ptr(), p, cols.ptr()); }
inline void Backend::col2im(const Tensor& dc, int p, float beta, const Tensor& di) { VE_CALL(col2im, dc.ptr(), p, beta, di.ptr()); }
inline void Backend::tokens_fwd(const Tensor& pa, const Tensor& cls, const Tensor& pos, const Tensor& tok) {
    VE_CALL(tokens_fwd, pa.ptr(), cls.ptr(), pos.ptr(), tok.ptr());
}
inline void Backend::tokens_bwd(const Tensor& dt, const Tensor* dp, const Tensor* dc, const Tensor* dpos, float pb) {
    VE_CALL(tokens_bwd, dt.ptr(), opt(dp), opt(dc), opt(dpos), pb);
}
inline std::vector<float> Backend::cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels, float ls,
                                          const Tensor* dlogits, float gs) {
    if (logits.ndim() != 2 || static_cast<int64_t>(labels.size()) != logits.dim(0))
        throw Error("cross_entropy: " + std::to_string(labels.size()) + " labels for logits " + shape_str(logits.shape()));
    std::vector<float> loss(labels.size());
    VE_CALL(cross_entropy, logits.ptr(), labels.data(), ls, loss.data(), opt(dlogits), gs);
    return loss;
}
inline std::vector<float> Backend::kl_div(const Tensor& logits, const Tensor& target, float T, const Tensor* dlogits, float gs) {
    std::vector<float> loss(static_cast<size_t>(logits.dim(0)));
    VE_CALL(kl_div, logits.ptr(), target.ptr(), T, loss.data(), opt(dlogits), gs);
    return loss;
}
inline void Backend::sgd_step(const Tensor& w, const Tensor& g, const Tensor* mask, int axis, float lr, float wd) {
    VE_CALL(sgd_step, w.ptr(), g.ptr(), opt(mask), axis, lr, wd);
}
inline void Backend::rmsprop_step(const Tensor& w, const Tensor& g, const Tensor& sq, const Tensor* mask, int axis,
                           float lr, float alpha, float eps) {
    VE_CALL(rmsprop_step, w.ptr(), g.ptr(), sq.ptr(), opt(mask), axis, lr, alpha, eps);
}
inline void Backend::adam_step(const Tensor& w, const Tensor& g, const Tensor& m, const Tensor& v, const Tensor* mask,
                        int axis, float lr, float b1, float b2, float eps, float wd, int64_t step) {
    VE_CALL(adam_step, w.ptr(), g.ptr(), m.ptr(), v.ptr(), opt(mask), axis, lr, b1, b2, eps, wd, step);
}

inline void Backend::penalty_grad(const Tensor& w, const Tensor& w0, const Tensor& g, float c, int p) {
    if (!penalty_) unsupported("penalty_grad (extension " VE_EXT_PENALTY ")");
    check(penalty_->penalty_grad(be_.ctx, w.ptr(), w0.ptr(), g.ptr(), c, p), "penalty_grad");
}
inline void Backend::gather_units(const Tensor& src, int axis, const std::vector<int32_t>& index, const Tensor& dst) {
    if (!units_) unsupported("gather_units (extension " VE_EXT_UNITS ")");
    check(units_->gather_units(be_.ctx, src.ptr(), axis, index.data(), static_cast<int64_t>(index.size()), dst.ptr()), "gather_units");
}
inline void Backend::scatter_units(const Tensor& src, int axis, const std::vector<int32_t>& index, const Tensor& dst) {
    if (!units_) unsupported("scatter_units (extension " VE_EXT_UNITS ")");
    check(units_->scatter_units(be_.ctx, src.ptr(), axis, index.data(), static_cast<int64_t>(index.size()), dst.ptr()), "scatter_units");
}
inline void Backend::linear_fwd(const Tensor& x, const Tensor& w, const Tensor* bias, int act, const Tensor& y) {
    if (act != VE_ACT_NONE && act != VE_ACT_GELU) throw Error("linear_fwd: unknown activation " + std::to_string(act));
    if (!linear_) {
        const Tensor pre = act == VE_ACT_NONE ? y : empty(y.shape());
        gemm(false, true, 1.0f, x, w, 0.0f, pre);
        if (bias && bias->defined()) bias_add(pre, *bias);
        if (act == VE_ACT_GELU) gelu_fwd(pre, y);
        return;
    }
    const ve_tensor* b = bias && bias->defined() ? bias->ptr() : nullptr;
    check(linear_->linear_fwd(be_.ctx, x.ptr(), w.ptr(), b, act, y.ptr()), "linear_fwd");
    gemm_flops_ += 2.0 * static_cast<double>(y.numel()) * static_cast<double>(x.dim(-1));
}

#undef VE_CALL

}  // namespace vitedit

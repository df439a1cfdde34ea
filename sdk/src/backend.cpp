// vitedit — Tensor views and checked backend calls (the engine-side half of the boundary).
#include "vitedit/backend.hpp"

#include <atomic>
#include <cstddef>
#include <mutex>
#include <sstream>
#include <type_traits>

namespace vitedit {

int64_t shape_numel(const Shape& s) {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    return n;
}

std::string shape_str(const Shape& s) {
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

Tensor Tensor::wrap(std::shared_ptr<Backend> backend, const ve_tensor& desc) {
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

int64_t Tensor::numel() const { return shape_numel(shape()); }

bool Tensor::contiguous() const {
    int64_t expect = 1;
    for (int i = d_.ndim - 1; i >= 0; --i) {
        if (d_.shape[i] != 1 && d_.stride[i] != expect) return false;
        expect *= d_.shape[i];
    }
    return true;
}

Backend& Tensor::backend() const {
    if (!storage_) throw Error("use of an undefined tensor");
    return *storage_->backend;
}

static void set_contiguous(ve_tensor& d, const Shape& shape) {
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

Tensor Tensor::reshape(const Shape& shape) const {
    if (!contiguous()) throw Error("reshape of a non-contiguous view " + shape_str(this->shape()));
    if (shape_numel(shape) != numel())
        throw Error("reshape " + shape_str(this->shape()) + " -> " + shape_str(shape) + ": sizes differ");
    Tensor t = *this;
    set_contiguous(t.d_, shape);
    return t;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
    if (begin < 0 || end > d_.shape[0] || begin > end)
        throw Error("slice [" + std::to_string(begin) + "," + std::to_string(end) + ") of " + shape_str(shape()));
    Tensor t = *this;
    t.d_.shape[0] = end - begin;
    t.d_.offset += static_cast<uint64_t>(begin * d_.stride[0]) * sizeof(float);
    return t;
}

Tensor Tensor::view(const Shape& shape, const Shape& strides, int64_t elem_offset) const {
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

Tensor Tensor::t() const {
    if (d_.ndim < 2) throw Error("t() needs at least 2 dims");
    Tensor t = *this;
    std::swap(t.d_.shape[d_.ndim - 1], t.d_.shape[d_.ndim - 2]);
    std::swap(t.d_.stride[d_.ndim - 1], t.d_.stride[d_.ndim - 2]);
    return t;
}

void Tensor::upload(const float* src, int64_t n) const {
    if (!contiguous() || n != numel())
        throw Error("upload of " + std::to_string(n) + " floats into " + shape_str(shape()));
    Backend& b = backend();
    b.check(b.raw().ops->upload(b.raw().ctx, d_.buffer, d_.offset, src, n * sizeof(float)), "upload");
}

std::vector<float> Tensor::download() const {
    std::vector<float> out(static_cast<size_t>(numel()));
    download(out.data());
    return out;
}

void Tensor::download(float* dst) const {
    if (!contiguous()) throw Error("download of a non-contiguous view " + shape_str(shape()));
    Backend& b = backend();
    b.check(b.raw().ops->download(b.raw().ctx, d_.buffer, d_.offset, dst, static_cast<uint64_t>(numel()) * sizeof(float)),
            "download");
}

Backend::Backend(std::string name, ve_backend be, std::shared_ptr<void> keepalive)
    : name_(std::move(name)), be_(be), keepalive_(std::move(keepalive)) {}

Backend::~Backend() {
    if (owned_ && be_.ops && be_.ops->destroy) be_.ops->destroy(be_.ctx);
}

std::shared_ptr<Backend> Backend::borrow(const ve_backend& be, std::string name) {
    auto b = std::make_shared<Backend>(std::move(name), be, nullptr);
    b->owned_ = false;
    return b;
}

void Backend::check(ve_status st, const char* op) const {
    if (st == VE_OK) return;
    const char* msg = be_.ops->last_error ? be_.ops->last_error(be_.ctx) : nullptr;
    std::string m = msg && *msg ? msg : std::string(name_) + "." + op + ": failed with status " + std::to_string(st);
    if (st == VE_ERR_UNSUPPORTED && m.find("unsupported") == std::string::npos)
        m = "op '" + std::string(op) + "' is not supported by backend '" + name_ + "': " + m;
    throw Error(m);
}

void Backend::unsupported(const char* op) const {
    throw Error("op '" + std::string(op) + "' is not supported by backend '" + name_ + "'");
}

// Times one op call when profiling is on (Backend::set_profiling): from the call to a
// synchronize after it, so asynchronous backends are charged where the work was issued.
namespace {
std::atomic<bool> g_profiling{false};
std::mutex g_profile_mutex;
std::map<std::string, Backend::OpTime> g_profile;
}  // namespace

void Backend::set_profiling(bool on) { g_profiling = on; }
void Backend::reset_profile() {
    std::lock_guard<std::mutex> lock(g_profile_mutex);
    g_profile.clear();
}
std::map<std::string, Backend::OpTime> Backend::profile() {
    std::lock_guard<std::mutex> lock(g_profile_mutex);
    return g_profile;
}

struct OpTimer {
    OpTimer(Backend& b, const char* o) : be(b), op(o) {}
    // Runs call(); when profiling, times it as `op`, or for a product under key() with its flops.
    template <class Call, class Key = std::nullptr_t>
    static void run(Backend& b, const char* op, Call&& call, double flops = 0, Key&& key = nullptr) {
        if (!g_profiling.load(std::memory_order_relaxed)) return call();
        OpTimer timer(b, op);
        timer.flops = flops;
        if constexpr (!std::is_same_v<std::decay_t<Key>, std::nullptr_t>) timer.key = key();
        call();
    }
    Backend& be;
    const char* op;
    std::string key;  // default: the op's name
    double flops = 0;
    std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
    ~OpTimer() {
        be.be_.ops->synchronize(be.be_.ctx);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::lock_guard<std::mutex> lock(g_profile_mutex);
        Backend::OpTime& t = g_profile[key.empty() ? std::string(op) : key];
        ++t.calls;
        t.seconds += s;
        t.flops += flops;
    }
};

Tensor Backend::empty(const Shape& shape) {
    Tensor t;
    set_contiguous(t.d_, shape);
    auto st = std::make_shared<Tensor::Storage>();
    st->backend = shared_from_this();
    st->bytes = static_cast<uint64_t>(std::max<int64_t>(shape_numel(shape), 1)) * sizeof(float);
    OpTimer::run(*this, "alloc", [&] { check(be_.ops->alloc(be_.ctx, st->bytes, &st->buffer), "alloc"); });
    t.storage_ = std::move(st);
    t.d_.buffer = t.storage_->buffer;
    t.d_.offset = 0;
    t.d_.dtype = VE_F32;
    return t;
}

Tensor Backend::zeros(const Shape& shape) {
    Tensor t = empty(shape);
    fill(t, 0.0f);
    return t;
}

Tensor Backend::from_host(const Shape& shape, const float* data) {
    Tensor t = empty(shape);
    t.upload(data, shape_numel(shape));
    return t;
}

Tensor Backend::from_host(const Shape& shape, const std::vector<float>& data) {
    if (static_cast<int64_t>(data.size()) != shape_numel(shape))
        throw Error("from_host: " + std::to_string(data.size()) + " values for shape " + shape_str(shape));
    return from_host(shape, data.data());
}

void Backend::synchronize() { check(be_.ops->synchronize(be_.ctx), "synchronize"); }

// Calls an op entry, reporting a NULL entry as unsupported.
#define VE_CALL(op, ...)                                                                    \
    do {                                                                                    \
        if (!be_.ops->op) unsupported(#op);                                                 \
        OpTimer::run(*this, #op, [&] { check(be_.ops->op(be_.ctx, __VA_ARGS__), #op); });   \
    } while (0)

// A product's profile key: its kind and M x K x N.
static std::string product_key(const std::string& kind, int64_t m, int64_t k, int64_t n) {
    return kind + " " + std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
}

static const ve_tensor* opt(const Tensor* t) { return t ? t->ptr() : nullptr; }

void Backend::copy(const Tensor& s, const Tensor& d) { VE_CALL(copy, s.ptr(), d.ptr()); }
void Backend::fill(const Tensor& d, float v) { VE_CALL(fill, d.ptr(), v); }
void Backend::axpby(float a, const Tensor& x, float b, const Tensor& y) { VE_CALL(axpby, a, x.ptr(), b, y.ptr()); }
void Backend::add(const Tensor& a, const Tensor& b, const Tensor& o) { VE_CALL(add, a.ptr(), b.ptr(), o.ptr()); }
void Backend::gemm(bool ta, bool tb, float alpha, const Tensor& a, const Tensor& b, float beta, const Tensor& c) {
    if (!be_.ops->gemm) unsupported("gemm");
    const int64_t k = ta ? a.dim(-2) : a.dim(-1);
    const double flops = 2.0 * static_cast<double>(c.numel()) * static_cast<double>(k);
    OpTimer::run(
        *this, "gemm", [&] { check(be_.ops->gemm(be_.ctx, ta ? 1 : 0, tb ? 1 : 0, alpha, a.ptr(), b.ptr(), beta, c.ptr()), "gemm"); },
        flops, [&] { return product_key(std::string("gemm") + (ta ? "T" : "N") + (tb ? "T" : "N"), c.numel() / c.dim(-1), k, c.dim(-1)); });
    gemm_flops_ += flops;
}
void Backend::bias_add(const Tensor& y, const Tensor& bias) { VE_CALL(bias_add, y.ptr(), bias.ptr()); }
void Backend::bias_grad(const Tensor& dy, const Tensor& db, float beta) { VE_CALL(bias_grad, dy.ptr(), db.ptr(), beta); }
void Backend::layernorm_fwd(const Tensor& x, const Tensor& g, const Tensor& b, float eps, const Tensor& y,
                            const Tensor* mean, const Tensor* rstd) {
    VE_CALL(layernorm_fwd, x.ptr(), g.ptr(), b.ptr(), eps, y.ptr(), opt(mean), opt(rstd));
}
void Backend::layernorm_bwd(const Tensor& dy, const Tensor& x, const Tensor& g, const Tensor& mean,
                            const Tensor& rstd, const Tensor* dx, float dx_beta, const Tensor* dg,
                            const Tensor* db, float pb) {
    VE_CALL(layernorm_bwd, dy.ptr(), x.ptr(), g.ptr(), mean.ptr(), rstd.ptr(), opt(dx), dx_beta, opt(dg), opt(db), pb);
}
void Backend::gelu_fwd(const Tensor& x, const Tensor& y) { VE_CALL(gelu_fwd, x.ptr(), y.ptr()); }
void Backend::gelu_bwd(const Tensor& dy, const Tensor& x, const Tensor& dx) { VE_CALL(gelu_bwd, dy.ptr(), x.ptr(), dx.ptr()); }
void Backend::softmax_fwd(const Tensor& x, float s, const Tensor& y) { VE_CALL(softmax_fwd, x.ptr(), s, y.ptr()); }
void Backend::softmax_bwd(const Tensor& dy, const Tensor& y, float s, const Tensor& dx) {
    VE_CALL(softmax_bwd, dy.ptr(), y.ptr(), s, dx.ptr());
}
void Backend::im2col(const Tensor& im, int p, const Tensor& cols) { VE_CALL(im2col, im.ptr(), p, cols.ptr()); }
void Backend::col2im(const Tensor& dc, int p, float beta, const Tensor& di) { VE_CALL(col2im, dc.ptr(), p, beta, di.ptr()); }
void Backend::tokens_fwd(const Tensor& pa, const Tensor& cls, const Tensor& pos, const Tensor& tok) {
    VE_CALL(tokens_fwd, pa.ptr(), cls.ptr(), pos.ptr(), tok.ptr());
}
void Backend::tokens_bwd(const Tensor& dt, const Tensor* dp, const Tensor* dc, const Tensor* dpos, float pb) {
    VE_CALL(tokens_bwd, dt.ptr(), opt(dp), opt(dc), opt(dpos), pb);
}
std::vector<float> Backend::cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels, float ls,
                                          const Tensor* dlogits, float gs) {
    if (logits.ndim() != 2 || static_cast<int64_t>(labels.size()) != logits.dim(0))
        throw Error("cross_entropy: " + std::to_string(labels.size()) + " labels for logits " + shape_str(logits.shape()));
    std::vector<float> loss(labels.size());
    VE_CALL(cross_entropy, logits.ptr(), labels.data(), ls, loss.data(), opt(dlogits), gs);
    return loss;
}
std::vector<float> Backend::kl_div(const Tensor& logits, const Tensor& target, float T, const Tensor* dlogits, float gs) {
    std::vector<float> loss(static_cast<size_t>(logits.dim(0)));
    VE_CALL(kl_div, logits.ptr(), target.ptr(), T, loss.data(), opt(dlogits), gs);
    return loss;
}
void Backend::sgd_step(const Tensor& w, const Tensor& g, const Tensor* mask, int axis, float lr, float wd) {
    VE_CALL(sgd_step, w.ptr(), g.ptr(), opt(mask), axis, lr, wd);
}
void Backend::rmsprop_step(const Tensor& w, const Tensor& g, const Tensor& sq, const Tensor* mask, int axis,
                           float lr, float alpha, float eps) {
    VE_CALL(rmsprop_step, w.ptr(), g.ptr(), sq.ptr(), opt(mask), axis, lr, alpha, eps);
}
void Backend::adam_step(const Tensor& w, const Tensor& g, const Tensor& m, const Tensor& v, const Tensor* mask,
                        int axis, float lr, float b1, float b2, float eps, float wd, int64_t step) {
    VE_CALL(adam_step, w.ptr(), g.ptr(), m.ptr(), v.ptr(), opt(mask), axis, lr, b1, b2, eps, wd, step);
}

void Backend::penalty_grad(const Tensor& w, const Tensor& w0, const Tensor& g, float c, int p) {
    if (be_.ops->struct_size < offsetof(ve_backend_ops, penalty_grad) + sizeof(void*)) unsupported("penalty_grad");
    VE_CALL(penalty_grad, w.ptr(), w0.ptr(), g.ptr(), c, p);
}

bool Backend::has_unit_ops() {
    if (unit_ops_ >= 0) return unit_ops_ == 1;
    unit_ops_ = 0;
    const ve_backend_ops* o = be_.ops;
    if (o->struct_size < offsetof(ve_backend_ops, scatter_units) + sizeof(void*) || !o->gather_units || !o->scatter_units)
        return false;
    // A backend built on backend_author.hpp has every entry and answers VE_ERR_UNSUPPORTED for
    // what it does not implement: ask once on a 1x1 tensor.
    Tensor a = zeros({1, 1}), b = zeros({1, 1});
    const int32_t idx = 0;
    unit_ops_ = o->gather_units(be_.ctx, a.ptr(), VE_MASK_ROWS, &idx, 1, b.ptr()) == VE_OK &&
                o->scatter_units(be_.ctx, b.ptr(), VE_MASK_COLS, &idx, 1, a.ptr()) == VE_OK;
    return unit_ops_ == 1;
}
void Backend::gather_units(const Tensor& src, int axis, const std::vector<int32_t>& index, const Tensor& dst) {
    if (!has_unit_ops()) unsupported("gather_units");
    VE_CALL(gather_units, src.ptr(), axis, index.data(), static_cast<int64_t>(index.size()), dst.ptr());
}
void Backend::scatter_units(const Tensor& src, int axis, const std::vector<int32_t>& index, const Tensor& dst) {
    if (!has_unit_ops()) unsupported("scatter_units");
    VE_CALL(scatter_units, src.ptr(), axis, index.data(), static_cast<int64_t>(index.size()), dst.ptr());
}

bool Backend::has_fused_linear() {
    if (fused_linear_ >= 0) return fused_linear_ == 1;
    fused_linear_ = 0;
    const ve_backend_ops* o = be_.ops;
    if (o->struct_size < offsetof(ve_backend_ops, linear_fwd) + sizeof(void*) || !o->linear_fwd) return false;
    // As for the unit ops: a backend built on backend_author.hpp answers VE_ERR_UNSUPPORTED.
    Tensor x = zeros({1, 1}), w = zeros({1, 1}), y = zeros({1, 1});
    fused_linear_ = o->linear_fwd(be_.ctx, x.ptr(), w.ptr(), nullptr, VE_ACT_NONE, y.ptr()) == VE_OK;
    return fused_linear_ == 1;
}
void Backend::linear_fwd(const Tensor& x, const Tensor& w, const Tensor* bias, int act, const Tensor& y) {
    if (act != VE_ACT_NONE && act != VE_ACT_GELU) throw Error("linear_fwd: unknown activation " + std::to_string(act));
    if (!has_fused_linear()) {
        const Tensor pre = act == VE_ACT_NONE ? y : empty(y.shape());
        gemm(false, true, 1.0f, x, w, 0.0f, pre);
        if (bias && bias->defined()) bias_add(pre, *bias);
        if (act == VE_ACT_GELU) gelu_fwd(pre, y);
        return;
    }
    const double flops = 2.0 * static_cast<double>(y.numel()) * static_cast<double>(x.dim(-1));
    const ve_tensor* b = bias && bias->defined() ? bias->ptr() : nullptr;
    OpTimer::run(
        *this, "linear_fwd", [&] { check(be_.ops->linear_fwd(be_.ctx, x.ptr(), w.ptr(), b, act, y.ptr()), "linear_fwd"); },
        flops, [&] { return product_key(act == VE_ACT_GELU ? "linear+gelu" : "linear", y.numel() / y.dim(-1), x.dim(-1), y.dim(-1)); });
    gemm_flops_ += flops;
}

#undef VE_CALL

}  // namespace vitedit

// vitedit — the profiling decorator over a backend's C table (see op_profile.hpp).
#include "vitedit/op_profile.hpp"

#include "vitedit/boundary.hpp"

#include <atomic>
#include <chrono>
#include <mutex>

namespace vitedit::op_profile {
namespace {

std::atomic<bool> g_enabled{false};
std::mutex g_mutex;
std::map<std::string, OpTime> g_times;

// The wrapped instance: the backend's own table and context, and its extensions as it gave them.
struct Wrapped {
    ve_backend inner{};
    const ve_ext_penalty* penalty = nullptr;
    const ve_ext_units* units = nullptr;
    const ve_ext_linear* linear = nullptr;
};
Wrapped* self(void* ctx) { return static_cast<Wrapped*>(ctx); }

int64_t numel(const ve_tensor* t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; ++i) n *= t->shape[i];
    return n;
}
std::string product_key(const std::string& kind, int64_t m, int64_t k, int64_t n) {
    return kind + " " + std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
}

// Runs call() and, when profiling, charges it (and a synchronize after it) to `key`.
template <class Call, class Key>
ve_status timed(Wrapped* w, Key&& key, double flops, Call&& call) {
    if (!g_enabled.load(std::memory_order_relaxed)) return call();
    const auto t0 = std::chrono::steady_clock::now();
    const ve_status st = call();
    w->inner.ops->synchronize(w->inner.ctx);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::lock_guard<std::mutex> lock(g_mutex);
    OpTime& t = g_times[key()];
    ++t.calls;
    t.seconds += s;
    t.flops += flops;
    return st;
}

// A core op forwarded and timed under its name. F is the member's function-pointer type.
template <class F, F ve_backend_ops::*M, const char* Name>
struct Core;
template <class... A, ve_status (*ve_backend_ops::*M)(void*, A...), const char* Name>
struct Core<ve_status (*)(void*, A...), M, Name> {
    static ve_status call(void* ctx, A... a) noexcept {
        Wrapped* w = self(ctx);
        return timed(w, [] { return std::string(Name); }, 0.0, [&] { return (w->inner.ops->*M)(w->inner.ctx, a...); });
    }
};

#define VE_OP_NAME(op) constexpr char name_##op[] = #op;
VE_OP_NAME(alloc) VE_OP_NAME(copy) VE_OP_NAME(fill) VE_OP_NAME(axpby) VE_OP_NAME(add) VE_OP_NAME(bias_add)
VE_OP_NAME(bias_grad) VE_OP_NAME(layernorm_fwd) VE_OP_NAME(layernorm_bwd) VE_OP_NAME(gelu_fwd) VE_OP_NAME(gelu_bwd)
VE_OP_NAME(softmax_fwd) VE_OP_NAME(softmax_bwd) VE_OP_NAME(im2col) VE_OP_NAME(col2im) VE_OP_NAME(tokens_fwd)
VE_OP_NAME(tokens_bwd) VE_OP_NAME(cross_entropy) VE_OP_NAME(kl_div) VE_OP_NAME(sgd_step) VE_OP_NAME(rmsprop_step)
VE_OP_NAME(adam_step) VE_OP_NAME(penalty_grad) VE_OP_NAME(gather_units) VE_OP_NAME(scatter_units)
#undef VE_OP_NAME

const ve_ext_penalty kPenalty = {
    sizeof(ve_ext_penalty),
    [](void* ctx, const ve_tensor* w0, const ve_tensor* w1, const ve_tensor* g, float c, int32_t p) noexcept {
        Wrapped* w = self(ctx);
        return timed(w, [] { return std::string(name_penalty_grad); }, 0.0,
                     [&] { return w->penalty->penalty_grad(w->inner.ctx, w0, w1, g, c, p); });
    }};

const ve_ext_units kUnits = {
    sizeof(ve_ext_units),
    [](void* ctx, const ve_tensor* s, int32_t ax, const int32_t* idx, int64_t n, const ve_tensor* d) noexcept {
        Wrapped* w = self(ctx);
        return timed(w, [] { return std::string(name_gather_units); }, 0.0,
                     [&] { return w->units->gather_units(w->inner.ctx, s, ax, idx, n, d); });
    },
    [](void* ctx, const ve_tensor* s, int32_t ax, const int32_t* idx, int64_t n, const ve_tensor* d) noexcept {
        Wrapped* w = self(ctx);
        return timed(w, [] { return std::string(name_scatter_units); }, 0.0,
                     [&] { return w->units->scatter_units(w->inner.ctx, s, ax, idx, n, d); });
    }};

const ve_ext_linear kLinear = {
    sizeof(ve_ext_linear),
    [](void* ctx, const ve_tensor* x, const ve_tensor* wt, const ve_tensor* bias, int32_t act, const ve_tensor* y) noexcept {
        Wrapped* w = self(ctx);
        const int64_t n = y->shape[y->ndim - 1], k = x->shape[x->ndim - 1], m = numel(y) / n;
        return timed(
            w, [&] { return product_key(act == VE_ACT_GELU ? "linear+gelu" : "linear", m, k, n); },
            2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k),
            [&] { return w->linear->linear_fwd(w->inner.ctx, x, wt, bias, act, y); });
    }};

const ve_backend_ops* wrapped_ops() {
    static const ve_backend_ops ops = [] {
        ve_backend_ops o{};
        o.struct_size = sizeof(ve_backend_ops);
        o.destroy = [](void* ctx) noexcept {
            Wrapped* w = self(ctx);
            w->inner.ops->destroy(w->inner.ctx);
            delete w;
        };
        o.free = [](void* ctx, ve_buffer b) noexcept { self(ctx)->inner.ops->free(self(ctx)->inner.ctx, b); };
        o.upload = [](void* ctx, ve_buffer d, uint64_t off, const void* s, uint64_t n) noexcept {
            return self(ctx)->inner.ops->upload(self(ctx)->inner.ctx, d, off, s, n);
        };
        o.download = [](void* ctx, ve_buffer s, uint64_t off, void* d, uint64_t n) noexcept {
            return self(ctx)->inner.ops->download(self(ctx)->inner.ctx, s, off, d, n);
        };
        o.synchronize = [](void* ctx) noexcept { return self(ctx)->inner.ops->synchronize(self(ctx)->inner.ctx); };
        o.last_error = [](void* ctx) noexcept { return self(ctx)->inner.ops->last_error(self(ctx)->inner.ctx); };
        o.get_extension = [](void* ctx, const char* name) noexcept -> const void* {
            const Wrapped* w = self(ctx);
            const std::string n = name ? name : "";
            if (n == VE_EXT_PENALTY) return w->penalty ? &kPenalty : nullptr;
            if (n == VE_EXT_UNITS) return w->units ? &kUnits : nullptr;
            if (n == VE_EXT_LINEAR) return w->linear ? &kLinear : nullptr;
            // An extension this host does not know is passed through untimed.
            return w->inner.ops->get_extension(w->inner.ctx, name);
        };
        o.gemm = [](void* ctx, int32_t ta, int32_t tb, float alpha, const ve_tensor* a, const ve_tensor* b, float beta,
                    const ve_tensor* c) noexcept {
            Wrapped* w = self(ctx);
            const int64_t k = ta ? a->shape[a->ndim - 2] : a->shape[a->ndim - 1];
            const int64_t n = c->shape[c->ndim - 1], m = numel(c) / n;
            return timed(
                w, [&] { return product_key(std::string("gemm") + (ta ? "T" : "N") + (tb ? "T" : "N"), m, k, n); },
                2.0 * static_cast<double>(numel(c)) * static_cast<double>(k),
                [&] { return w->inner.ops->gemm(w->inner.ctx, ta, tb, alpha, a, b, beta, c); });
        };
#define VE_TIMED(op) o.op = &Core<decltype(o.op), &ve_backend_ops::op, name_##op>::call;
        VE_TIMED(alloc) VE_TIMED(copy) VE_TIMED(fill) VE_TIMED(axpby) VE_TIMED(add) VE_TIMED(bias_add) VE_TIMED(bias_grad)
        VE_TIMED(layernorm_fwd) VE_TIMED(layernorm_bwd) VE_TIMED(gelu_fwd) VE_TIMED(gelu_bwd) VE_TIMED(softmax_fwd)
        VE_TIMED(softmax_bwd) VE_TIMED(im2col) VE_TIMED(col2im) VE_TIMED(tokens_fwd) VE_TIMED(tokens_bwd)
        VE_TIMED(cross_entropy) VE_TIMED(kl_div) VE_TIMED(sgd_step) VE_TIMED(rmsprop_step) VE_TIMED(adam_step)
#undef VE_TIMED
        return o;
    }();
    return &ops;
}

}  // namespace

ve_backend wrap(const ve_backend& inner) {
    auto* w = new Wrapped{inner};
    w->penalty = boundary::extension<ve_ext_penalty>(inner, VE_EXT_PENALTY);
    w->units = boundary::extension<ve_ext_units>(inner, VE_EXT_UNITS);
    w->linear = boundary::extension<ve_ext_linear>(inner, VE_EXT_LINEAR);
    ve_backend out{};
    out.struct_size = sizeof(ve_backend);
    out.ctx = w;
    out.ops = wrapped_ops();
    return out;
}

void set_enabled(bool on) { g_enabled = on; }
void reset() {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_times.clear();
}
std::map<std::string, OpTime> snapshot() {
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_times;
}

}  // namespace vitedit::op_profile

// vitedit — header-only C++ side for backend authors.
//
// Derive from vitedit::author::BackendBase, override the ops you implement (the rest answer
// VE_ERR_UNSUPPORTED), and export the C table with VITEDIT_DEFINE_BACKEND. Every C entry is a
// static noexcept thunk: exceptions never cross the library boundary, they become a status code
// plus a message retrievable with last_error() on the same thread. The optional ops (extension
// tables VE_EXT_*) are offered only for the names provides() accepts.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "vitedit/backend.h"
#include "vitedit/boundary.hpp"
#include "vitedit/host_api.h"

namespace vitedit::author {

// Thrown by an op to answer VE_ERR_UNSUPPORTED / VE_ERR_INVALID with a message.
struct Unsupported : std::runtime_error { using std::runtime_error::runtime_error; };
struct Invalid : std::runtime_error { using std::runtime_error::runtime_error; };
struct Unavailable : std::runtime_error { using std::runtime_error::runtime_error; };

// Shape/stride helpers on a descriptor.
inline int64_t numel(const ve_tensor& t) {
    int64_t n = 1;
    for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
    return n;
}
inline bool is_contiguous(const ve_tensor& t) {
    int64_t expect = 1;
    for (int i = t.ndim - 1; i >= 0; --i) {
        if (t.shape[i] != 1 && t.stride[i] != expect) return false;
        expect *= t.shape[i];
    }
    return true;
}
inline int64_t last_dim(const ve_tensor& t) { return t.shape[t.ndim - 1]; }
inline int64_t rows(const ve_tensor& t) { return numel(t) / last_dim(t); }

class BackendBase {
public:
    virtual ~BackendBase() = default;
    virtual const char* name() const = 0;

    // memory
    virtual ve_buffer alloc(uint64_t bytes) = 0;
    virtual void free(ve_buffer b) = 0;
    virtual void upload(ve_buffer dst, uint64_t off, const void* src, uint64_t bytes) = 0;
    virtual void download(ve_buffer src, uint64_t off, void* dst, uint64_t bytes) = 0;
    virtual void synchronize() {}

#define VE_UNSUPPORTED(op) { throw Unsupported(std::string(op) + " is not implemented by this backend"); }
    virtual void copy(const ve_tensor&, const ve_tensor&) VE_UNSUPPORTED("copy")
    virtual void fill(const ve_tensor&, float) VE_UNSUPPORTED("fill")
    virtual void axpby(float, const ve_tensor&, float, const ve_tensor&) VE_UNSUPPORTED("axpby")
    virtual void add(const ve_tensor&, const ve_tensor&, const ve_tensor&) VE_UNSUPPORTED("add")
    virtual void gemm(bool, bool, float, const ve_tensor&, const ve_tensor&, float,
                      const ve_tensor&) VE_UNSUPPORTED("gemm")
    virtual void bias_add(const ve_tensor&, const ve_tensor&) VE_UNSUPPORTED("bias_add")
    virtual void bias_grad(const ve_tensor&, const ve_tensor&, float) VE_UNSUPPORTED("bias_grad")
    virtual void layernorm_fwd(const ve_tensor&, const ve_tensor&, const ve_tensor&, float,
                               const ve_tensor&, const ve_tensor*, const ve_tensor*)
        VE_UNSUPPORTED("layernorm_fwd")
    virtual void layernorm_bwd(const ve_tensor&, const ve_tensor&, const ve_tensor&,
                               const ve_tensor&, const ve_tensor&, const ve_tensor*, float,
                               const ve_tensor*, const ve_tensor*, float)
        VE_UNSUPPORTED("layernorm_bwd")
    virtual void gelu_fwd(const ve_tensor&, const ve_tensor&) VE_UNSUPPORTED("gelu_fwd")
    virtual void gelu_bwd(const ve_tensor&, const ve_tensor&, const ve_tensor&) VE_UNSUPPORTED("gelu_bwd")
    virtual void softmax_fwd(const ve_tensor&, float, const ve_tensor&) VE_UNSUPPORTED("softmax_fwd")
    virtual void softmax_bwd(const ve_tensor&, const ve_tensor&, float, const ve_tensor&)
        VE_UNSUPPORTED("softmax_bwd")
    virtual void im2col(const ve_tensor&, int, const ve_tensor&) VE_UNSUPPORTED("im2col")
    virtual void col2im(const ve_tensor&, int, float, const ve_tensor&) VE_UNSUPPORTED("col2im")
    virtual void tokens_fwd(const ve_tensor&, const ve_tensor&, const ve_tensor&, const ve_tensor&)
        VE_UNSUPPORTED("tokens_fwd")
    virtual void tokens_bwd(const ve_tensor&, const ve_tensor*, const ve_tensor*, const ve_tensor*,
                            float) VE_UNSUPPORTED("tokens_bwd")
    virtual void cross_entropy(const ve_tensor&, const int32_t*, float, float*, const ve_tensor*,
                               float) VE_UNSUPPORTED("cross_entropy")
    virtual void kl_div(const ve_tensor&, const ve_tensor&, float, float*, const ve_tensor*, float)
        VE_UNSUPPORTED("kl_div")
    virtual void sgd_step(const ve_tensor&, const ve_tensor&, const ve_tensor*, int, float, float)
        VE_UNSUPPORTED("sgd_step")
    virtual void rmsprop_step(const ve_tensor&, const ve_tensor&, const ve_tensor&,
                              const ve_tensor*, int, float, float, float) VE_UNSUPPORTED("rmsprop_step")
    virtual void adam_step(const ve_tensor&, const ve_tensor&, const ve_tensor&, const ve_tensor&,
                           const ve_tensor*, int, float, float, float, float, float, int64_t)
        VE_UNSUPPORTED("adam_step")
    // ---- extensions: override provides() to name the ones this backend implements ----
    // VE_EXT_PENALTY
    virtual void penalty_grad(const ve_tensor&, const ve_tensor&, const ve_tensor&, float, int)
        VE_UNSUPPORTED("penalty_grad")
    // VE_EXT_UNITS
    virtual void gather_units(const ve_tensor&, int, const int32_t*, int64_t, const ve_tensor&)
        VE_UNSUPPORTED("gather_units")
    virtual void scatter_units(const ve_tensor&, int, const int32_t*, int64_t, const ve_tensor&)
        VE_UNSUPPORTED("scatter_units")
    // VE_EXT_LINEAR; bias may be null (without it the host runs gemm, bias_add and gelu_fwd)
    virtual void linear_fwd(const ve_tensor&, const ve_tensor&, const ve_tensor*, int, const ve_tensor&)
        VE_UNSUPPORTED("linear_fwd")
#undef VE_UNSUPPORTED
    // Whether this instance provides the extension `name` (VE_EXT_*): what get_extension answers,
    // so override it together with the extension's ops.
    virtual bool provides(const std::string& name) const {
        (void)name;
        return false;
    }
};

namespace detail {

inline BackendBase* self(void* ctx) { return static_cast<BackendBase*>(ctx); }

// A required tensor argument: NULL is a caller error, not a crash.
inline const ve_tensor& req(const ve_tensor* t) {
    if (!t) throw Invalid("a required tensor argument is NULL");
    return *t;
}

// Runs f, turning any exception into a status and a message that names the op and backend.
template <class F>
ve_status guard(void* ctx, const char* op, F&& f) noexcept {
    BackendBase* b = self(ctx);
    std::string& message = boundary::thread_error();
    try {
        f(b);
        return VE_OK;
    } catch (const Unsupported& e) {
        message = std::string(b->name()) + "." + op + ": unsupported: " + e.what();
        return VE_ERR_UNSUPPORTED;
    } catch (const Invalid& e) {
        message = std::string(b->name()) + "." + op + ": invalid argument: " + e.what();
        return VE_ERR_INVALID;
    } catch (const Unavailable& e) {
        message = std::string(b->name()) + "." + op + ": unavailable: " + e.what();
        return VE_ERR_UNAVAILABLE;
    } catch (const std::bad_alloc&) {
        message = std::string(b->name()) + "." + op + ": out of memory";
        return VE_ERR_OOM;
    } catch (const std::exception& e) {
        message = std::string(b->name()) + "." + op + ": " + e.what();
        return VE_ERR_INTERNAL;
    } catch (...) {
        message = std::string(b->name()) + "." + op + ": unknown exception";
        return VE_ERR_INTERNAL;
    }
}

}  // namespace detail

// The C table for an implementation class. One static instance per backend library.
namespace detail {

// The extension tables, each entry a thunk onto the BackendBase virtual of the same name.
inline const void* extension_table(const std::string& name) {
    static const ve_ext_penalty penalty = {
        sizeof(ve_ext_penalty),
        [](void* c, const ve_tensor* w, const ve_tensor* w0, const ve_tensor* g, float k, int32_t p) noexcept {
            return guard(c, "penalty_grad", [&](BackendBase* b) { b->penalty_grad(req(w), req(w0), req(g), k, p); });
        }};
    static const ve_ext_units units = {
        sizeof(ve_ext_units),
        [](void* c, const ve_tensor* s, int32_t ax, const int32_t* idx, int64_t n, const ve_tensor* d) noexcept {
            return guard(c, "gather_units", [&](BackendBase* b) { b->gather_units(req(s), ax, idx, n, req(d)); });
        },
        [](void* c, const ve_tensor* s, int32_t ax, const int32_t* idx, int64_t n, const ve_tensor* d) noexcept {
            return guard(c, "scatter_units", [&](BackendBase* b) { b->scatter_units(req(s), ax, idx, n, req(d)); });
        }};
    static const ve_ext_linear linear = {
        sizeof(ve_ext_linear),
        [](void* c, const ve_tensor* x, const ve_tensor* w, const ve_tensor* bias, int32_t act, const ve_tensor* y) noexcept {
            return guard(c, "linear_fwd", [&](BackendBase* b) { b->linear_fwd(req(x), req(w), bias, act, req(y)); });
        }};
    if (name == VE_EXT_PENALTY) return &penalty;
    if (name == VE_EXT_UNITS) return &units;
    if (name == VE_EXT_LINEAR) return &linear;
    return nullptr;
}

}  // namespace detail

inline const ve_backend_ops* backend_ops() {
    using detail::guard;
    using detail::req;
    static const ve_backend_ops ops = [] {
        ve_backend_ops o{};
        o.struct_size = sizeof(ve_backend_ops);
        o.destroy = [](void* c) noexcept { delete detail::self(c); };
        o.alloc = [](void* c, uint64_t n, ve_buffer* out) noexcept {
            return guard(c, "alloc", [&](BackendBase* b) { *out = b->alloc(n); });
        };
        o.free = [](void* c, ve_buffer buf) noexcept {
            try { detail::self(c)->free(buf); } catch (...) {}
        };
        o.upload = [](void* c, ve_buffer d, uint64_t off, const void* s, uint64_t n) noexcept {
            return guard(c, "upload", [&](BackendBase* b) { b->upload(d, off, s, n); });
        };
        o.download = [](void* c, ve_buffer s, uint64_t off, void* d, uint64_t n) noexcept {
            return guard(c, "download", [&](BackendBase* b) { b->download(s, off, d, n); });
        };
        o.synchronize = [](void* c) noexcept {
            return guard(c, "synchronize", [&](BackendBase* b) { b->synchronize(); });
        };
        o.last_error = &boundary::thread_error_entry;
        o.get_extension = [](void* c, const char* name) noexcept -> const void* {
            try {
                return name && detail::self(c)->provides(name) ? detail::extension_table(name) : nullptr;
            } catch (...) {
                return nullptr;
            }
        };
        o.copy = [](void* c, const ve_tensor* s, const ve_tensor* d) noexcept {
            return guard(c, "copy", [&](BackendBase* b) { b->copy(req(s), req(d)); });
        };
        o.fill = [](void* c, const ve_tensor* d, float v) noexcept {
            return guard(c, "fill", [&](BackendBase* b) { b->fill(req(d), v); });
        };
        o.axpby = [](void* c, float a, const ve_tensor* x, float be, const ve_tensor* y) noexcept {
            return guard(c, "axpby", [&](BackendBase* b) { b->axpby(a, req(x), be, req(y)); });
        };
        o.add = [](void* c, const ve_tensor* x, const ve_tensor* y, const ve_tensor* z) noexcept {
            return guard(c, "add", [&](BackendBase* b) { b->add(req(x), req(y), req(z)); });
        };
        o.gemm = [](void* c, int32_t ta, int32_t tb, float al, const ve_tensor* a,
                    const ve_tensor* bb, float be, const ve_tensor* cc) noexcept {
            return guard(c, "gemm", [&](BackendBase* b) { b->gemm(ta != 0, tb != 0, al, req(a), req(bb), be, req(cc)); });
        };
        o.bias_add = [](void* c, const ve_tensor* y, const ve_tensor* bias) noexcept {
            return guard(c, "bias_add", [&](BackendBase* b) { b->bias_add(req(y), req(bias)); });
        };
        o.bias_grad = [](void* c, const ve_tensor* dy, const ve_tensor* db, float be) noexcept {
            return guard(c, "bias_grad", [&](BackendBase* b) { b->bias_grad(req(dy), req(db), be); });
        };
        o.layernorm_fwd = [](void* c, const ve_tensor* x, const ve_tensor* g, const ve_tensor* bt,
                             float eps, const ve_tensor* y, const ve_tensor* mean,
                             const ve_tensor* rstd) noexcept {
            return guard(c, "layernorm_fwd", [&](BackendBase* b) { b->layernorm_fwd(req(x), req(g), req(bt), eps, req(y), mean, rstd); });
        };
        o.layernorm_bwd = [](void* c, const ve_tensor* dy, const ve_tensor* x, const ve_tensor* g,
                             const ve_tensor* mean, const ve_tensor* rstd, const ve_tensor* dx,
                             float dxb, const ve_tensor* dg, const ve_tensor* dbt, float pb) noexcept {
            return guard(c, "layernorm_bwd", [&](BackendBase* b) {
                b->layernorm_bwd(req(dy), req(x), req(g), req(mean), req(rstd), dx, dxb, dg, dbt, pb);
            });
        };
        o.gelu_fwd = [](void* c, const ve_tensor* x, const ve_tensor* y) noexcept {
            return guard(c, "gelu_fwd", [&](BackendBase* b) { b->gelu_fwd(req(x), req(y)); });
        };
        o.gelu_bwd = [](void* c, const ve_tensor* dy, const ve_tensor* x, const ve_tensor* dx) noexcept {
            return guard(c, "gelu_bwd", [&](BackendBase* b) { b->gelu_bwd(req(dy), req(x), req(dx)); });
        };
        o.softmax_fwd = [](void* c, const ve_tensor* x, float s, const ve_tensor* y) noexcept {
            return guard(c, "softmax_fwd", [&](BackendBase* b) { b->softmax_fwd(req(x), s, req(y)); });
        };
        o.softmax_bwd = [](void* c, const ve_tensor* dy, const ve_tensor* y, float s,
                           const ve_tensor* dx) noexcept {
            return guard(c, "softmax_bwd", [&](BackendBase* b) { b->softmax_bwd(req(dy), req(y), s, req(dx)); });
        };
        o.im2col = [](void* c, const ve_tensor* im, int32_t p, const ve_tensor* cols) noexcept {
            return guard(c, "im2col", [&](BackendBase* b) { b->im2col(req(im), p, req(cols)); });
        };
        o.col2im = [](void* c, const ve_tensor* dc, int32_t p, float be, const ve_tensor* di) noexcept {
            return guard(c, "col2im", [&](BackendBase* b) { b->col2im(req(dc), p, be, req(di)); });
        };
        o.tokens_fwd = [](void* c, const ve_tensor* pa, const ve_tensor* cls, const ve_tensor* pos,
                          const ve_tensor* tok) noexcept {
            return guard(c, "tokens_fwd", [&](BackendBase* b) { b->tokens_fwd(req(pa), req(cls), req(pos), req(tok)); });
        };
        o.tokens_bwd = [](void* c, const ve_tensor* dt, const ve_tensor* dp, const ve_tensor* dc,
                          const ve_tensor* dpos, float pb) noexcept {
            return guard(c, "tokens_bwd", [&](BackendBase* b) { b->tokens_bwd(req(dt), dp, dc, dpos, pb); });
        };
        o.cross_entropy = [](void* c, const ve_tensor* lg, const int32_t* lab, float ls,
                             float* loss, const ve_tensor* dl, float gs) noexcept {
            return guard(c, "cross_entropy", [&](BackendBase* b) { b->cross_entropy(req(lg), lab, ls, loss, dl, gs); });
        };
        o.kl_div = [](void* c, const ve_tensor* lg, const ve_tensor* tg, float t, float* loss,
                      const ve_tensor* dl, float gs) noexcept {
            return guard(c, "kl_div", [&](BackendBase* b) { b->kl_div(req(lg), req(tg), t, loss, dl, gs); });
        };
        o.sgd_step = [](void* c, const ve_tensor* w, const ve_tensor* g, const ve_tensor* m,
                        int32_t ax, float lr, float wd) noexcept {
            return guard(c, "sgd_step", [&](BackendBase* b) { b->sgd_step(req(w), req(g), m, ax, lr, wd); });
        };
        o.rmsprop_step = [](void* c, const ve_tensor* w, const ve_tensor* g, const ve_tensor* sq,
                            const ve_tensor* m, int32_t ax, float lr, float al, float eps) noexcept {
            return guard(c, "rmsprop_step", [&](BackendBase* b) { b->rmsprop_step(req(w), req(g), req(sq), m, ax, lr, al, eps); });
        };
        o.adam_step = [](void* c, const ve_tensor* w, const ve_tensor* g, const ve_tensor* m,
                         const ve_tensor* v, const ve_tensor* mk, int32_t ax, float lr, float b1,
                         float b2, float eps, float wd, int64_t step) noexcept {
            return guard(c, "adam_step", [&](BackendBase* b) {
                b->adam_step(req(w), req(g), req(m), req(v), mk, ax, lr, b1, b2, eps, wd, step);
            });
        };
        return o;
    }();
    return &ops;
}

}  // namespace vitedit::author

// Defines vitedit_query() for a backend. IMPL: a BackendBase subclass constructible from
// (const ve_host_api*, const char* config). PROBE: int32_t(std::string& reason), a score > 0
// when the backend can run here, else 0 with the reason.
#define VITEDIT_DEFINE_BACKEND(IMPL, NAME, DESCRIPTION, VERSION, PROBE)                          \
    namespace {                                                                                 \
    ve_status vitedit_backend_probe_(int32_t* score) noexcept {                                 \
        std::string why;                                                                        \
        try { *score = PROBE(why); } catch (const std::exception& e) { why = e.what(); *score = 0; } \
        catch (...) { why = "probe threw"; *score = 0; }                                        \
        if (*score > 0) return VE_OK;                                                           \
        ::vitedit::boundary::thread_error() = why.empty() ? "its probe says it cannot run here" : why; \
        return VE_ERR_UNAVAILABLE;                                                              \
    }                                                                                           \
    ve_status vitedit_backend_create_(const ve_host_api* host, const char* config,              \
                                      ve_backend* out) noexcept {                               \
        std::string& message = ::vitedit::boundary::thread_error();                            \
        try {                                                                                   \
            out->struct_size = sizeof(ve_backend);                                              \
            out->ctx = static_cast<::vitedit::author::BackendBase*>(new IMPL(host, config));     \
            out->ops = ::vitedit::author::backend_ops();                                        \
            return VE_OK;                                                                       \
        } catch (const ::vitedit::author::Unavailable& e) {                                     \
            message = e.what();                                                                 \
            return VE_ERR_UNAVAILABLE;                                                          \
        } catch (const ::vitedit::author::Invalid& e) {                                         \
            message = e.what();                                                                 \
            return VE_ERR_INVALID;                                                              \
        } catch (const std::exception& e) {                                                     \
            message = e.what();                                                                 \
            return VE_ERR_INTERNAL;                                                             \
        } catch (...) {                                                                         \
            message = "unknown exception";                                                      \
            return VE_ERR_INTERNAL;                                                             \
        }                                                                                       \
    }                                                                                           \
    const ve_backend_entry vitedit_backend_entry_ = {sizeof(ve_backend_entry),                  \
                                                     &vitedit_backend_probe_,                   \
                                                     &vitedit_backend_create_,                  \
                                                     &::vitedit::boundary::thread_error_entry}; \
    const ve_plugin_info vitedit_backend_info_ = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR,    \
                                                  VITEDIT_ABI_MINOR, VE_KIND_BACKEND, NAME,     \
                                                  DESCRIPTION, VERSION,                         \
                                                  &vitedit_backend_entry_};                     \
    }                                                                                           \
    extern "C" VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void) { return &vitedit_backend_info_; }

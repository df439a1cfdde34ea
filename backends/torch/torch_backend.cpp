// vitedit — the LibTorch reference backend (CPU).
//
// The backend every other backend is compared against, so every op is written in its most
// obviously-correct form: descriptors are wrapped without copies as strided ATen views of host
// memory (at::from_blob), the result of an op is computed with stock ATen ops into a fresh
// tensor, and only then written into the output view (honouring the `beta` accumulate rule and
// NULL optional arguments as vitedit/backend.h states). Arguments are validated strictly:
// dtype, rank, shapes, the layout an op requires, bounds against the allocation and aliasing
// between outputs and inputs, so an engine bug shows here first, with a message, rather than as
// a silent wrong number on a faster backend.
//
// Memory is host memory, 64-byte aligned; a ve_buffer is the allocation's address.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include "vitedit/backend_author.hpp"
#include "vitedit/backend_config.hpp"

namespace {

using vitedit::author::Invalid;

constexpr uint64_t kAlignment = 64;
constexpr int64_t kElem = static_cast<int64_t>(sizeof(float));

// ---- small helpers -------------------------------------------------------------------------

std::string shape_str(const ve_tensor& t) {
    std::ostringstream os;
    os << '[';
    for (int i = 0; i < t.ndim; ++i) os << (i ? "," : "") << t.shape[i];
    os << ']';
    return os.str();
}

std::string sizes_str(at::IntArrayRef s) {
    std::ostringstream os;
    os << '[';
    for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
    os << ']';
    return os.str();
}

std::string first_line(const char* msg) {
    std::string s = msg ? msg : "";
    auto nl = s.find('\n');
    if (nl != std::string::npos) s.resize(nl);
    return s;
}

int64_t numel(const ve_tensor& t) {
    int64_t n = 1;
    for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
    return n;
}

// Row-major dense (size-1 dims may carry any stride).
bool contiguous(const ve_tensor& t) { return vitedit::author::is_contiguous(t); }

// Leading dims flattened: numel / last dim, well defined when the last dim is 0.
int64_t rows_of(const ve_tensor& t) {
    int64_t r = 1;
    for (int i = 0; i + 1 < t.ndim; ++i) r *= t.shape[i];
    return r;
}
int64_t cols_of(const ve_tensor& t) { return t.shape[t.ndim - 1]; }

bool same_view(const ve_tensor& a, const ve_tensor& b) {
    if (a.buffer != b.buffer || a.offset != b.offset || a.ndim != b.ndim) return false;
    for (int i = 0; i < a.ndim; ++i)
        if (a.shape[i] != b.shape[i] || (a.shape[i] != 1 && a.stride[i] != b.stride[i]))
            return false;
    return true;
}

// Element indices (relative to the buffer start) of a view: [first, last] and each one.
int64_t first_index(const ve_tensor& t) { return static_cast<int64_t>(t.offset) / kElem; }
int64_t last_index(const ve_tensor& t) {
    int64_t i = first_index(t);
    for (int d = 0; d < t.ndim; ++d) i += (t.shape[d] - 1) * t.stride[d];
    return i;
}
template <class F>
void for_each_index(const ve_tensor& t, F&& f) {
    int64_t shape[4] = {1, 1, 1, 1}, stride[4] = {0, 0, 0, 0};
    for (int d = 0; d < t.ndim; ++d) {
        shape[4 - t.ndim + d] = t.shape[d];
        stride[4 - t.ndim + d] = t.stride[d];
    }
    const int64_t base = first_index(t);
    for (int64_t i0 = 0; i0 < shape[0]; ++i0)
        for (int64_t i1 = 0; i1 < shape[1]; ++i1)
            for (int64_t i2 = 0; i2 < shape[2]; ++i2)
                for (int64_t i3 = 0; i3 < shape[3]; ++i3)
                    f(base + i0 * stride[0] + i1 * stride[1] + i2 * stride[2] + i3 * stride[3]);
}

// Do two views share at least one element? Exact (a bitmap over the common index range).
bool overlaps(const ve_tensor& a, const ve_tensor& b) {
    if (a.buffer != b.buffer || numel(a) == 0 || numel(b) == 0) return false;
    const int64_t lo = std::max(first_index(a), first_index(b));
    const int64_t hi = std::min(last_index(a), last_index(b));
    if (lo > hi) return false;
    if (contiguous(a) && contiguous(b)) return true;  // dense ranges that intersect
    std::vector<bool> mark(static_cast<size_t>(hi - lo + 1), false);
    for_each_index(a, [&](int64_t i) {
        if (i >= lo && i <= hi) mark[static_cast<size_t>(i - lo)] = true;
    });
    bool hit = false;
    for_each_index(b, [&](int64_t i) {
        if (i >= lo && i <= hi && mark[static_cast<size_t>(i - lo)]) hit = true;
    });
    return hit;
}

// Does a view name some element twice (a stride-0 or interleaved output)? Exact.
bool self_overlaps(const ve_tensor& t) {
    if (numel(t) <= 1 || contiguous(t)) return false;
    // Sufficient condition first: sorted by stride, each stride exceeds the extent below it.
    std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of dims with size > 1
    for (int d = 0; d < t.ndim; ++d)
        if (t.shape[d] > 1) dims.emplace_back(t.stride[d], t.shape[d]);
    std::sort(dims.begin(), dims.end());
    int64_t extent = 0;
    bool disjoint = true;
    for (auto& [st, sz] : dims) {
        if (st <= extent) { disjoint = false; break; }
        extent += (sz - 1) * st;
    }
    if (disjoint) return false;
    const int64_t lo = first_index(t);
    std::vector<bool> mark(static_cast<size_t>(last_index(t) - lo + 1), false);
    bool hit = false;
    for_each_index(t, [&](int64_t i) {
        auto k = static_cast<size_t>(i - lo);
        if (mark[k]) hit = true;
        mark[k] = true;
    });
    return hit;
}

void require(bool ok, const std::string& msg) {
    if (!ok) throw Invalid(msg);
}

void require_same_shape(const char* an, const ve_tensor& a, const char* bn, const ve_tensor& b) {
    bool same = a.ndim == b.ndim;
    for (int i = 0; same && i < a.ndim; ++i) same = a.shape[i] == b.shape[i];
    require(same, std::string(an) + " has shape " + shape_str(a) + " but " + bn + " has shape " +
                      shape_str(b) + " (they must match)");
}

void require_shape(const char* n, const ve_tensor& t, std::initializer_list<int64_t> expect) {
    bool same = static_cast<size_t>(t.ndim) == expect.size();
    int i = 0;
    for (auto e : expect) {
        if (!same) break;
        same = t.shape[i++] == e;
    }
    require(same, std::string(n) + " has shape " + shape_str(t) + ", expected " +
                      sizes_str(at::IntArrayRef(expect.begin(), expect.size())));
}

void require_ndim(const char* n, const ve_tensor& t, int ndim) {
    require(t.ndim == ndim, std::string(n) + " must have " + std::to_string(ndim) +
                                " dims, got shape " + shape_str(t));
}

void require_numel(const char* n, const ve_tensor& t, int64_t count, const char* what) {
    require(numel(t) == count, std::string(n) + " has shape " + shape_str(t) + " but must hold " +
                                   std::to_string(count) + " elements (" + what + ")");
}

// out = result + beta * out (beta == 0 overwrites, NaNs included). `result` may be modified.
void store(const at::Tensor& out, at::Tensor result, float beta) {
    if (beta == 0.0f) {
        out.copy_(result);
    } else {
        result.add_(out, beta);
        out.copy_(result);
    }
}

// ---- the backend ---------------------------------------------------------------------------

class TorchBackend final : public vitedit::author::BackendBase {
public:
    TorchBackend(const ve_host_api* host, const char* config) : host_(host) {
        int threads = static_cast<int>(std::thread::hardware_concurrency());
        parse_config(config, threads);
        if (threads < 1) threads = 1;
        torch_call([&] { at::set_num_threads(threads); });
        log(VE_LOG_INFO, "torch backend: LibTorch CPU, " + std::to_string(at::get_num_threads()) +
                             " intra-op threads");
    }

    ~TorchBackend() override {
        for (auto& kv : allocs_) std::free(reinterpret_cast<void*>(kv.first));
    }

    const char* name() const override { return "torch"; }
    bool provides(const std::string& name) const override { return name == VE_EXT_PENALTY || name == VE_EXT_LINEAR; }

    // ---- memory ---------------------------------------------------------------------------

    ve_buffer alloc(uint64_t bytes) override {
        uint64_t padded = std::max<uint64_t>(bytes, 1);
        padded = (padded + kAlignment - 1) / kAlignment * kAlignment;
        void* p = nullptr;
        if (posix_memalign(&p, kAlignment, padded) != 0 || !p) throw std::bad_alloc();
        std::lock_guard<std::mutex> lk(mu_);
        allocs_[reinterpret_cast<std::uintptr_t>(p)] = bytes;
        return static_cast<ve_buffer>(p);
    }

    void free(ve_buffer b) override {
        if (!b) return;
        std::lock_guard<std::mutex> lk(mu_);
        auto it = allocs_.find(reinterpret_cast<std::uintptr_t>(b));
        if (it == allocs_.end()) {
            log(VE_LOG_WARN, "torch backend: free() of a buffer it did not allocate (ignored)");
            return;
        }
        std::free(reinterpret_cast<void*>(it->first));
        allocs_.erase(it);
    }

    void upload(ve_buffer dst, uint64_t off, const void* src, uint64_t bytes) override {
        check_range("dst", dst, off, bytes);
        require(bytes == 0 || src, "src is NULL");
        if (bytes) std::memcpy(reinterpret_cast<char*>(dst) + off, src, bytes);
    }

    void download(ve_buffer src, uint64_t off, void* dst, uint64_t bytes) override {
        check_range("src", src, off, bytes);
        require(bytes == 0 || dst, "dst is NULL");
        if (bytes) std::memcpy(dst, reinterpret_cast<const char*>(src) + off, bytes);
    }

    void synchronize() override {}  // every op is synchronous

    // ---- element-wise and data movement ----------------------------------------------------

    void copy(const ve_tensor& src, const ve_tensor& dst) override {
        torch_call([&] {
            auto s = in("src", src, false);
            auto d = out("dst", dst, false);
            require_same_shape("src", src, "dst", dst);
            no_overlap("dst", dst, "src", src);
            d.copy_(s);
        });
    }

    void fill(const ve_tensor& dst, float value) override {
        torch_call([&] { out("dst", dst, true).fill_(value); });
    }

    void axpby(float alpha, const ve_tensor& x, float beta, const ve_tensor& y) override {
        torch_call([&] {
            auto X = in("x", x, true);
            auto Y = out("y", y, true);
            require_same_shape("x", x, "y", y);
            no_overlap("y", y, "x", x);
            store(Y, at::mul(X, alpha), beta);
        });
    }

    void add(const ve_tensor& a, const ve_tensor& b, const ve_tensor& o) override {
        torch_call([&] {
            auto A = in("a", a, true);
            auto B = in("b", b, true);
            auto O = out("out", o, true);
            require_same_shape("a", a, "out", o);
            require_same_shape("b", b, "out", o);
            no_overlap_except_alias("out", o, "a", a);  // out may alias a or b exactly
            no_overlap_except_alias("out", o, "b", b);
            O.copy_(at::add(A, B));
        });
    }

    // ---- GEMM ------------------------------------------------------------------------------

    void gemm(bool ta, bool tb, float alpha, const ve_tensor& a, const ve_tensor& b, float beta,
              const ve_tensor& c) override {
        torch_call([&] {
            auto A = in("a", a, false);
            auto B = in("b", b, false);
            auto C = out("c", c, false);
            require(a.ndim >= 2 && a.ndim <= 4, "a must have 2..4 dims, got " + shape_str(a));
            require(b.ndim == a.ndim && c.ndim == a.ndim,
                    "a, b and c must have the same number of dims, got a " + shape_str(a) +
                        ", b " + shape_str(b) + ", c " + shape_str(c));
            for (int i = 0; i + 2 < a.ndim; ++i)
                require(a.shape[i] == b.shape[i] && a.shape[i] == c.shape[i],
                        "batch dims differ: a " + shape_str(a) + ", b " + shape_str(b) + ", c " +
                            shape_str(c));
            if (ta) A = A.transpose(-2, -1);
            if (tb) B = B.transpose(-2, -1);
            const int64_t M = A.size(-2), K = A.size(-1), K2 = B.size(-2), N = B.size(-1);
            require(K == K2, std::string("inner dims differ: op(a) is ") + sizes_str(A.sizes()) +
                                 ", op(b) is " + sizes_str(B.sizes()) + " (trans_a=" +
                                 (ta ? "1" : "0") + ", trans_b=" + (tb ? "1" : "0") + ")");
            std::vector<int64_t> expect(A.sizes().begin(), A.sizes().end());
            expect.back() = N;
            require(c.shape[c.ndim - 2] == M && c.shape[c.ndim - 1] == N,
                    "c has shape " + shape_str(c) + " but op(a) @ op(b) has shape " +
                        sizes_str(expect));
            no_overlap("c", c, "a", a);
            no_overlap("c", c, "b", b);
            at::Tensor r = at::matmul(A, B);
            if (alpha != 1.0f) r.mul_(alpha);
            store(C, r, beta);
        });
    }

    // ---- bias ------------------------------------------------------------------------------

    void bias_add(const ve_tensor& y, const ve_tensor& bias) override {
        torch_call([&] {
            auto Y = out("y", y, true);
            auto Bi = in("bias", bias, true);
            require_shape("bias", bias, {cols_of(y)});
            no_overlap("y", y, "bias", bias);
            auto Y2 = Y.view({rows_of(y), cols_of(y)});
            Y2.copy_(at::add(Y2, Bi.unsqueeze(0)));
        });
    }

    // The reference semantics of the fused op: the product, the bias, GELU, in turn.
    void linear_fwd(const ve_tensor& x, const ve_tensor& w, const ve_tensor* bias, int act, const ve_tensor& y) override {
        torch_call([&] {
            require(act == VE_ACT_NONE || act == VE_ACT_GELU, "act " + std::to_string(act) + " (must be none 0 or gelu 1)");
            require(x.ndim == 2 && w.ndim == 2 && y.ndim == 2,
                    "x, w and y must be 2-D, got x " + shape_str(x) + ", w " + shape_str(w) + ", y " + shape_str(y));
            require(x.shape[1] == w.shape[1] && y.shape[0] == x.shape[0] && y.shape[1] == w.shape[0],
                    "shapes do not chain: x " + shape_str(x) + ", w " + shape_str(w) + ", y " + shape_str(y));
            auto X = in("x", x, false);
            auto W = in("w", w, false);
            auto Y = out("y", y, true);
            no_overlap("y", y, "x", x);
            no_overlap("y", y, "w", w);
            at::Tensor r = at::matmul(X, W.t());
            if (bias) {
                require_shape("bias", *bias, {y.shape[1]});
                r = at::add(r, in("bias", *bias, true).unsqueeze(0));
            }
            if (act == VE_ACT_GELU) r = at::gelu(r, "none");
            Y.copy_(r);
        });
    }

    void bias_grad(const ve_tensor& dy, const ve_tensor& dbias, float beta) override {
        torch_call([&] {
            auto DY = in("dy", dy, true);
            auto DB = out("dbias", dbias, true);
            require_shape("dbias", dbias, {cols_of(dy)});
            no_overlap("dbias", dbias, "dy", dy);
            store(DB, DY.reshape({rows_of(dy), cols_of(dy)}).sum(0), beta);
        });
    }

    // ---- LayerNorm -------------------------------------------------------------------------

    void layernorm_fwd(const ve_tensor& x, const ve_tensor& gamma, const ve_tensor& beta, float eps,
                       const ve_tensor& y, const ve_tensor* mean, const ve_tensor* rstd) override {
        torch_call([&] {
            auto X = in("x", x, true);
            auto G = in("gamma", gamma, true);
            auto Bt = in("beta", beta, true);
            auto Y = out("y", y, true);
            const int64_t C = cols_of(x), R = rows_of(x);
            require_same_shape("x", x, "y", y);
            require_shape("gamma", gamma, {C});
            require_shape("beta", beta, {C});
            require(eps >= 0.0f, "eps must be >= 0");
            at::Tensor Mn, Rs;
            if (mean) {
                Mn = out("mean", *mean, true);
                require_numel("mean", *mean, R, "one per row of x");
            }
            if (rstd) {
                Rs = out("rstd", *rstd, true);
                require_numel("rstd", *rstd, R, "one per row of x");
            }
            std::vector<std::pair<const char*, const ve_tensor*>> outs = {{"y", &y}};
            if (mean) outs.emplace_back("mean", mean);
            if (rstd) outs.emplace_back("rstd", rstd);
            for (auto& [on, ot] : outs) {
                no_overlap(on, *ot, "x", x);
                no_overlap(on, *ot, "gamma", gamma);
                no_overlap(on, *ot, "beta", beta);
            }
            outputs_disjoint(outs);
            auto res = at::native_layer_norm(X, {C}, G, Bt, static_cast<double>(eps));
            Y.copy_(std::get<0>(res));
            if (mean) Mn.copy_(std::get<1>(res).reshape(Mn.sizes()));
            if (rstd) Rs.copy_(std::get<2>(res).reshape(Rs.sizes()));
        });
    }

    void layernorm_bwd(const ve_tensor& dy, const ve_tensor& x, const ve_tensor& gamma,
                       const ve_tensor& mean, const ve_tensor& rstd, const ve_tensor* dx,
                       float dx_beta, const ve_tensor* dgamma, const ve_tensor* dbeta,
                       float param_beta) override {
        torch_call([&] {
            auto DY = in("dy", dy, true);
            auto X = in("x", x, true);
            auto G = in("gamma", gamma, true);
            auto Mn = in("mean", mean, true);
            auto Rs = in("rstd", rstd, true);
            const int64_t C = cols_of(x), R = rows_of(x);
            require_same_shape("dy", dy, "x", x);
            require_shape("gamma", gamma, {C});
            require_numel("mean", mean, R, "one per row of x");
            require_numel("rstd", rstd, R, "one per row of x");
            at::Tensor DX, DG, DBt;
            std::vector<std::pair<const char*, const ve_tensor*>> outs;
            if (dx) {
                DX = out("dx", *dx, true);
                require_same_shape("dx", *dx, "x", x);
                outs.emplace_back("dx", dx);
            }
            if (dgamma) {
                DG = out("dgamma", *dgamma, true);
                require_shape("dgamma", *dgamma, {C});
                outs.emplace_back("dgamma", dgamma);
            }
            if (dbeta) {
                DBt = out("dbeta", *dbeta, true);
                require_shape("dbeta", *dbeta, {C});
                outs.emplace_back("dbeta", dbeta);
            }
            for (auto& [on, ot] : outs) {
                no_overlap(on, *ot, "dy", dy);
                no_overlap(on, *ot, "x", x);
                no_overlap(on, *ot, "gamma", gamma);
                no_overlap(on, *ot, "mean", mean);
                no_overlap(on, *ot, "rstd", rstd);
            }
            outputs_disjoint(outs);
            if (outs.empty()) return;
            // mean/rstd as native_layer_norm returns them: x's leading dims, then 1.
            std::vector<int64_t> stat_shape(X.sizes().begin(), X.sizes().end());
            stat_shape.back() = 1;
            // `bias` only tells the kernel dbeta's shape; its values are never read.
            auto res = at::native_layer_norm_backward(
                DY, X, {C}, Mn.reshape(stat_shape), Rs.reshape(stat_shape), G, at::zeros_like(G),
                {dx != nullptr, dgamma != nullptr, dbeta != nullptr});
            if (dx) store(DX, std::get<0>(res), dx_beta);
            if (dgamma) store(DG, std::get<1>(res), param_beta);
            if (dbeta) store(DBt, std::get<2>(res), param_beta);
        });
    }

    // ---- GELU (exact) ----------------------------------------------------------------------

    void gelu_fwd(const ve_tensor& x, const ve_tensor& y) override {
        torch_call([&] {
            auto X = in("x", x, true);
            auto Y = out("y", y, true);
            require_same_shape("x", x, "y", y);
            no_overlap("y", y, "x", x);
            Y.copy_(at::gelu(X, "none"));
        });
    }

    void gelu_bwd(const ve_tensor& dy, const ve_tensor& x, const ve_tensor& dx) override {
        torch_call([&] {
            auto DY = in("dy", dy, true);
            auto X = in("x", x, true);
            auto DX = out("dx", dx, true);
            require_same_shape("dy", dy, "x", x);
            require_same_shape("dx", dx, "x", x);
            no_overlap("dx", dx, "dy", dy);
            no_overlap("dx", dx, "x", x);
            DX.copy_(at::gelu_backward(DY, X, "none"));
        });
    }

    // ---- softmax ---------------------------------------------------------------------------

    void softmax_fwd(const ve_tensor& x, float scale, const ve_tensor& y) override {
        torch_call([&] {
            auto X = in("x", x, true);
            auto Y = out("y", y, true);
            require_same_shape("x", x, "y", y);
            no_overlap("y", y, "x", x);
            Y.copy_(at::_softmax(scale == 1.0f ? X : at::mul(X, scale), -1, false));
        });
    }

    void softmax_bwd(const ve_tensor& dy, const ve_tensor& y, float scale,
                     const ve_tensor& dx) override {
        torch_call([&] {
            auto DY = in("dy", dy, true);
            auto Y = in("y", y, true);
            auto DX = out("dx", dx, true);
            require_same_shape("dy", dy, "y", y);
            require_same_shape("dx", dx, "y", y);
            no_overlap("dx", dx, "dy", dy);
            no_overlap("dx", dx, "y", y);
            at::Tensor r = at::_softmax_backward_data(DY, Y, -1, at::kFloat);
            if (scale != 1.0f) r.mul_(scale);
            DX.copy_(r);
        });
    }

    // ---- patch embedding -------------------------------------------------------------------

    void im2col(const ve_tensor& images, int patch, const ve_tensor& cols) override {
        torch_call([&] {
            auto I = in("images", images, true);
            auto O = out("cols", cols, true);
            require_ndim("images", images, 4);
            require(patch > 0, "patch must be > 0, got " + std::to_string(patch));
            const int64_t N = images.shape[0], C = images.shape[1], H = images.shape[2],
                          W = images.shape[3], p = patch, gh = H / p, gw = W / p;
            require_shape("cols", cols, {N, gh * gw, C * p * p});
            no_overlap("cols", cols, "images", images);
            // [N, C, gh, p, gw, p] -> [N, gh, gw, C, p(ky), p(kx)] -> [N, gh*gw, C*p*p]
            auto t = I.slice(2, 0, gh * p).slice(3, 0, gw * p).reshape({N, C, gh, p, gw, p});
            O.copy_(t.permute({0, 2, 4, 1, 3, 5}).reshape({N, gh * gw, C * p * p}));
        });
    }

    void col2im(const ve_tensor& dcols, int patch, float beta, const ve_tensor& dimages) override {
        torch_call([&] {
            auto DC = in("dcols", dcols, true);
            auto DI = out("dimages", dimages, true);
            require_ndim("dimages", dimages, 4);
            require(patch > 0, "patch must be > 0, got " + std::to_string(patch));
            const int64_t N = dimages.shape[0], C = dimages.shape[1], H = dimages.shape[2],
                          W = dimages.shape[3], p = patch, gh = H / p, gw = W / p;
            require_shape("dcols", dcols, {N, gh * gw, C * p * p});
            no_overlap("dimages", dimages, "dcols", dcols);
            auto scattered = DC.reshape({N, gh, gw, C, p, p})
                                 .permute({0, 3, 1, 4, 2, 5})
                                 .reshape({N, C, gh * p, gw * p});
            at::Tensor full = at::zeros({N, C, H, W}, DI.options());
            full.slice(2, 0, gh * p).slice(3, 0, gw * p).copy_(scattered);
            store(DI, full, beta);
        });
    }

    // ---- tokens ----------------------------------------------------------------------------

    void tokens_fwd(const ve_tensor& patches, const ve_tensor& cls, const ve_tensor& pos,
                    const ve_tensor& tokens) override {
        torch_call([&] {
            auto Pa = in("patches", patches, true);
            auto Cl = in("cls", cls, true);
            auto Po = in("pos", pos, true);
            auto T = out("tokens", tokens, true);
            require_ndim("patches", patches, 3);
            const int64_t N = patches.shape[0], P = patches.shape[1], D = patches.shape[2];
            require_shape("cls", cls, {D});
            require_shape("pos", pos, {P + 1, D});
            require_shape("tokens", tokens, {N, P + 1, D});
            no_overlap("tokens", tokens, "patches", patches);
            no_overlap("tokens", tokens, "cls", cls);
            no_overlap("tokens", tokens, "pos", pos);
            auto seq = at::cat({Cl.view({1, 1, D}).expand({N, 1, D}), Pa}, 1);
            T.copy_(at::add(seq, Po.unsqueeze(0)));
        });
    }

    void tokens_bwd(const ve_tensor& dtokens, const ve_tensor* dpatches, const ve_tensor* dcls,
                    const ve_tensor* dpos, float param_beta) override {
        torch_call([&] {
            auto DT = in("dtokens", dtokens, true);
            require_ndim("dtokens", dtokens, 3);
            const int64_t N = dtokens.shape[0], P1 = dtokens.shape[1], D = dtokens.shape[2];
            require(P1 >= 1, "dtokens must have at least one token (the CLS), got " +
                                 shape_str(dtokens));
            std::vector<std::pair<const char*, const ve_tensor*>> outs;
            at::Tensor DP, DC, DPos;
            if (dpatches) {
                DP = out("dpatches", *dpatches, true);
                require_shape("dpatches", *dpatches, {N, P1 - 1, D});
                outs.emplace_back("dpatches", dpatches);
            }
            if (dcls) {
                DC = out("dcls", *dcls, true);
                require_shape("dcls", *dcls, {D});
                outs.emplace_back("dcls", dcls);
            }
            if (dpos) {
                DPos = out("dpos", *dpos, true);
                require_shape("dpos", *dpos, {P1, D});
                outs.emplace_back("dpos", dpos);
            }
            for (auto& [on, ot] : outs) no_overlap(on, *ot, "dtokens", dtokens);
            outputs_disjoint(outs);
            if (dpatches) DP.copy_(DT.slice(1, 1, P1));
            if (dcls) store(DC, DT.select(1, 0).sum(0), param_beta);
            if (dpos) store(DPos, DT.sum(0), param_beta);
        });
    }

    // ---- losses ----------------------------------------------------------------------------

    void cross_entropy(const ve_tensor& logits, const int32_t* labels, float label_smoothing,
                       float* loss_out, const ve_tensor* dlogits, float grad_scale) override {
        torch_call([&] {
            auto L = in("logits", logits, true);
            require_ndim("logits", logits, 2);
            const int64_t N = logits.shape[0], K = logits.shape[1];
            require(K > 0, "logits must have at least one class, got " + shape_str(logits));
            require(N == 0 || labels, "labels is NULL");
            at::Tensor DL;
            if (dlogits) {
                DL = out("dlogits", *dlogits, true);
                require_same_shape("dlogits", *dlogits, "logits", logits);
                no_overlap("dlogits", *dlogits, "logits", logits);
            }
            if (N == 0) return;
            std::vector<int64_t> lab(static_cast<size_t>(N));
            for (int64_t n = 0; n < N; ++n) {
                require(labels[n] >= 0 && labels[n] < K,
                        "labels[" + std::to_string(n) + "] = " + std::to_string(labels[n]) +
                            " is outside [0, " + std::to_string(K) + ")");
                lab[static_cast<size_t>(n)] = labels[n];
            }
            auto lab_t = at::from_blob(lab.data(), {N}, at::TensorOptions().dtype(at::kLong)).clone();
            const double s = label_smoothing;
            at::Tensor target =
                at::one_hot(lab_t, K).to(at::kFloat).mul_(1.0 - s).add_(s / static_cast<double>(K));
            at::Tensor logp = at::log_softmax(L, 1);
            if (loss_out) {
                at::Tensor loss = at::mul(target, logp).sum(1).neg_().contiguous();
                std::memcpy(loss_out, loss.data_ptr<float>(), static_cast<size_t>(N) * sizeof(float));
            }
            if (dlogits) DL.copy_(at::sub(at::softmax(L, 1), target).mul_(grad_scale));
        });
    }

    void kl_div(const ve_tensor& logits, const ve_tensor& target, float temperature,
                float* loss_out, const ve_tensor* dlogits, float grad_scale) override {
        torch_call([&] {
            auto L = in("logits", logits, true);
            auto P = in("target", target, true);
            require_ndim("logits", logits, 2);
            require_same_shape("target", target, "logits", logits);
            require(temperature > 0.0f, "temperature must be > 0, got " + std::to_string(temperature));
            const int64_t N = logits.shape[0];
            at::Tensor DL;
            if (dlogits) {
                DL = out("dlogits", *dlogits, true);
                require_same_shape("dlogits", *dlogits, "logits", logits);
                no_overlap("dlogits", *dlogits, "logits", logits);
                no_overlap("dlogits", *dlogits, "target", target);
            }
            const double T = temperature;
            at::Tensor z = at::div(L, T);
            if (loss_out) {
                at::Tensor logq = at::log_softmax(z, 1);
                // p = 0 terms contribute 0 (never 0 * log 0 or 0 * -inf).
                at::Tensor term = at::where(at::gt(P, 0), at::mul(P, at::sub(at::log(P), logq)),
                                            at::zeros_like(P));
                at::Tensor loss = term.sum(1).mul_(T * T).contiguous();
                std::memcpy(loss_out, loss.data_ptr<float>(), static_cast<size_t>(N) * sizeof(float));
            }
            if (dlogits) DL.copy_(at::sub(at::softmax(z, 1), P).mul_(static_cast<double>(grad_scale) * T));
        });
    }

    // ---- masked optimizer updates ----------------------------------------------------------

    void sgd_step(const ve_tensor& w, const ve_tensor& g, const ve_tensor* mask, int axis, float lr,
                  float weight_decay) override {
        torch_call([&] {
            auto W = out("w", w, true);
            auto G = in("g", g, true);
            require_same_shape("g", g, "w", w);
            no_overlap("w", w, "g", g);
            auto Wm = as_matrix(W, w);
            auto Gm = masked_grad(as_matrix(G, g), w, mask, axis, {{"w", &w}});
            // torch.optim.SGD (no momentum): d_p = g + wd * w; w -= lr * d_p
            at::Tensor d_p = weight_decay != 0.0f ? at::add(Gm, Wm, weight_decay) : Gm;
            Wm.add_(d_p, -static_cast<double>(lr));
        });
    }

    void rmsprop_step(const ve_tensor& w, const ve_tensor& g, const ve_tensor& sq,
                      const ve_tensor* mask, int axis, float lr, float alpha, float eps) override {
        torch_call([&] {
            auto W = out("w", w, true);
            auto G = in("g", g, true);
            auto S = out("sq", sq, true);
            require_same_shape("g", g, "w", w);
            require_same_shape("sq", sq, "w", w);
            no_overlap("w", w, "g", g);
            no_overlap("sq", sq, "g", g);
            outputs_disjoint({{"w", &w}, {"sq", &sq}});
            auto Wm = as_matrix(W, w);
            auto Sm = as_matrix(S, sq);
            auto Gm = masked_grad(as_matrix(G, g), w, mask, axis, {{"w", &w}, {"sq", &sq}});
            // torch.optim.RMSprop (no momentum, not centered, no weight decay)
            Sm.mul_(alpha).addcmul_(Gm, Gm, 1.0 - static_cast<double>(alpha));
            at::Tensor avg = Sm.sqrt().add_(eps);
            Wm.addcdiv_(Gm, avg, -static_cast<double>(lr));
        });
    }

    void adam_step(const ve_tensor& w, const ve_tensor& g, const ve_tensor& m, const ve_tensor& v,
                   const ve_tensor* mask, int axis, float lr, float beta1, float beta2, float eps,
                   float weight_decay, int64_t step) override {
        torch_call([&] {
            auto W = out("w", w, true);
            auto G = in("g", g, true);
            auto M = out("m", m, true);
            auto V = out("v", v, true);
            require_same_shape("g", g, "w", w);
            require_same_shape("m", m, "w", w);
            require_same_shape("v", v, "w", w);
            require(step >= 1, "step counts from 1, got " + std::to_string(step));
            no_overlap("w", w, "g", g);
            no_overlap("m", m, "g", g);
            no_overlap("v", v, "g", g);
            outputs_disjoint({{"w", &w}, {"m", &m}, {"v", &v}});
            auto Wm = as_matrix(W, w);
            auto Mm = as_matrix(M, m);
            auto Vm = as_matrix(V, v);
            at::Tensor maskb;
            auto Gm = masked_grad(as_matrix(G, g), w, mask, axis,
                                  {{"w", &w}, {"m", &m}, {"v", &v}}, &maskb);
            // torch.optim.AdamW (_single_tensor_adamw, amsgrad off, maximize off)
            const double lr_d = lr, wd = weight_decay, b1 = beta1, b2 = beta2;
            if (weight_decay != 0.0f) {
                if (maskb.defined())  // decay only where the mask lets the parameter move
                    Wm.mul_(at::mul(maskb, -lr_d * wd).add_(1.0));
                else
                    Wm.mul_(1.0 - lr_d * wd);
            }
            Mm.mul_(b1).add_(Gm, 1.0 - b1);
            Vm.mul_(b2).addcmul_(Gm, Gm, 1.0 - b2);
            const double bias_correction1 = 1.0 - std::pow(b1, static_cast<double>(step));
            const double bias_correction2 = 1.0 - std::pow(b2, static_cast<double>(step));
            const double step_size = lr_d / bias_correction1;
            const double bias_correction2_sqrt = std::sqrt(bias_correction2);
            at::Tensor denom = Vm.sqrt().div_(bias_correction2_sqrt).add_(static_cast<double>(eps));
            Wm.addcdiv_(Mm, denom, -step_size);
        });
    }

    void penalty_grad(const ve_tensor& w, const ve_tensor& w0, const ve_tensor& g, float c, int p) override {
        torch_call([&] {
            auto W = in("w", w, true);
            auto W0 = in("w0", w0, true);
            auto G = out("g", g, true);
            require_same_shape("w0", w0, "w", w);
            require_same_shape("g", g, "w", w);
            require(p == 1 || p == 2, "p must be 1 or 2, got " + std::to_string(p));
            no_overlap("g", g, "w", w);
            no_overlap("g", g, "w0", w0);
            at::Tensor diff = at::sub(W, W0);
            if (p == 1) G.add_(at::sign(diff), static_cast<double>(c));
            else G.add_(diff, 2.0 * static_cast<double>(c));
        });
    }

private:
    // Runs an op body with autograd off, turning LibTorch errors into std::runtime_error with
    // the message's first line (no C++ backtrace in the user's face).
    template <class F>
    void torch_call(F&& f) {
        try {
            c10::InferenceMode guard;
            f();
        } catch (const c10::Error& e) {
            throw std::runtime_error("LibTorch: " + first_line(e.what_without_backtrace()));
        }
    }

    void log(int32_t level, const std::string& msg) const {
        if (host_ && host_->log && host_->struct_size >= offsetof(ve_host_api, log) + sizeof(void*))
            host_->log(host_->host, level, msg.c_str());
    }

    static void parse_config(const char* config, int& threads) {
        try {
            vitedit::author::for_each_config_item(config, [&](const std::string& key, const std::string& value) {
                if (key != "threads") throw std::invalid_argument("torch backend: unknown config key '" + key + "' (known: threads=N)");
                threads = static_cast<int>(vitedit::author::config_integer("torch", key, value, 1, 4096, "a thread count"));
            });
        } catch (const std::invalid_argument& e) {
            throw Invalid(e.what());
        }
    }

    // Bytes [off, off + bytes) must lie in an allocation of this backend.
    void check_range(const char* what, ve_buffer b, uint64_t off, uint64_t bytes) {
        require(b != nullptr, std::string(what) + " buffer is NULL");
        uint64_t size = 0;
        {
            std::lock_guard<std::mutex> lk(mu_);
            auto it = allocs_.find(reinterpret_cast<std::uintptr_t>(b));
            require(it != allocs_.end(),
                    std::string(what) + " buffer was not allocated by this backend (or was freed)");
            size = it->second;
        }
        require(off <= size && bytes <= size - off,
                std::string(what) + ": bytes [" + std::to_string(off) + ", " +
                    std::to_string(off + bytes) + ") exceed the allocation of " +
                    std::to_string(size) + " bytes");
    }

    // A validated ATen view of a descriptor (no copy).
    at::Tensor wrap(const char* what, const ve_tensor& t, bool need_contiguous) {
        const std::string n(what);
        require(t.dtype == VE_F32, n + " has dtype " + std::to_string(t.dtype) +
                                       "; this backend supports F32 only");
        require(t.ndim >= 1 && t.ndim <= VE_MAX_DIMS,
                n + " has ndim " + std::to_string(t.ndim) + ", expected 1.." +
                    std::to_string(VE_MAX_DIMS));
        for (int i = 0; i < t.ndim; ++i) {
            require(t.shape[i] >= 0, n + " has a negative size: " + shape_str(t));
            require(t.stride[i] >= 0, n + " has a negative stride");
        }
        require(t.offset % sizeof(float) == 0,
                n + " offset " + std::to_string(t.offset) + " is not a multiple of 4 bytes");
        if (need_contiguous)
            require(contiguous(t), n + " must be contiguous (row-major dense), shape " +
                                       shape_str(t) + " has other strides");
        // Sizes and strides must not overflow: numel and the furthest element offset in int64.
        int64_t count = 1, last = 0;
        for (int i = 0; i < t.ndim; ++i) {
            int64_t span = 0;
            bool ovf = __builtin_mul_overflow(count, t.shape[i], &count);
            if (t.shape[i] > 0) {
                ovf = ovf || __builtin_mul_overflow(t.shape[i] - 1, t.stride[i], &span) ||
                      __builtin_add_overflow(last, span, &last);
            }
            require(!ovf, n + ": shape " + shape_str(t) + " with its strides overflows int64");
        }
        require(t.offset < (uint64_t(1) << 62) && last < (int64_t(1) << 60),
                n + ": offset " + std::to_string(t.offset) + " or shape " + shape_str(t) +
                    " with its strides is out of any allocation's range");
        uint64_t extent = 0;
        if (count > 0) extent = static_cast<uint64_t>(last_index(t) - first_index(t) + 1) * kElem;
        check_range(what, t.buffer, t.offset, extent);
        auto* base = reinterpret_cast<char*>(t.buffer) + t.offset;
        return at::from_blob(base, at::IntArrayRef(t.shape, static_cast<size_t>(t.ndim)),
                             at::IntArrayRef(t.stride, static_cast<size_t>(t.ndim)),
                             at::TensorOptions().dtype(at::kFloat).device(at::kCPU));
    }

    at::Tensor in(const char* what, const ve_tensor& t, bool need_contiguous) {
        return wrap(what, t, need_contiguous);
    }

    at::Tensor out(const char* what, const ve_tensor& t, bool need_contiguous) {
        at::Tensor r = wrap(what, t, need_contiguous);
        require(!self_overlaps(t), std::string(what) +
                                       " is an output but its strides name some element twice");
        return r;
    }

    static void no_overlap(const char* on, const ve_tensor& o, const char* inn, const ve_tensor& i) {
        require(!overlaps(o, i), std::string("output ") + on + " overlaps input " + inn +
                                     " (outputs may not alias inputs for this op)");
    }

    static void no_overlap_except_alias(const char* on, const ve_tensor& o, const char* inn,
                                        const ve_tensor& i) {
        require(same_view(o, i) || !overlaps(o, i),
                std::string("output ") + on + " partially overlaps input " + inn +
                    " (only an exact alias is allowed)");
    }

    static void outputs_disjoint(const std::vector<std::pair<const char*, const ve_tensor*>>& outs) {
        for (size_t a = 0; a < outs.size(); ++a)
            for (size_t b = a + 1; b < outs.size(); ++b)
                require(!overlaps(*outs[a].second, *outs[b].second),
                        std::string("outputs ") + outs[a].first + " and " + outs[b].first +
                            " overlap");
    }

    // A contiguous parameter-shaped tensor seen as [R, C] (a 1-D parameter is [1, C]).
    static at::Tensor as_matrix(const at::Tensor& t, const ve_tensor& d) {
        return t.view({rows_of(d), cols_of(d)});
    }

    // g * mask (mask broadcast over rows or columns), or g itself when mask is NULL.
    at::Tensor masked_grad(const at::Tensor& g, const ve_tensor& w, const ve_tensor* mask, int axis,
                           const std::vector<std::pair<const char*, const ve_tensor*>>& outs,
                           at::Tensor* mask_broadcast = nullptr) {
        if (!mask) return g;
        require(axis == VE_MASK_ROWS || axis == VE_MASK_COLS,
                "axis must be VE_MASK_ROWS (0) or VE_MASK_COLS (1), got " + std::to_string(axis));
        at::Tensor mk = in("mask", *mask, true);
        require_ndim("mask", *mask, 1);
        const int64_t R = rows_of(w), C = cols_of(w);
        if (axis == VE_MASK_ROWS)
            require(mask->shape[0] == R, "mask has shape " + shape_str(*mask) +
                                             " but w viewed as [R, C] has R = " + std::to_string(R) +
                                             " rows (axis VE_MASK_ROWS)");
        else
            require(mask->shape[0] == C, "mask has shape " + shape_str(*mask) +
                                             " but w viewed as [R, C] has C = " + std::to_string(C) +
                                             " columns (axis VE_MASK_COLS)");
        for (auto& [on, ot] : outs) no_overlap(on, *ot, "mask", *mask);
        at::Tensor mb = axis == VE_MASK_ROWS ? mk.view({R, 1}) : mk.view({1, C});
        if (mask_broadcast) *mask_broadcast = mb;
        return at::mul(g, mb);
    }

    const ve_host_api* host_;
    std::mutex mu_;
    std::unordered_map<std::uintptr_t, uint64_t> allocs_;  // address -> requested bytes
};

int32_t probe(std::string& reason) {
    try {
        c10::InferenceMode guard;
        at::Tensor t = at::ones({2, 2});
        if (at::matmul(t, t).sum().item<float>() != 8.0f) {
            reason = "LibTorch CPU gives a wrong 2x2 matmul";
            return 0;
        }
    } catch (const std::exception& e) {
        reason = "LibTorch CPU is not usable: " + first_line(e.what());
        return 0;
    }
    reason.clear();
    return 10;
}

}  // namespace

VITEDIT_DEFINE_BACKEND(TorchBackend, "torch", "LibTorch 1.13 CPU reference backend", "0.1.0", probe)

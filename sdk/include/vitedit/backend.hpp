// vitedit — the engine-side C++ view of a backend: RAII tensors and checked op calls.
//
// vitedit::Backend wraps a created ve_backend. Every op call checks its status and throws
// vitedit::Error naming the op and the backend ("onednn.gemm: ..."), or says the op is
// unsupported when the backend left the entry NULL.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "vitedit/backend.h"

namespace vitedit {

struct Error : std::runtime_error { using std::runtime_error::runtime_error; };

class Backend;

// A shape of up to 4 dims.
using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);

// A view into a reference-counted backend buffer. Copying a Tensor copies the view, not data.
class Tensor {
public:
    Tensor() = default;
    // A non-owning view of a tensor another party owns (e.g. a site weight handed to a plugin).
    // The owner must outlive the view; bounds of further views cannot be checked.
    static Tensor wrap(std::shared_ptr<Backend> backend, const ve_tensor& desc);
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
    Backend(std::string name, ve_backend be, std::shared_ptr<void> library_keepalive);
    // A non-owning wrapper over an instance someone else created (the host's backend as a
    // plugin sees it): destroying the wrapper leaves the instance alone.
    static std::shared_ptr<Backend> borrow(const ve_backend& be, std::string name = "host backend");
    ~Backend();
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
    void penalty_grad(const Tensor& w, const Tensor& w0, const Tensor& g, float c, int p);
    // ABI 1.2 (see backend.h). has_unit_ops(): whether this backend runs them (probed once).
    bool has_unit_ops();
    void gather_units(const Tensor& src, int axis, const std::vector<int32_t>& index, const Tensor& dst);
    void scatter_units(const Tensor& src, int axis, const std::vector<int32_t>& index, const Tensor& dst);
    // ABI 1.3: y = act(x @ w^T + bias) (bias may be null; act VE_ACT_NONE or VE_ACT_GELU), in one
    // op where the backend fuses it (has_fused_linear(), probed once), else as gemm, bias_add and
    // gelu_fwd.
    bool has_fused_linear();
    void linear_fwd(const Tensor& x, const Tensor& w, const Tensor* bias, int act, const Tensor& y);

    // Opt-in per-op timing of every op call through any wrapper in this process — the host's and
    // the ones plugins make with borrow(), which share this library — to see where the time of an
    // edit step goes (`vitedit perf --profile`). Each profiled op is followed by a synchronize so
    // that a device backend's time lands on the op that caused it; GEMMs are keyed by their
    // transpositions and shape.
    struct OpTime {
        int64_t calls = 0;
        double seconds = 0;
        double flops = 0;  // GEMMs only
    };
    static void set_profiling(bool on);
    static void reset_profile();
    static std::map<std::string, OpTime> profile();

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
    int unit_ops_ = -1;  // has_unit_ops(): -1 not probed yet
    int fused_linear_ = -1;  // has_fused_linear(): -1 not probed yet
    friend struct OpTimer;
};

}  // namespace vitedit

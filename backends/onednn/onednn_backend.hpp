// The oneDNN CPU backend: host memory, oneDNN matmul/eltwise/softmax primitives, and plain
// (OpenMP-parallel, compiler-vectorized) loops for everything else. One dnnl::engine and one
// dnnl::stream per instance; every op completes before it returns.
//
// An instance is meant to be driven from one thread at a time (the engine does so); only
// alloc/free/upload/download may be called concurrently.
#pragma once

#include <memory>
#include <string>

#include <dnnl.hpp>

#include "softmax_primitives.hpp"
#include "buffer_registry.hpp"
#include "gemm.hpp"
#include "packed_weights.hpp"
#include "tensor_view.hpp"
#include "vitedit/backend_author.hpp"

namespace vitedit::onednn {

class OnednnBackend final : public author::BackendBase {
public:
    OnednnBackend(const ve_host_api* host, const char* config);
    ~OnednnBackend() override;
    OnednnBackend(const OnednnBackend&) = delete;
    OnednnBackend& operator=(const OnednnBackend&) = delete;

    const char* name() const override { return "onednn"; }
    bool provides(const std::string& name) const override { return name == VE_EXT_PENALTY || name == VE_EXT_UNITS || name == VE_EXT_LINEAR; }

    // memory (onednn_backend.cpp)
    ve_buffer alloc(uint64_t bytes) override;
    void free(ve_buffer b) override;
    void upload(ve_buffer dst, uint64_t off, const void* src, uint64_t bytes) override;
    void download(ve_buffer src, uint64_t off, void* dst, uint64_t bytes) override;
    void synchronize() override;

    // elementwise.cpp
    void copy(const ve_tensor& src, const ve_tensor& dst) override;
    void fill(const ve_tensor& dst, float value) override;
    void axpby(float alpha, const ve_tensor& x, float beta, const ve_tensor& y) override;
    void add(const ve_tensor& a, const ve_tensor& b, const ve_tensor& out) override;
    void bias_add(const ve_tensor& y, const ve_tensor& bias) override;
    void bias_grad(const ve_tensor& dy, const ve_tensor& dbias, float beta) override;

    // gemm.cpp (GemmPlanner)
    void gemm(bool trans_a, bool trans_b, float alpha, const ve_tensor& a, const ve_tensor& b,
              float beta, const ve_tensor& c) override;
    // y = act(x @ w^T + bias): the bias and GELU as the GEMM's epilogue
    void linear_fwd(const ve_tensor& x, const ve_tensor& w, const ve_tensor* bias, int act,
                    const ve_tensor& y) override;

    // layernorm.cpp
    void layernorm_fwd(const ve_tensor& x, const ve_tensor& gamma, const ve_tensor& beta, float eps,
                       const ve_tensor& y, const ve_tensor* mean, const ve_tensor* rstd) override;
    void layernorm_bwd(const ve_tensor& dy, const ve_tensor& x, const ve_tensor& gamma,
                       const ve_tensor& mean, const ve_tensor& rstd, const ve_tensor* dx,
                       float dx_beta, const ve_tensor* dgamma, const ve_tensor* dbeta,
                       float param_beta) override;

    // activation_ops.cpp (gelu.hpp kernels, SoftmaxPrimitives)
    void gelu_fwd(const ve_tensor& x, const ve_tensor& y) override;
    void gelu_bwd(const ve_tensor& dy, const ve_tensor& x, const ve_tensor& dx) override;
    void softmax_fwd(const ve_tensor& x, float scale, const ve_tensor& y) override;
    void softmax_bwd(const ve_tensor& dy, const ve_tensor& y, float scale,
                     const ve_tensor& dx) override;

    // patches.cpp
    void im2col(const ve_tensor& images, int patch, const ve_tensor& cols) override;
    void col2im(const ve_tensor& dcols, int patch, float beta, const ve_tensor& dimages) override;
    void tokens_fwd(const ve_tensor& patches, const ve_tensor& cls, const ve_tensor& pos,
                    const ve_tensor& tokens) override;
    void tokens_bwd(const ve_tensor& dtokens, const ve_tensor* dpatches, const ve_tensor* dcls,
                    const ve_tensor* dpos, float param_beta) override;

    // losses.cpp
    void cross_entropy(const ve_tensor& logits, const int32_t* labels, float label_smoothing,
                       float* loss_out, const ve_tensor* dlogits, float grad_scale) override;
    void kl_div(const ve_tensor& logits, const ve_tensor& target, float temperature,
                float* loss_out, const ve_tensor* dlogits, float grad_scale) override;

    // optimizers.cpp
    void sgd_step(const ve_tensor& w, const ve_tensor& g, const ve_tensor* mask, int axis,
                  float lr, float weight_decay) override;
    void rmsprop_step(const ve_tensor& w, const ve_tensor& g, const ve_tensor& sq,
                      const ve_tensor* mask, int axis, float lr, float alpha, float eps) override;
    void adam_step(const ve_tensor& w, const ve_tensor& g, const ve_tensor& m, const ve_tensor& v,
                   const ve_tensor* mask, int axis, float lr, float beta1, float beta2, float eps,
                   float weight_decay, int64_t step) override;

    // penalty.cpp
    void penalty_grad(const ve_tensor& w, const ve_tensor& w0, const ve_tensor& g, float c,
                      int p) override;

    // units.cpp
    void gather_units(const ve_tensor& src, int axis, const int32_t* index, int64_t count,
                      const ve_tensor& dst) override;
    void scatter_units(const ve_tensor& src, int axis, const int32_t* index, int64_t count,
                       const ve_tensor& dst) override;

private:
    // Views of the op's operands. An operand the op writes must be made with out(): it tells the
    // packed-weights cache that those bytes changed (a stale packed copy would be a silent bug).
    View view(const ve_tensor& t, const char* name) const { return make_view(buffers_, &t, name); }
    View view(const ve_tensor* t, const char* name) const { return make_view(buffers_, t, name); }
    View out(const ve_tensor& t, const char* name);
    View out(const ve_tensor* t, const char* name) { return out(*t, name); }
    void log(int level, const std::string& message) const;
    void configure(const char* config);
    void require_bf16_matmul() const;

    const ve_host_api* host_;
    BufferRegistry buffers_;
    dnnl::engine engine_;
    dnnl::stream stream_;
    GemmSettings gemm_settings_;      // configure() fills it (its `packed` is packed_)
    size_t packed_budget_mb_ = 1024;  // weight_cache_mb
    std::unique_ptr<PackedWeights> packed_;
    std::unique_ptr<GemmPlanner> gemm_;  // built after configure()
    std::unique_ptr<SoftmaxPrimitives> softmax_prims_;
};

}  // namespace vitedit::onednn

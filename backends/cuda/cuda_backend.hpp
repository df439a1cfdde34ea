// The CUDA backend: device memory from a stream-ordered pool, cuBLAS in strict FP32 for every
// GEMM, CUDA kernels for the rest. One device, one non-blocking cudaStream and one cuBLAS handle
// per instance; ops are enqueued and return at once. The host waits only in download(),
// synchronize(), upload() of more than a staging buffer, and the ops that return host values
// (cross_entropy and kl_div, documented as synchronous).
//
// Errors of asynchronous work surface at the next synchronization (download/synchronize) with
// the CUDA error named; argument errors are reported by the op itself, before anything is queued.
//
// An instance is meant to be driven from one thread at a time (the engine does so); only
// alloc/free/upload/download may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "device_memory.hpp"
#include "tensor_view.hpp"
#include "vitedit/backend_author.hpp"

namespace vitedit::cuda {

class CudaBackend final : public author::BackendBase {
public:
    CudaBackend(const ve_host_api* host, const char* config);
    ~CudaBackend() override;
    CudaBackend(const CudaBackend&) = delete;
    CudaBackend& operator=(const CudaBackend&) = delete;

    const char* name() const override { return "cuda"; }
    bool provides(const std::string& name) const override { return name == VE_EXT_PENALTY || name == VE_EXT_UNITS || name == VE_EXT_LINEAR; }

    // memory (cuda_backend.cpp, device_memory.cpp)
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

    // gemm.cpp
    void gemm(bool trans_a, bool trans_b, float alpha, const ve_tensor& a, const ve_tensor& b,
              float beta, const ve_tensor& c) override;

    // layernorm.cpp
    void layernorm_fwd(const ve_tensor& x, const ve_tensor& gamma, const ve_tensor& beta, float eps,
                       const ve_tensor& y, const ve_tensor* mean, const ve_tensor* rstd) override;
    void layernorm_bwd(const ve_tensor& dy, const ve_tensor& x, const ve_tensor& gamma,
                       const ve_tensor& mean, const ve_tensor& rstd, const ve_tensor* dx,
                       float dx_beta, const ve_tensor* dgamma, const ve_tensor* dbeta,
                       float param_beta) override;

    // gelu.cpp
    void gelu_fwd(const ve_tensor& x, const ve_tensor& y) override;
    void gelu_bwd(const ve_tensor& dy, const ve_tensor& x, const ve_tensor& dx) override;

    // softmax.cpp
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
    void penalty_grad(const ve_tensor& w, const ve_tensor& w0, const ve_tensor& g, float c,
                      int p) override;

    // units.cpp (ABI 1.2; optional ops, answered by the thunks of backend_author.hpp)
    void gather_units(const ve_tensor& src, int axis, const int32_t* index, int64_t count,
                      const ve_tensor& dst) override;
    void scatter_units(const ve_tensor& src, int axis, const int32_t* index, int64_t count,
                       const ve_tensor& dst) override;

    // linear.cpp (ABI 1.3)
    void linear_fwd(const ve_tensor& x, const ve_tensor& w, const ve_tensor* bias, int act,
                    const ve_tensor& y) override;

private:
    View view(const ve_tensor& t, const char* name) const { return make_view(*memory_, &t, name); }
    View view(const ve_tensor* t, const char* name) const { return make_view(*memory_, t, name); }
    // Makes this instance's device current for the calling thread (ops may come from a thread
    // other than the one that created the instance).
    void activate() const;
    // Throws with the op's context when a launcher reports an error.
    static void launched(cudaError_t e, const char* what);
    // Waits for the stream; names the op that waited.
    void wait(const char* what);
    void log(int level, const std::string& message) const;
    void configure(const char* config);
    // gemm.cpp: c = alpha * op(a) @ op(b) + beta * c on validated views (gemm and linear_fwd).
    void product(bool trans_a, bool trans_b, float alpha, const View& a, const View& b, float beta,
                 const View& c);
    // units.cpp: the device copy of a host index list (count int32, already range-checked),
    // valid for the work queued until the next call.
    const int32_t* device_index(const int32_t* index, int64_t count);

    const ve_host_api* host_;
    int device_ = 0;
    bool pedantic_ = false;  // cuBLAS CUBLAS_PEDANTIC_MATH instead of DEFAULT_MATH
    cudaStream_t stream_ = nullptr;
    cublasHandle_t blas_ = nullptr;
    std::unique_ptr<DeviceMemory> memory_;
    // The unit ops' device index buffer (units.cpp): its size in bytes and the list it holds.
    ve_buffer index_buffer_ = nullptr;
    uint64_t index_capacity_ = 0;
    std::vector<int32_t> index_held_;
};

}  // namespace vitedit::cuda

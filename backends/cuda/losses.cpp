// Cross-entropy with label smoothing and temperature-scaled KL: validation here, kernels in
// losses_kernels.cu. Both are synchronous (backend.h): the per-sample losses are copied back and
// the op returns when its results, including dlogits, are complete.
#include <cmath>
#include <string>

#include "cuda_backend.hpp"
#include "cuda_errors.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

namespace {
size_t aligned(size_t n) { return (n + 255) / 256 * 256; }
}  // namespace

void CudaBackend::cross_entropy(const ve_tensor& logits_t, const int32_t* labels, float label_smoothing,
                                float* loss_out, const ve_tensor* dlogits_t, float grad_scale) {
    View logits = view(logits_t, "logits");
    require_ndim(logits, 2, 2);
    require_contiguous(logits);
    const int64_t N = logits.shape[0], K = logits.shape[1];
    float* dl = nullptr;
    if (dlogits_t) {
        View d = view(dlogits_t, "dlogits");
        require_same_shape(d, logits);
        require_contiguous(d);
        dl = d.data;
    }
    author::require_labels(logits, labels, label_smoothing);
    if (N == 0) return;
    activate();
    // scratch: labels (int32) then losses (float)
    const size_t label_bytes = aligned(static_cast<size_t>(N) * sizeof(int32_t));
    auto* base = static_cast<unsigned char*>(memory_->scratch(label_bytes + static_cast<size_t>(N) * sizeof(float)));
    auto* dev_labels = reinterpret_cast<int32_t*>(base);
    float* dev_loss = loss_out ? reinterpret_cast<float*>(base + label_bytes) : nullptr;
    check_cuda(cudaMemcpyAsync(dev_labels, labels, static_cast<size_t>(N) * sizeof(int32_t),
                               cudaMemcpyHostToDevice, stream_),
               "cross_entropy: copying the labels to the device");
    launched(kernels::cross_entropy(N, K, logits.data, dev_labels, label_smoothing, dev_loss, dl, grad_scale, stream_),
             "the cross_entropy kernel");
    if (loss_out)
        check_cuda(cudaMemcpyAsync(loss_out, dev_loss, static_cast<size_t>(N) * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream_),
                   "cross_entropy: copying the losses back");
    wait("cross_entropy");
}

void CudaBackend::kl_div(const ve_tensor& logits_t, const ve_tensor& target_t, float temperature,
                         float* loss_out, const ve_tensor* dlogits_t, float grad_scale) {
    View logits = view(logits_t, "logits"), target = view(target_t, "target");
    author::require_kl_inputs(logits, target);
    float* dl = nullptr;
    if (dlogits_t) {
        View d = view(dlogits_t, "dlogits");
        require_same_shape(d, logits);
        require_contiguous(d);
        dl = d.data;
    }
    if (!(temperature > 0.0f) || !std::isfinite(temperature))
        fail("temperature " + std::to_string(temperature) + " must be positive and finite");
    const int64_t N = logits.shape[0], K = logits.shape[1];
    if (N == 0) return;
    activate();
    float* dev_loss = loss_out ? static_cast<float*>(memory_->scratch(static_cast<size_t>(N) * sizeof(float))) : nullptr;
    launched(kernels::kl_div(N, K, logits.data, target.data, temperature, dev_loss, dl, grad_scale, stream_),
             "the kl_div kernel");
    if (loss_out)
        check_cuda(cudaMemcpyAsync(loss_out, dev_loss, static_cast<size_t>(N) * sizeof(float),
                                   cudaMemcpyDeviceToHost, stream_),
                   "kl_div: copying the losses back");
    wait("kl_div");
}

}  // namespace vitedit::cuda

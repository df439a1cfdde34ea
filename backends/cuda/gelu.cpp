// Exact GELU forward/backward: validation here, kernels in gelu_kernels.cu.
#include "cuda_backend.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

void CudaBackend::gelu_fwd(const ve_tensor& x_t, const ve_tensor& y_t) {
    View x = view(x_t, "x"), y = view(y_t, "y");
    require_same_shape(x, y);
    require_contiguous(x);
    require_contiguous(y);
    activate();
    launched(kernels::gelu_fwd(x.numel, x.data, y.data, stream_), "the gelu_fwd kernel");
}

void CudaBackend::gelu_bwd(const ve_tensor& dy_t, const ve_tensor& x_t, const ve_tensor& dx_t) {
    View dy = view(dy_t, "dy"), x = view(x_t, "x"), dx = view(dx_t, "dx");
    require_same_shape(dy, x);
    require_same_shape(dx, x);
    require_contiguous(dy);
    require_contiguous(x);
    require_contiguous(dx);
    activate();
    launched(kernels::gelu_bwd(x.numel, dy.data, x.data, dx.data, stream_), "the gelu_bwd kernel");
}

}  // namespace vitedit::cuda

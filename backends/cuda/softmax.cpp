// Softmax over the last dim of scale * x: validation here, kernels in softmax_kernels.cu.
#include "cuda_backend.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

void CudaBackend::softmax_fwd(const ve_tensor& x_t, float scale, const ve_tensor& y_t) {
    View x = view(x_t, "x"), y = view(y_t, "y");
    require_same_shape(x, y);
    require_contiguous(x);
    require_contiguous(y);
    activate();
    launched(kernels::softmax_fwd(y.rows(), y.last(), x.data, scale, y.data, stream_), "the softmax_fwd kernel");
}

void CudaBackend::softmax_bwd(const ve_tensor& dy_t, const ve_tensor& y_t, float scale,
                              const ve_tensor& dx_t) {
    View dy = view(dy_t, "dy"), y = view(y_t, "y"), dx = view(dx_t, "dx");
    require_same_shape(dy, y);
    require_same_shape(dx, y);
    require_contiguous(dy);
    require_contiguous(y);
    require_contiguous(dx);
    activate();
    launched(kernels::softmax_bwd(y.rows(), y.last(), dy.data, y.data, scale, dx.data, stream_),
             "the softmax_bwd kernel");
}

}  // namespace vitedit::cuda

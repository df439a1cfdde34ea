// copy, fill, axpby, add, bias_add, bias_grad: validation here, kernels in elementwise_kernels.cu.
#include "cuda_backend.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

void CudaBackend::copy(const ve_tensor& src_t, const ve_tensor& dst_t) {
    View src = view(src_t, "src"), dst = view(dst_t, "dst");
    require_same_shape(src, dst);
    require_no_zero_stride(dst, "destination");
    activate();
    launched(kernels::strided_copy(dst.nd, dst.shape, src.data, src.stride, dst.data, dst.stride, stream_),
             "the strided copy kernel");
}

void CudaBackend::fill(const ve_tensor& dst_t, float value) {
    View dst = view(dst_t, "dst");
    require_contiguous(dst);
    activate();
    launched(kernels::fill(dst.data, dst.numel, value, stream_), "the fill kernel");
}

void CudaBackend::axpby(float alpha, const ve_tensor& x_t, float beta, const ve_tensor& y_t) {
    View x = view(x_t, "x"), y = view(y_t, "y");
    require_same_shape(x, y);
    require_contiguous(x);
    require_contiguous(y);
    activate();
    launched(kernels::axpby(y.numel, alpha, x.data, beta, y.data, stream_), "the axpby kernel");
}

void CudaBackend::add(const ve_tensor& a_t, const ve_tensor& b_t, const ve_tensor& out_t) {
    View a = view(a_t, "a"), b = view(b_t, "b"), out = view(out_t, "out");
    require_same_shape(a, b);
    require_same_shape(a, out);
    require_contiguous(a);
    require_contiguous(b);
    require_contiguous(out);
    activate();
    launched(kernels::add(out.numel, a.data, b.data, out.data, stream_), "the add kernel");
}

void CudaBackend::bias_add(const ve_tensor& y_t, const ve_tensor& bias_t) {
    View y = view(y_t, "y"), bias = view(bias_t, "bias");
    require_contiguous(y);
    const int64_t C = y.last(), R = y.rows();
    require_vector(bias, C, "the last dim of y");
    activate();
    launched(kernels::bias_add(R, C, y.data, bias.data, stream_), "the bias_add kernel");
}

void CudaBackend::bias_grad(const ve_tensor& dy_t, const ve_tensor& dbias_t, float beta) {
    View dy = view(dy_t, "dy"), dbias = view(dbias_t, "dbias");
    require_contiguous(dy);
    const int64_t C = dy.last(), R = dy.rows();
    require_vector(dbias, C, "the last dim of dy");
    if (C == 0) return;
    activate();
    void* scratch = memory_->scratch(kernels::column_sum_scratch_bytes(1, R, C));
    launched(kernels::column_sum(R, C, dy.data, C, dbias.data, beta, scratch, stream_),
             "the bias_grad column sum");
}

}  // namespace vitedit::cuda

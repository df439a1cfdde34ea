// Patch embedding (im2col/col2im) and token assembly (tokens_fwd/bwd): validation here, kernels
// in patches_kernels.cu (tokens_bwd reuses the strided copy and the column sum).
#include <string>

#include "cuda_backend.hpp"
#include "kernels.hpp"

namespace vitedit::cuda {

namespace {

kernels::PatchGrid grid_of(const View& images, const View& cols, int patch) {
    require_ndim(images, 4, 4);
    require_contiguous(images);
    require_ndim(cols, 3, 3);
    require_contiguous(cols);
    if (patch < 1) fail("patch size " + std::to_string(patch) + " must be >= 1");
    kernels::PatchGrid g{images.shape[0], images.shape[1], images.shape[2], images.shape[3], patch, 0, 0};
    g.gh = g.H / g.p;
    g.gw = g.W / g.p;
    if (cols.shape[0] != g.N || cols.shape[1] != g.patches() || cols.shape[2] != g.cols())
        fail(describe(cols) + " must be [" + std::to_string(g.N) + "," + std::to_string(g.patches()) + "," +
             std::to_string(g.cols()) + "] for " + describe(images) + " and patch " + std::to_string(patch));
    return g;
}

}  // namespace

void CudaBackend::im2col(const ve_tensor& images_t, int patch, const ve_tensor& cols_t) {
    View images = view(images_t, "images"), cols = view(cols_t, "cols");
    const kernels::PatchGrid g = grid_of(images, cols, patch);
    activate();
    launched(kernels::im2col(g, images.data, cols.data, stream_), "the im2col kernel");
}

void CudaBackend::col2im(const ve_tensor& dcols_t, int patch, float beta, const ve_tensor& dimages_t) {
    View dcols = view(dcols_t, "dcols"), dimages = view(dimages_t, "dimages");
    const kernels::PatchGrid g = grid_of(dimages, dcols, patch);
    activate();
    launched(kernels::col2im(g, dcols.data, beta, dimages.data, stream_), "the col2im kernel");
}

void CudaBackend::tokens_fwd(const ve_tensor& patches_t, const ve_tensor& cls_t, const ve_tensor& pos_t,
                             const ve_tensor& tokens_t) {
    View patches = view(patches_t, "patches"), cls = view(cls_t, "cls"), pos = view(pos_t, "pos");
    View tokens = view(tokens_t, "tokens");
    require_ndim(patches, 3, 3);
    require_contiguous(patches);
    require_ndim(tokens, 3, 3);
    require_contiguous(tokens);
    const int64_t N = patches.shape[0], P = patches.shape[1], D = patches.shape[2];
    if (tokens.shape[0] != N || tokens.shape[1] != P + 1 || tokens.shape[2] != D)
        fail(describe(tokens) + " must be [" + std::to_string(N) + "," + std::to_string(P + 1) + "," +
             std::to_string(D) + "] for " + describe(patches));
    require_vector(cls, D, "the token width");
    require_vector(pos, (P + 1) * D, "[P + 1, D]");
    if (pos.last() != D) fail(describe(pos) + ": last dim must be the token width " + std::to_string(D));
    activate();
    launched(kernels::tokens_fwd(N, P, D, patches.data, cls.data, pos.data, tokens.data, stream_),
             "the tokens_fwd kernel");
}

void CudaBackend::tokens_bwd(const ve_tensor& dtokens_t, const ve_tensor* dpatches_t, const ve_tensor* dcls_t,
                             const ve_tensor* dpos_t, float param_beta) {
    View dtokens = view(dtokens_t, "dtokens");
    require_ndim(dtokens, 3, 3);
    require_contiguous(dtokens);
    const int64_t N = dtokens.shape[0], T = dtokens.shape[1], D = dtokens.shape[2];
    if (T < 1) fail(describe(dtokens) + ": needs at least the CLS token");
    const int64_t P = T - 1;
    View dp, dcls, dpos;
    if (dpatches_t) {
        dp = view(dpatches_t, "dpatches");
        require_ndim(dp, 3, 3);
        require_contiguous(dp);
        if (dp.shape[0] != N || dp.shape[1] != P || dp.shape[2] != D)
            fail(describe(dp) + " must be [" + std::to_string(N) + "," + std::to_string(P) + "," +
                 std::to_string(D) + "] for " + describe(dtokens));
    }
    if (dcls_t) {
        dcls = view(dcls_t, "dcls");
        require_vector(dcls, D, "the token width");
    }
    if (dpos_t) {
        dpos = view(dpos_t, "dpos");
        require_vector(dpos, T * D, "[P + 1, D]");
        if (dpos.last() != D) fail(describe(dpos) + ": last dim must be the token width " + std::to_string(D));
    }
    activate();
    if (dpatches_t) {
        // dpatches = dtokens[:, 1:], a [N, P, D] view with strides [T*D, D, 1] at offset D.
        const int64_t shape[3] = {N, P, D};
        const int64_t src_stride[3] = {T * D, D, 1};
        const int64_t dst_stride[3] = {P * D, D, 1};
        launched(kernels::strided_copy(3, shape, dtokens.data + D, src_stride, dp.data, dst_stride, stream_),
                 "the tokens_bwd dpatches copy");
    }
    // Batch sums in double: dpos over all T*D columns of dtokens seen as [N, T*D], dcls over the
    // first D of them.
    if (dpos_t && T * D > 0) {
        void* scratch = memory_->scratch(kernels::column_sum_scratch_bytes(1, N, T * D));
        launched(kernels::column_sum(N, T * D, dtokens.data, T * D, dpos.data, param_beta, scratch, stream_),
                 "the tokens_bwd dpos column sum");
    }
    if (dcls_t && D > 0) {
        void* scratch = memory_->scratch(kernels::column_sum_scratch_bytes(1, N, D));
        launched(kernels::column_sum(N, D, dtokens.data, T * D, dcls.data, param_beta, scratch, stream_),
                 "the tokens_bwd dcls column sum");
    }
}

}  // namespace vitedit::cuda

// Patch embedding data movement (im2col/col2im for non-overlapping p x p patches) and the
// token assembly (CLS + patches + positions) with their adjoints: plain loops.
#include <cstring>
#include <string>
#include <vector>

#include "onednn_backend.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

namespace {

struct PatchGrid {
    int64_t N, C, H, W, p, gh, gw;
    int64_t patches() const { return gh * gw; }
    int64_t cols() const { return C * p * p; }
};

PatchGrid grid_of(const View& images, const View& cols, int patch) {
    require_ndim(images, 4, 4);
    require_contiguous(images);
    require_ndim(cols, 3, 3);
    require_contiguous(cols);
    if (patch < 1) fail("patch size " + std::to_string(patch) + " must be >= 1");
    PatchGrid g{images.shape[0], images.shape[1], images.shape[2], images.shape[3], patch, 0, 0};
    g.gh = g.H / g.p;
    g.gw = g.W / g.p;
    if (cols.shape[0] != g.N || cols.shape[1] != g.patches() || cols.shape[2] != g.cols())
        fail(describe(cols) + " must be [" + std::to_string(g.N) + "," +
             std::to_string(g.patches()) + "," + std::to_string(g.cols()) + "] for " +
             describe(images) + " and patch " + std::to_string(patch));
    return g;
}

}  // namespace

void OnednnBackend::im2col(const ve_tensor& images_t, int patch, const ve_tensor& cols_t) {
    View images = view(images_t, "images"), cols = out(cols_t, "cols");
    const PatchGrid g = grid_of(images, cols, patch);
    const float* img = images.data;
    float* out = cols.data;
    const int64_t work = g.N * g.gh;
#pragma omp parallel for schedule(static) if (worth_parallel(cols.numel) && work > 1)
    for (int64_t w = 0; w < work; ++w) {
        const int64_t n = w / g.gh, gy = w % g.gh;
        for (int64_t gx = 0; gx < g.gw; ++gx) {
            float* dst = out + (n * g.patches() + gy * g.gw + gx) * g.cols();
            for (int64_t c = 0; c < g.C; ++c)
                for (int64_t ky = 0; ky < g.p; ++ky) {
                    const float* src = img + ((n * g.C + c) * g.H + gy * g.p + ky) * g.W + gx * g.p;
                    std::memcpy(dst + (c * g.p + ky) * g.p, src, static_cast<size_t>(g.p) * sizeof(float));
                }
        }
    }
}

void OnednnBackend::col2im(const ve_tensor& dcols_t, int patch, float beta,
                           const ve_tensor& dimages_t) {
    View dcols = view(dcols_t, "dcols"), dimages = out(dimages_t, "dimages");
    const PatchGrid g = grid_of(dimages, dcols, patch);
    const float* in = dcols.data;
    float* img = dimages.data;
    const int64_t planes = g.N * g.C;
#pragma omp parallel for schedule(static) if (worth_parallel(dimages.numel) && planes > 1)
    for (int64_t pl = 0; pl < planes; ++pl) {
        const int64_t n = pl / g.C, c = pl % g.C;
        for (int64_t y = 0; y < g.H; ++y) {
            float* row = img + (pl * g.H + y) * g.W;
            if (beta == 0.0f) {
                for (int64_t x = 0; x < g.W; ++x) row[x] = 0.0f;
            } else {
                for (int64_t x = 0; x < g.W; ++x) row[x] *= beta;
            }
            if (y >= g.gh * g.p) continue;
            const int64_t gy = y / g.p, ky = y % g.p;
            for (int64_t gx = 0; gx < g.gw; ++gx) {
                const float* src = in + (n * g.patches() + gy * g.gw + gx) * g.cols() + (c * g.p + ky) * g.p;
                float* dst = row + gx * g.p;
                for (int64_t kx = 0; kx < g.p; ++kx) dst[kx] += src[kx];
            }
        }
    }
}

void OnednnBackend::tokens_fwd(const ve_tensor& patches_t, const ve_tensor& cls_t,
                               const ve_tensor& pos_t, const ve_tensor& tokens_t) {
    View patches = view(patches_t, "patches"), cls = view(cls_t, "cls"), pos = view(pos_t, "pos");
    View tokens = out(tokens_t, "tokens");
    require_ndim(patches, 3, 3);
    require_contiguous(patches);
    require_ndim(tokens, 3, 3);
    require_contiguous(tokens);
    const int64_t N = patches.shape[0], P = patches.shape[1], D = patches.shape[2];
    if (tokens.shape[0] != N || tokens.shape[1] != P + 1 || tokens.shape[2] != D)
        fail(describe(tokens) + " must be [" + std::to_string(N) + "," + std::to_string(P + 1) +
             "," + std::to_string(D) + "] for " + describe(patches));
    require_vector(cls, D, "the token width");
    require_vector(pos, (P + 1) * D, "[P + 1, D]");
    if (pos.last() != D) fail(describe(pos) + ": last dim must be the token width " + std::to_string(D));
    const float* ps = patches.data;
    const float* cs = cls.data;
    const float* pe = pos.data;
    float* ts = tokens.data;
    const int64_t rows = N * (P + 1);
#pragma omp parallel for schedule(static) if (worth_parallel(tokens.numel))
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t n = r / (P + 1), j = r % (P + 1);
        const float* src = j == 0 ? cs : ps + (n * P + j - 1) * D;
        const float* pr = pe + j * D;
        float* dst = ts + r * D;
#pragma omp simd
        for (int64_t d = 0; d < D; ++d) dst[d] = src[d] + pr[d];
    }
}

void OnednnBackend::tokens_bwd(const ve_tensor& dtokens_t, const ve_tensor* dpatches_t,
                               const ve_tensor* dcls_t, const ve_tensor* dpos_t,
                               float param_beta) {
    View dtokens = view(dtokens_t, "dtokens");
    require_ndim(dtokens, 3, 3);
    require_contiguous(dtokens);
    const int64_t N = dtokens.shape[0], T = dtokens.shape[1], D = dtokens.shape[2];
    if (T < 1) fail(describe(dtokens) + ": needs at least the CLS token");
    const int64_t P = T - 1;
    const float* dt = dtokens.data;
    if (dpatches_t) {
        View dp = out(dpatches_t, "dpatches");
        require_ndim(dp, 3, 3);
        require_contiguous(dp);
        if (dp.shape[0] != N || dp.shape[1] != P || dp.shape[2] != D)
            fail(describe(dp) + " must be [" + std::to_string(N) + "," + std::to_string(P) + "," +
                 std::to_string(D) + "] for " + describe(dtokens));
        float* out = dp.data;
#pragma omp parallel for schedule(static) if (worth_parallel(dp.numel) && N > 1)
        for (int64_t n = 0; n < N; ++n)
            std::memcpy(out + n * P * D, dt + (n * T + 1) * D, static_cast<size_t>(P * D) * sizeof(float));
    }
    View dcls, dpos;
    if (dcls_t) {
        dcls = out(dcls_t, "dcls");
        require_vector(dcls, D, "the token width");
    }
    if (dpos_t) {
        dpos = out(dpos_t, "dpos");
        require_vector(dpos, T * D, "[P + 1, D]");
        if (dpos.last() != D) fail(describe(dpos) + ": last dim must be the token width " + std::to_string(D));
    }
    if (!dcls_t && !dpos_t) return;
    // sums over the batch, in double, for all T rows (or only the CLS row)
    const int64_t rows = dpos_t ? T : 1;
    std::vector<double> acc(static_cast<size_t>(rows * D), 0.0);
    double* a = acc.data();
#pragma omp parallel for schedule(static) if (worth_parallel(N * rows * D) && rows > 1)
    for (int64_t j = 0; j < rows; ++j)
        for (int64_t n = 0; n < N; ++n) {
            const float* src = dt + (n * T + j) * D;
            double* dst = a + j * D;
#pragma omp simd
            for (int64_t d = 0; d < D; ++d) dst[d] += src[d];
        }
    auto store = [&](float* out, const double* sum, int64_t count) {
        for (int64_t i = 0; i < count; ++i)
            out[i] = param_beta == 0.0f ? static_cast<float>(sum[i])
                                        : static_cast<float>(sum[i] + static_cast<double>(param_beta) * out[i]);
    };
    if (dcls_t) store(dcls.data, a, D);
    if (dpos_t) store(dpos.data, a, T * D);
}

}  // namespace vitedit::onednn

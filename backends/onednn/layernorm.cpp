// LayerNorm over the last dim: row loops with double statistics (OpenMP over rows).
#include <cmath>
#include <vector>

#include <omp.h>

#include "onednn_backend.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

namespace {

// One row: mean and variance in double (two passes), then y = (x - mean) * rstd * gamma + beta.
VE_SIMD_CLONES void layernorm_row(const float* xr, const float* gs, const float* bs, int64_t C, float eps, float* yr,
                                  float* mean, float* rstd) {
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < C; ++c) sum += xr[c];
    const double mu = sum / static_cast<double>(C);
    double sq = 0.0;
#pragma omp simd reduction(+ : sq)
    for (int64_t c = 0; c < C; ++c) {
        double d = xr[c] - mu;
        sq += d * d;
    }
    const double rs = 1.0 / std::sqrt(sq / static_cast<double>(C) + static_cast<double>(eps));
    const float muf = static_cast<float>(mu), rsf = static_cast<float>(rs);
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - muf) * rsf * gs[c] + bs[c];
    if (mean) *mean = muf;
    if (rstd) *rstd = rsf;
}

}  // namespace

void OnednnBackend::layernorm_fwd(const ve_tensor& x_t, const ve_tensor& gamma_t,
                                  const ve_tensor& beta_t, float eps, const ve_tensor& y_t,
                                  const ve_tensor* mean_t, const ve_tensor* rstd_t) {
    View x = view(x_t, "x"), y = out(y_t, "y");
    View gamma = view(gamma_t, "gamma"), beta = view(beta_t, "beta");
    author::require_layernorm_fwd_inputs(x, y, gamma, beta);
    const int64_t C = x.last(), R = x.rows();
    float* mean = nullptr;
    float* rstd = nullptr;
    if (mean_t) {
        View m = out(mean_t, "mean");
        require_vector(m, R, "one per row of x");
        mean = m.data;
    }
    if (rstd_t) {
        View s = out(rstd_t, "rstd");
        require_vector(s, R, "one per row of x");
        rstd = s.data;
    }
    if (C == 0) return;
    const float* xs = x.data;
    const float* gs = gamma.data;
    const float* bs = beta.data;
    float* ys = y.data;
#pragma omp parallel for schedule(static) if (worth_parallel(R * C))
    for (int64_t r = 0; r < R; ++r)
        layernorm_row(xs + r * C, gs, bs, C, eps, ys + r * C, mean ? mean + r : nullptr, rstd ? rstd + r : nullptr);
}

void OnednnBackend::layernorm_bwd(const ve_tensor& dy_t, const ve_tensor& x_t,
                                  const ve_tensor& gamma_t, const ve_tensor& mean_t,
                                  const ve_tensor& rstd_t, const ve_tensor* dx_t, float dx_beta,
                                  const ve_tensor* dgamma_t, const ve_tensor* dbeta_t,
                                  float param_beta) {
    View dy = view(dy_t, "dy"), x = view(x_t, "x"), gamma = view(gamma_t, "gamma");
    View mean = view(mean_t, "mean"), rstd = view(rstd_t, "rstd");
    author::require_layernorm_bwd_inputs(dy, x, gamma, mean, rstd);
    const int64_t C = x.last(), R = x.rows();
    float* dx = nullptr;
    float* dgamma = nullptr;
    float* dbeta = nullptr;
    if (dx_t) {
        View v = out(dx_t, "dx");
        require_same_shape(v, x);
        require_contiguous(v);
        dx = v.data;
    }
    if (dgamma_t) {
        View v = out(dgamma_t, "dgamma");
        require_vector(v, C, "the last dim of x");
        dgamma = v.data;
    }
    if (dbeta_t) {
        View v = out(dbeta_t, "dbeta");
        require_vector(v, C, "the last dim of x");
        dbeta = v.data;
    }
    if (C == 0) return;
    const bool params = dgamma || dbeta;
    const float* dys = dy.data;
    const float* xs = x.data;
    const float* gs = gamma.data;
    const float* ms = mean.data;
    const float* rss = rstd.data;
    const int threads = worth_parallel(R * C) ? omp_get_max_threads() : 1;
    // Per-thread partial sums of dgamma (first C) and dbeta (next C), in double.
    std::vector<double> partial(params ? static_cast<size_t>(threads) * 2 * C : 0, 0.0);
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
        double* pg = params ? partial.data() + static_cast<size_t>(omp_get_thread_num()) * 2 * C
                            : nullptr;
        double* pb = params ? pg + C : nullptr;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < R; ++r) {
            const float* dyr = dys + r * C;
            const float* xr = xs + r * C;
            const float mu = ms[r], rs = rss[r];
            if (params) {
#pragma omp simd
                for (int64_t c = 0; c < C; ++c) {
                    const float xhat = (xr[c] - mu) * rs;
                    pg[c] += static_cast<double>(dyr[c]) * xhat;
                    pb[c] += dyr[c];
                }
            }
            if (!dx) continue;
            double s1 = 0.0, s2 = 0.0;  // sum(g), sum(g * xhat), g = dy * gamma
#pragma omp simd reduction(+ : s1, s2)
            for (int64_t c = 0; c < C; ++c) {
                const double g = static_cast<double>(dyr[c]) * gs[c];
                s1 += g;
                s2 += g * ((xr[c] - mu) * rs);
            }
            const float a = static_cast<float>(s1 / static_cast<double>(C));
            const float b = static_cast<float>(s2 / static_cast<double>(C));
            float* dxr = dx + r * C;
            if (dx_beta == 0.0f) {
#pragma omp simd
                for (int64_t c = 0; c < C; ++c)
                    dxr[c] = rs * (dyr[c] * gs[c] - a - (xr[c] - mu) * rs * b);
            } else {
#pragma omp simd
                for (int64_t c = 0; c < C; ++c)
                    dxr[c] = rs * (dyr[c] * gs[c] - a - (xr[c] - mu) * rs * b) + dx_beta * dxr[c];
            }
        }
    }
    for (int64_t c = 0; c < C && params; ++c) {
        double sg = 0.0, sb = 0.0;
        for (int t = 0; t < threads; ++t) {
            sg += partial[static_cast<size_t>(t) * 2 * C + c];
            sb += partial[static_cast<size_t>(t) * 2 * C + C + c];
        }
        if (dgamma)
            dgamma[c] = param_beta == 0.0f ? static_cast<float>(sg)
                                           : static_cast<float>(sg + static_cast<double>(param_beta) * dgamma[c]);
        if (dbeta)
            dbeta[c] = param_beta == 0.0f ? static_cast<float>(sb)
                                          : static_cast<float>(sb + static_cast<double>(param_beta) * dbeta[c]);
    }
}

}  // namespace vitedit::onednn

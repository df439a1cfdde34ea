// Cross-entropy with label smoothing and temperature-scaled KL divergence: row loops in double
// with log-sum-exp.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "onednn_backend.hpp"
#include "parallel.hpp"

namespace vitedit::onednn {

namespace {

// log(sum_k exp(s * x_k)) for one row, stable.
double log_sum_exp(const float* x, int64_t K, double s) {
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t k = 0; k < K; ++k) m = std::max(m, s * x[k]);
    if (!std::isfinite(m)) return m;
    double sum = 0.0;
    for (int64_t k = 0; k < K; ++k) sum += std::exp(s * x[k] - m);
    return m + std::log(sum);
}

}  // namespace

void OnednnBackend::cross_entropy(const ve_tensor& logits_t, const int32_t* labels,
                                  float label_smoothing, float* loss_out,
                                  const ve_tensor* dlogits_t, float grad_scale) {
    View logits = view(logits_t, "logits");
    require_ndim(logits, 2, 2);
    require_contiguous(logits);
    const int64_t N = logits.shape[0], K = logits.shape[1];
    float* dl = nullptr;
    if (dlogits_t) {
        View d = out(dlogits_t, "dlogits");
        require_same_shape(d, logits);
        require_contiguous(d);
        dl = d.data;
    }
    author::require_labels(logits, labels, label_smoothing);
    const double s = label_smoothing, uniform = s / static_cast<double>(K);
    const float* x = logits.data;
#pragma omp parallel for schedule(static) if (worth_parallel(N * K * 8))
    for (int64_t n = 0; n < N; ++n) {
        const float* xr = x + n * K;
        const double lse = log_sum_exp(xr, K, 1.0);
        const int64_t y = labels[n];
        if (loss_out) {
            double sum_logp = 0.0;
            for (int64_t k = 0; k < K; ++k) sum_logp += xr[k] - lse;
            loss_out[n] = static_cast<float>(-((1.0 - s) * (xr[y] - lse) + uniform * sum_logp));
        }
        if (dl) {
            float* dr = dl + n * K;
            for (int64_t k = 0; k < K; ++k) {
                const double target = (k == y ? 1.0 - s : 0.0) + uniform;
                dr[k] = static_cast<float>(grad_scale * (std::exp(xr[k] - lse) - target));
            }
        }
    }
}

void OnednnBackend::kl_div(const ve_tensor& logits_t, const ve_tensor& target_t,
                           float temperature, float* loss_out, const ve_tensor* dlogits_t,
                           float grad_scale) {
    View logits = view(logits_t, "logits"), target = view(target_t, "target");
    author::require_kl_inputs(logits, target);
    float* dl = nullptr;
    if (dlogits_t) {
        View d = out(dlogits_t, "dlogits");
        require_same_shape(d, logits);
        require_contiguous(d);
        dl = d.data;
    }
    if (!(temperature > 0.0f) || !std::isfinite(temperature))
        fail("temperature " + std::to_string(temperature) + " must be positive and finite");
    const int64_t N = logits.shape[0], K = logits.shape[1];
    const double T = temperature, invT = 1.0 / T;
    const float* x = logits.data;
    const float* p = target.data;
#pragma omp parallel for schedule(static) if (worth_parallel(N * K * 8))
    for (int64_t n = 0; n < N; ++n) {
        const float* xr = x + n * K;
        const float* pr = p + n * K;
        const double lse = log_sum_exp(xr, K, invT);
        if (loss_out) {
            double sum = 0.0;
            for (int64_t k = 0; k < K; ++k) {
                if (pr[k] == 0.0f) continue;  // 0 * log 0 = 0
                const double pk = pr[k];
                sum += pk * (std::log(pk) - (invT * xr[k] - lse));
            }
            loss_out[n] = static_cast<float>(T * T * sum);
        }
        if (dl) {
            float* dr = dl + n * K;
            for (int64_t k = 0; k < K; ++k)
                dr[k] = static_cast<float>(grad_scale * T * (std::exp(invT * xr[k] - lse) - pr[k]));
        }
    }
}

}  // namespace vitedit::onednn

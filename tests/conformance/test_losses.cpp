// Losses: cross_entropy (label smoothing 0 and 0.1) and temperature-scaled kl_div — per-sample
// losses and dlogits vs LibTorch autograd.
//
// Tolerances:
//   losses: atol 1e-5 (·T² for kl_div), rtol 1e-5. A loss is a log-sum-exp over K <= 1000
//     entries minus a (smoothed) target term: O(log K + |logit|) values carrying a few ulps of
//     the largest term; kl_div's sum of p·(log p - log q) cancels, so its error is absolute and
//     scales with T² like the loss.
//   dlogits: atol 1e-6·grad_scale(·T), rtol 1e-5: softmax minus target, entries <= grad_scale,
//     the normalising sum costs ~√K ulps.
#include "conformance.hpp"

using namespace conf;
namespace F = torch::nn::functional;

TEST_CASE("cross_entropy vs autograd of torch cross_entropy", "[cross_entropy]") {
    seed(401);
    struct Case { int64_t N, K; double spread; };
    for (const Case& c : {Case{13, 17, 1.0}, Case{8, 1000, 3.0}, Case{5, 10, 50.0}, Case{1, 3, 1.0}}) {
        for (double smooth : {0.0, 0.1}) {
            torch::Tensor logits = randn({c.N, c.K}, c.spread);
            torch::Tensor labels = torch::randint(0, c.K, {c.N}, torch::kInt64);
            std::vector<int32_t> lab(static_cast<size_t>(c.N));
            for (int64_t i = 0; i < c.N; ++i) lab[static_cast<size_t>(i)] = static_cast<int32_t>(labels[i].item<int64_t>());
            std::ostringstream o;
            o << "logits [" << c.N << "," << c.K << "] |x|~" << c.spread << " smoothing " << smooth;
            const std::string s = o.str();

            // per-sample losses, and mean-reduction autograd <-> grad_scale = 1/N
            torch::Tensor lg = logits.clone().requires_grad_(true);
            torch::Tensor per = F::cross_entropy(lg, labels, F::CrossEntropyFuncOptions().reduction(torch::kNone).label_smoothing(smooth));
            torch::Tensor lm = logits.clone().requires_grad_(true);
            F::cross_entropy(lm, labels, F::CrossEntropyFuncOptions().reduction(torch::kMean).label_smoothing(smooth))
                .backward();
            torch::Tensor ls = logits.clone().requires_grad_(true);
            F::cross_entropy(ls, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum).label_smoothing(smooth))
                .backward();

            Tensor dl = up(logits);
            const float gs_mean = 1.0f / static_cast<float>(c.N);
            Tensor dlog = nan_tensor({c.N, c.K});
            std::vector<float> loss = be().cross_entropy(dl, lab, static_cast<float>(smooth), &dlog, gs_mean);
            torch::Tensor lt = torch::from_blob(loss.data(), {c.N}, torch::kFloat32).to(torch::kFloat64);
            require_close(lt, per.detach(), 1e-5, 1e-5, "cross_entropy loss " + s);
            require_close(down(dlog), lm.grad(), 1e-6 * gs_mean, 1e-5, "cross_entropy dlogits grad_scale 1/N (mean) " + s);

            // grad_scale 1 <-> sum reduction, loss_out NULL (raw op: the wrapper always asks for it)
            Tensor dlog2 = nan_tensor({c.N, c.K});
            if (!be().raw().ops->cross_entropy) be().unsupported("cross_entropy");
            ve_status st = be().raw().ops->cross_entropy(be().raw().ctx, dl.ptr(), lab.data(), static_cast<float>(smooth),
                                                          nullptr, dlog2.ptr(), 1.0f);
            be().check(st, "cross_entropy");
            require_close(down(dlog2), ls.grad(), 1e-6, 1e-5, "cross_entropy dlogits grad_scale 1 (sum), loss NULL " + s);

            // losses only (dlogits NULL)
            std::vector<float> loss2 = be().cross_entropy(dl, lab, static_cast<float>(smooth), nullptr, 1.0f);
            torch::Tensor lt2 = torch::from_blob(loss2.data(), {c.N}, torch::kFloat32).to(torch::kFloat64);
            require_close(lt2, per.detach(), 1e-5, 1e-5, "cross_entropy loss (dlogits NULL) " + s);
        }
    }
}

TEST_CASE("kl_div vs autograd of T^2 * kl_div(log_softmax(logits / T), target)", "[kl_div]") {
    seed(402);
    struct Case { int64_t N, K; double T; };
    for (const Case& c : {Case{13, 17, 5.0}, Case{13, 17, 1.0}, Case{8, 1000, 5.0}, Case{4, 10, 5.0}}) {
        torch::Tensor logits = randn({c.N, c.K}, 3.0);
        // target rows: softmax of random teacher logits with ~30% of the entries exactly 0,
        // renormalised; the last row one-hot. Rows are rounded to float32 and renormalised
        // in float64 from those values (the backend sees the float32 rows).
        torch::Tensor p = torch::softmax(randn({c.N, c.K}, 2.0), -1);
        p = p * (torch::rand({c.N, c.K}, torch::kFloat64) > 0.3).to(torch::kFloat64);
        p.select(1, 0).add_(1e-3);  // every row keeps at least one non-zero
        p.select(0, c.N - 1).zero_();
        p.select(0, c.N - 1)[c.K / 2] = 1.0;
        p = to_f32_f64(p / p.sum(-1, true));
        std::ostringstream o;
        o << "logits [" << c.N << "," << c.K << "] T " << c.T;
        const std::string s = o.str();
        const float T = static_cast<float>(c.T);
        const double T2 = c.T * c.T;

        torch::Tensor lg = logits.clone().requires_grad_(true);
        torch::Tensor per = T2 * F::kl_div(F::log_softmax(lg / c.T, F::LogSoftmaxFuncOptions(-1)), p,
                                            F::KLDivFuncOptions().reduction(torch::kNone)).sum(-1);
        const double gs = 1.0 / static_cast<double>(c.N);
        (gs * per.sum()).backward();
        REQUIRE(torch::isfinite(per).all().item<bool>());

        Tensor dlog = nan_tensor({c.N, c.K});
        std::vector<float> loss = be().kl_div(up(logits), up(p), T, &dlog, static_cast<float>(gs));
        torch::Tensor lt = torch::from_blob(loss.data(), {c.N}, torch::kFloat32).to(torch::kFloat64);
        require_close(lt, per.detach(), 1e-5 * T2, 1e-5, "kl_div loss (rows with exact zeros) " + s);
        require_close(down(dlog), lg.grad(), 1e-6 * gs * c.T, 1e-5, "kl_div dlogits grad_scale 1/N " + s);

        // loss_out NULL (raw op), grad_scale 1
        Tensor dlog2 = nan_tensor({c.N, c.K});
        Tensor dl = up(logits), dp = up(p);
        if (!be().raw().ops->kl_div) be().unsupported("kl_div");
        be().check(be().raw().ops->kl_div(be().raw().ctx, dl.ptr(), dp.ptr(), T, nullptr, dlog2.ptr(), 1.0f), "kl_div");
        require_close(down(dlog2), lg.grad() / gs, 1e-6 * c.T, 1e-5, "kl_div dlogits grad_scale 1, loss NULL " + s);
    }
}

// Layer ops: layernorm, gelu, softmax, im2col/col2im, tokens — values and gradients vs LibTorch
// autograd (float64, on the float32 inputs the backend gets).
//
// Tolerances (each also stated at its check):
//   gelu fwd/bwd: atol 1e-6, rtol 1e-5, plus the cancellation of 1 + erf(x/√2) for x << 0 (see
//     the check). Element-wise; erf/exp implementations differ by a few ulps (vectorised
//     polynomial erf in oneDNN, erff on CUDA), inside 1e-5 relative.
//   softmax fwd: atol 1e-6, rtol 1e-5: outputs are in [0, 1]; exp and the normalising sum over
//     at most 197 entries cost a few ulps.
//   layernorm (fwd, mean, rstd and dx): these reduce over the row (C <= 768): atol 1e-5 · (the
//     reference's RMS), rtol 1e-4 (the suite's reduction tolerance); layernorm also divides by
//     sqrt(var), amplifying the mean/variance rounding by rstd.
//   softmax bwd: dot_tol(C) on s·y·(|dy| + Σ|dy|·y), per element (see the check).
//   layernorm dgamma/dbeta, tokens dcls/dpos, col2im with beta: sums over rows, dot_tol(rows).
//   im2col, col2im (beta 0), tokens_fwd, dpatches: bit-exact (data movement, or one addition).
//   patch-embedding gemm after im2col vs conv2d: dot_tol(C·p·p) as for gemm.
#include "conformance.hpp"

using namespace conf;

namespace {

double rms(const torch::Tensor& t) { return std::sqrt(t.detach().pow(2).mean().item<double>()) + 1e-30; }

// The suite's tolerance for row reductions (layernorm, softmax bwd): rtol 1e-4, atol 1e-5·RMS.
void require_close_red(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what) {
    require_close(actual, expected, 1e-5 * rms(expected), 1e-4, what);
}

}  // namespace

TEST_CASE("layernorm fwd/bwd vs autograd of at::layer_norm", "[layernorm]") {
    seed(301);
    struct Case { std::vector<int64_t> shape; double offset; };
    for (const Case& cs : {Case{{3, 5, 7}, 0.0}, Case{{13, 17}, 0.0}, Case{{197, 768}, 0.0}, Case{{2, 9, 33}, 5.0}}) {
        const auto& shape = cs.shape;
        const int64_t C = shape.back();
        const int64_t R = torch::tensor(shape).prod().item<int64_t>() / C;
        const float eps = 1e-6f;
        torch::Tensor x = (randn(shape) + cs.offset).requires_grad_(true);
        torch::Tensor gamma = (1.0 + randn({C}, 0.2)).requires_grad_(true);
        torch::Tensor beta = randn({C}, 0.2).requires_grad_(true);
        torch::Tensor y = at::layer_norm(x, {C}, gamma, beta, eps);
        torch::Tensor dy = randn(shape);
        y.backward(dy);
        torch::Tensor mean = x.detach().reshape({R, C}).mean(-1);
        torch::Tensor rstd = (x.detach().reshape({R, C}).var(-1, false) + static_cast<double>(eps)).rsqrt();
        std::string s = shape_of(x) + (cs.offset ? " (mean offset 5)" : "");

        Tensor dx_in = up(x), dg = up(gamma), db = up(beta);
        // fwd with mean/rstd
        Tensor dyv = nan_tensor(shape), dmean = nan_tensor({R}), drstd = nan_tensor({R});
        be().layernorm_fwd(dx_in, dg, db, eps, dyv, &dmean, &drstd);
        require_close_red(down(dyv), y, "layernorm_fwd y " + s);
        require_close(down(dmean), mean, 1e-5 * (1 + std::abs(cs.offset)), 1e-4, "layernorm_fwd mean " + s);
        require_close_red(down(drstd), rstd, "layernorm_fwd rstd " + s);
        // fwd without them
        Tensor dy2 = nan_tensor(shape);
        be().layernorm_fwd(dx_in, dg, db, eps, dy2, nullptr, nullptr);
        require_close_red(down(dy2), y, "layernorm_fwd y (mean/rstd NULL) " + s);

        // bwd from the reference statistics (so only the bwd is under test)
        Tensor ddy = up(dy), m = up(mean), r = up(rstd);
        const torch::Tensor xhat = ((x.detach().reshape({R, C}) - mean.unsqueeze(1)) * rstd.unsqueeze(1));
        const torch::Tensor dg_abs = (dy.reshape({R, C}) * xhat).abs().sum(0), db_abs = dy.reshape({R, C}).abs().sum(0);
        auto param_tol = [&](const torch::Tensor& e, const torch::Tensor& abs_sum) { return dot_tol(e, abs_sum, R); };

        {  // bwd: everything, dx_beta 0 / param_beta 0 over NaN
            Tensor dx = nan_tensor(shape), dgam = nan_tensor({C}), dbet = nan_tensor({C});
            be().layernorm_bwd(ddy, dx_in, dg, m, r, &dx, 0.0f, &dgam, &dbet, 0.0f);
            require_close_red(down(dx), x.grad(), "layernorm_bwd dx " + s);
            require_close_tol(down(dgam), gamma.grad(), param_tol(gamma.grad(), dg_abs), "layernorm_bwd dgamma " + s,
                              "dot_tol(R)");
            require_close_tol(down(dbet), beta.grad(), param_tol(beta.grad(), db_abs), "layernorm_bwd dbeta " + s,
                              "dot_tol(R)");
        }
        {  // bwd: accumulate dx_beta 1, param_beta 0.5
            torch::Tensor dx0 = randn(shape), dg0 = randn({C}), db0 = randn({C});
            Tensor dx = up(dx0), dgam = up(dg0), dbet = up(db0);
            be().layernorm_bwd(ddy, dx_in, dg, m, r, &dx, 1.0f, &dgam, &dbet, 0.5f);
            require_close_red(down(dx), x.grad() + dx0, "layernorm_bwd dx (dx_beta 1) " + s);
            torch::Tensor eg = gamma.grad() + 0.5 * dg0, eb = beta.grad() + 0.5 * db0;
            require_close_tol(down(dgam), eg, param_tol(eg, dg_abs + 0.5 * dg0.abs()),
                              "layernorm_bwd dgamma (param_beta 0.5) " + s, "dot_tol(R)");
            require_close_tol(down(dbet), eb, param_tol(eb, db_abs + 0.5 * db0.abs()),
                              "layernorm_bwd dbeta (param_beta 0.5) " + s, "dot_tol(R)");
        }
        {  // bwd: dx only (dgamma, dbeta NULL)
            Tensor dx = nan_tensor(shape);
            be().layernorm_bwd(ddy, dx_in, dg, m, r, &dx, 0.0f, nullptr, nullptr, 0.0f);
            require_close_red(down(dx), x.grad(), "layernorm_bwd dx (params NULL) " + s);
        }
        {  // bwd: params only (dx NULL), then dgamma only
            Tensor dgam = nan_tensor({C}), dbet = nan_tensor({C});
            be().layernorm_bwd(ddy, dx_in, dg, m, r, nullptr, 0.0f, &dgam, &dbet, 0.0f);
            require_close_tol(down(dgam), gamma.grad(), param_tol(gamma.grad(), dg_abs),
                              "layernorm_bwd dgamma (dx NULL) " + s, "dot_tol(R)");
            require_close_tol(down(dbet), beta.grad(), param_tol(beta.grad(), db_abs),
                              "layernorm_bwd dbeta (dx NULL) " + s, "dot_tol(R)");
            Tensor dgam2 = nan_tensor({C});
            be().layernorm_bwd(ddy, dx_in, dg, m, r, nullptr, 0.0f, &dgam2, nullptr, 0.0f);
            require_close_tol(down(dgam2), gamma.grad(), param_tol(gamma.grad(), dg_abs),
                              "layernorm_bwd dgamma (dx, dbeta NULL) " + s, "dot_tol(R)");
        }
    }
}

TEST_CASE("gelu fwd/bwd vs autograd of exact gelu", "[gelu]") {
    seed(302);
    for (auto shape : {std::vector<int64_t>{3, 5, 7}, std::vector<int64_t>{13, 17}, std::vector<int64_t>{197, 768}}) {
        torch::Tensor x = randn(shape, 3.0).requires_grad_(true);  // wide range: tails of erf too
        torch::Tensor y = torch::gelu(x);                           // approximate = "none": exact erf
        torch::Tensor dy = randn(shape);
        y.backward(dy);
        const std::string s = shape_of(x);
        Tensor dxv = up(x);
        Tensor yv = nan_tensor(shape);
        be().gelu_fwd(dxv, yv);
        // 1 + erf(x/√2) cancels for x << 0: a float32 formula carries ~u absolute there, i.e.
        // ~u·|x| in y and ~u·|dy|·(1 + x²) in dx, on top of atol 1e-6 / rtol 1e-5.
        const torch::Tensor xa = x.detach().abs();
        require_close_tol(down(yv), y, 1e-6 + 1e-5 * y.detach().abs() + 4 * kU * xa, "gelu_fwd " + s,
                          "atol 1e-6, rtol 1e-5, + 4u|x|");
        Tensor dx = nan_tensor(shape);
        be().gelu_bwd(up(dy), dxv, dx);
        require_close_tol(down(dx), x.grad(), 1e-6 + 1e-5 * x.grad().abs() + 4 * kU * dy.abs() * (1 + xa * xa),
                          "gelu_bwd " + s, "atol 1e-6, rtol 1e-5, + 4u|dy|(1+x^2)");
    }
}

TEST_CASE("softmax fwd/bwd vs autograd of softmax(scale * x)", "[softmax]") {
    seed(303);
    struct Case { std::vector<int64_t> shape; double scale, spread; };
    for (const Case& cs : {Case{{2, 3, 13, 13}, 0.125, 3.0}, Case{{13, 17}, 1.0, 1.0}, Case{{197, 197}, 0.125, 8.0},
                           Case{{5, 31}, 1.0, 40.0}}) {  // the last: logits up to ~±120, needs max-subtraction
        torch::Tensor x = randn(cs.shape, cs.spread).requires_grad_(true);
        const float sc = static_cast<float>(cs.scale);
        torch::Tensor y = torch::softmax(static_cast<double>(sc) * x, -1);
        torch::Tensor dy = randn(cs.shape);
        y.backward(dy);
        std::ostringstream o;
        o << shape_of(x) << " scale " << cs.scale << " |x|~" << cs.spread;
        Tensor yv = nan_tensor(cs.shape);
        be().softmax_fwd(up(x), sc, yv);
        require_close(down(yv), y, 1e-6, 1e-5, "softmax_fwd " + o.str());
        // bwd from the reference y rounded to float32 (only the bwd under test)
        Tensor dx = nan_tensor(cs.shape);
        be().softmax_bwd(up(dy), up(y), sc, dx);
        // dx_i = s·y_i·(dy_i - Σ_k dy_k·y_k): a length-C dot product, then one cancelling
        // difference, scaled by y_i. Saturated rows (large |x|) make most dx tiny while
        // dy_i - Σ cancels at the peak, so the bound is per element, not relative to the RMS.
        const torch::Tensor yd = y.detach();
        const torch::Tensor sm_abs = cs.scale * yd * (dy.abs() + (dy.abs() * yd).sum(-1, true));
        require_close_tol(down(dx), x.grad(), dot_tol(x.grad(), sm_abs, cs.shape.back()), "softmax_bwd " + o.str(),
                          "dot_tol(C) on s·y·(|dy| + Σ|dy|·y)");
    }
}

// Patch embedding: im2col then a gemm with the conv weight seen as [D, C*p*p] must equal
// conv2d(stride = patch); col2im of dcols = dout @ W must equal conv2d's input gradient.
TEST_CASE("im2col/col2im vs autograd of conv2d(stride = patch)", "[im2col][col2im]") {
    seed(304);
    struct Case { int64_t N, C, H, W, p, D; };
    for (const Case& c : {Case{2, 3, 30, 29, 7, 5}, Case{2, 1, 30, 29, 7, 4}, Case{1, 1, 16, 16, 4, 3},
                          Case{3, 3, 13, 17, 5, 6}, Case{1, 3, 224, 224, 16, 768}}) {
        const int64_t gh = c.H / c.p, gw = c.W / c.p, P = gh * gw, Kc = c.C * c.p * c.p;
        std::ostringstream o;
        o << "images [" << c.N << "," << c.C << "," << c.H << "," << c.W << "] patch " << c.p;
        const std::string s = o.str();

        torch::Tensor img = randn({c.N, c.C, c.H, c.W}).requires_grad_(true);
        torch::Tensor w = randn({c.D, c.C, c.p, c.p}, 0.1).requires_grad_(true);
        torch::Tensor conv = torch::conv2d(img, w, {}, c.p);               // [N, D, gh, gw]
        torch::Tensor out = conv.flatten(2).transpose(1, 2);               // [N, P, D]
        torch::Tensor dout = randn({c.N, P, c.D});
        out.backward(dout);

        // im2col alone vs unfold (bit-exact: pure data movement, (c, ky, kx) column order)
        torch::Tensor cols_ref = torch::nn::functional::unfold(
            img.detach().slice(2, 0, gh * c.p).slice(3, 0, gw * c.p),
            torch::nn::functional::UnfoldFuncOptions({c.p, c.p}).stride(c.p)).transpose(1, 2);  // [N, P, Kc]
        Tensor dimg = up(img);
        Tensor cols = nan_tensor({c.N, P, Kc});
        be().im2col(dimg, static_cast<int32_t>(c.p), cols);
        require_equal(down(cols), cols_ref, "im2col " + s);

        // patch embedding = im2col + gemm(cols [N*P, Kc], W^T [Kc, D]) vs conv2d
        Tensor dw = up(w.reshape({c.D, Kc}));
        Tensor emb = nan_tensor({c.N * P, c.D});
        be().gemm(false, true, 1.0f, cols.reshape({c.N * P, Kc}), dw, 0.0f, emb);
        torch::Tensor emb_abs = torch::matmul(cols_ref.abs(), w.detach().abs().reshape({c.D, Kc}).t());
        torch::Tensor emb_ref = out.detach().reshape({c.N * P, c.D});
        require_close_tol(down(emb), emb_ref, dot_tol(emb_ref, emb_abs.reshape({c.N * P, c.D}), Kc),
                          "im2col+gemm vs conv2d " + s, "dot_tol(C*p*p)");

        // col2im: dcols = dout @ W (reference, rounded to float32), then scatter, vs conv2d's
        // input gradient (pixels beyond gh*p / gw*p get 0, or beta * old).
        torch::Tensor dcols = to_f32_f64(torch::matmul(dout, w.detach().reshape({c.D, Kc})));  // [N, P, Kc]
        torch::Tensor dcols_abs = torch::matmul(dout.abs(), w.detach().abs().reshape({c.D, Kc}));
        torch::Tensor scatter_abs = torch::zeros_like(img.detach());
        scatter_abs.slice(2, 0, gh * c.p).slice(3, 0, gw * c.p).copy_(torch::nn::functional::fold(
            dcols_abs.transpose(1, 2),
            torch::nn::functional::FoldFuncOptions({gh * c.p, gw * c.p}, {c.p, c.p}).stride(c.p)));
        torch::Tensor scatter_exact = torch::zeros_like(img.detach());
        scatter_exact.slice(2, 0, gh * c.p).slice(3, 0, gw * c.p).copy_(torch::nn::functional::fold(
            dcols.transpose(1, 2),
            torch::nn::functional::FoldFuncOptions({gh * c.p, gw * c.p}, {c.p, c.p}).stride(c.p)));
        Tensor ddcols = up(dcols);
        {
            Tensor dimages = nan_tensor({c.N, c.C, c.H, c.W});
            be().col2im(ddcols, static_cast<int32_t>(c.p), 0.0f, dimages);
            torch::Tensor got = down(dimages);
            require_equal(got, scatter_exact, "col2im beta 0 over NaN (exact scatter) " + s);
            require_close_tol(got, img.grad(), dot_tol(img.grad(), scatter_abs, c.D), "col2im vs conv2d input grad " + s,
                              "dot_tol(D) for the rounding of dcols");
        }
        {
            torch::Tensor old = randn({c.N, c.C, c.H, c.W});
            Tensor dimages = up(old);
            be().col2im(ddcols, static_cast<int32_t>(c.p), 0.5f, dimages);
            torch::Tensor e = scatter_exact + 0.5 * old;
            require_close(down(dimages), e, 1e-6, 1e-5, "col2im beta 0.5 " + s);
        }
    }
}

TEST_CASE("tokens fwd/bwd vs autograd of cat(cls, patches) + pos", "[tokens]") {
    seed(305);
    struct Case { int64_t N, P, D; };
    for (const Case& c : {Case{2, 16, 5}, Case{3, 7, 13}, Case{4, 196, 768}}) {
        torch::Tensor patches = randn({c.N, c.P, c.D}).requires_grad_(true);
        torch::Tensor cls = randn({c.D}).requires_grad_(true);
        torch::Tensor pos = randn({c.P + 1, c.D}).requires_grad_(true);
        torch::Tensor tokens = torch::cat({cls.expand({c.N, 1, c.D}), patches}, 1) + pos;
        torch::Tensor dtok = randn({c.N, c.P + 1, c.D});
        tokens.backward(dtok);
        std::ostringstream o;
        o << "N " << c.N << " P " << c.P << " D " << c.D;
        const std::string s = o.str();

        // fwd: one float32 addition per element -> bit-exact
        Tensor t = nan_tensor({c.N, c.P + 1, c.D});
        be().tokens_fwd(up(patches), up(cls), up(pos), t);
        torch::Tensor f_tok = torch::cat({cls.detach().to(torch::kFloat32).expand({c.N, 1, c.D}),
                                          patches.detach().to(torch::kFloat32)}, 1) +
                              pos.detach().to(torch::kFloat32);
        require_equal(down(t), to_f32_f64(f_tok), "tokens_fwd " + s);

        Tensor ddtok = up(dtok);
        const torch::Tensor dcls_abs = dtok.select(1, 0).abs().sum(0), dpos_abs = dtok.abs().sum(0);
        {
            Tensor dp = nan_tensor({c.N, c.P, c.D}), dc = nan_tensor({c.D}), dpo = nan_tensor({c.P + 1, c.D});
            be().tokens_bwd(ddtok, &dp, &dc, &dpo, 0.0f);
            require_equal(down(dp), patches.grad(), "tokens_bwd dpatches " + s);
            require_close_tol(down(dc), cls.grad(), dot_tol(cls.grad(), dcls_abs, c.N), "tokens_bwd dcls " + s,
                              "dot_tol(N)");
            require_close_tol(down(dpo), pos.grad(), dot_tol(pos.grad(), dpos_abs, c.N), "tokens_bwd dpos " + s,
                              "dot_tol(N)");
        }
        {
            // accumulate into the parameters' gradients, dpatches NULL
            torch::Tensor c0 = randn({c.D}), p0 = randn({c.P + 1, c.D});
            Tensor dc = up(c0), dpo = up(p0);
            be().tokens_bwd(ddtok, nullptr, &dc, &dpo, 1.0f);
            torch::Tensor ec = cls.grad() + c0, ep = pos.grad() + p0;
            require_close_tol(down(dc), ec, dot_tol(ec, dcls_abs + c0.abs(), c.N + 1),
                              "tokens_bwd dcls (param_beta 1, dpatches NULL) " + s, "dot_tol(N)");
            require_close_tol(down(dpo), ep, dot_tol(ep, dpos_abs + p0.abs(), c.N + 1),
                              "tokens_bwd dpos (param_beta 1, dpatches NULL) " + s, "dot_tol(N)");
        }
        {
            // dpatches only
            Tensor dp = nan_tensor({c.N, c.P, c.D});
            be().tokens_bwd(ddtok, &dp, nullptr, nullptr, 0.0f);
            require_equal(down(dp), patches.grad(), "tokens_bwd dpatches (dcls, dpos NULL) " + s);
        }
    }
}

// gemm: c = alpha * op(a) @ op(b) + beta * c over the last two dims, 2-D to 4-D, any strides.
//
// Every product is checked per element against the float64 reference with dot_tol(K)
// (conformance.hpp): |err| <= 1e-5·|ref| + 4·√K·u·(|alpha|·|op(a)|·|op(b)| + |beta|·|c0|), the
// probabilistic error bound of a length-K float32 dot product with 4x headroom. It scales with
// √K, so the same rule covers K = 3 and K = 2304; an indexing or transpose bug is off by O(|ref|),
// orders of magnitude above it. (A backend using TF32 or bf16 internally does not pass: that is
// intended, the same command must give the same numbers on every backend.)
//
// Gradients: for each case the backend's own gemms compute dA and dB the way the engine does
// (dA = alpha·dC·op(b)^T, dB = alpha·op(a)^T·dC, with the trans flags that give the stored
// layout), compared with LibTorch autograd of alpha·op(a)@op(b).
#include "conformance.hpp"

using namespace conf;

namespace {

torch::Tensor op(const torch::Tensor& x, bool t) { return t ? x.transpose(-1, -2) : x; }

std::vector<int64_t> cat(std::vector<int64_t> a, std::initializer_list<int64_t> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

std::string gemm_name(bool ta, bool tb, const torch::Tensor& a, const torch::Tensor& b, float alpha, float beta) {
    std::ostringstream o;
    o << "gemm" << (ta ? "T" : "N") << (tb ? "T" : "N") << " a" << shape_of(a) << " b" << shape_of(b) << " alpha "
      << alpha << " beta " << beta;
    return o.str();
}

// One gemm case: values with beta accumulate, beta = 0 over NaN, and both gradients.
void gemm_case(bool ta, bool tb, const std::vector<int64_t>& batch, int64_t M, int64_t N, int64_t K, float alpha,
               float beta) {
    torch::Tensor A = randn(ta ? cat(batch, {K, M}) : cat(batch, {M, K}));
    torch::Tensor B = randn(tb ? cat(batch, {N, K}) : cat(batch, {K, N}));
    torch::Tensor C0 = randn(cat(batch, {M, N}));
    Tensor dA = up(A), dB = up(B);
    const std::string name = gemm_name(ta, tb, A, B, alpha, beta);
    const torch::Tensor AB = torch::matmul(op(A, ta), op(B, tb));
    const torch::Tensor absAB = torch::matmul(op(A, ta).abs(), op(B, tb).abs());

    // accumulate: c = alpha * op(a) op(b) + beta * c
    {
        Tensor dC = up(C0);
        be().gemm(ta, tb, alpha, dA, dB, beta, dC);
        torch::Tensor e = alpha * AB + beta * C0;
        require_close_tol(down(dC), e, dot_tol(e, std::abs(alpha) * absAB + std::abs(beta) * C0.abs(), K), name,
                          "dot_tol(K=" + std::to_string(K) + ")");
    }
    // beta = 0 overwrites, NaN included
    {
        Tensor dC = nan_tensor(cat(batch, {M, N}));
        be().gemm(ta, tb, alpha, dA, dB, 0.0f, dC);
        torch::Tensor e = alpha * AB;
        require_close_tol(down(dC), e, dot_tol(e, std::abs(alpha) * absAB, K), name + " (beta 0 over NaN)",
                          "dot_tol(K)");
    }
    // gradients vs autograd
    {
        torch::Tensor a = A.clone().requires_grad_(true), b = B.clone().requires_grad_(true);
        torch::Tensor G = randn(cat(batch, {M, N}));
        (alpha * torch::matmul(op(a, ta), op(b, tb))).backward(G);
        // abs bounds via the same autograd on |inputs|
        torch::Tensor aa = A.abs().requires_grad_(true), ba = B.abs().requires_grad_(true);
        (std::abs(alpha) * torch::matmul(op(aa, ta), op(ba, tb))).backward(G.abs());
        Tensor dG = up(G);

        Tensor gA = nan_tensor(A.sizes().vec());
        if (!ta)
            be().gemm(false, !tb, alpha, dG, dB, 0.0f, gA);  // dA = alpha G op(B)^T
        else
            be().gemm(tb, true, alpha, dB, dG, 0.0f, gA);  // dA = alpha op(B) G^T
        require_close_tol(down(gA), a.grad(), dot_tol(a.grad(), aa.grad(), N), name + " dA vs autograd",
                          "dot_tol(N=" + std::to_string(N) + ")");

        Tensor gB = nan_tensor(B.sizes().vec());
        if (!tb)
            be().gemm(!ta, false, alpha, dA, dG, 0.0f, gB);  // dB = alpha op(A)^T G
        else
            be().gemm(true, ta, alpha, dG, dA, 0.0f, gB);  // dB = alpha G^T op(A)
        require_close_tol(down(gB), b.grad(), dot_tol(b.grad(), ba.grad(), M), name + " dB vs autograd",
                          "dot_tol(M=" + std::to_string(M) + ")");
    }
}

}  // namespace

TEST_CASE("gemm: all trans combinations, 2-D to 4-D, alpha/beta, gradients", "[gemm]") {
    seed(201);
    for (int t = 0; t < 4; ++t) {
        const bool ta = t & 1, tb = t & 2;
        gemm_case(ta, tb, {}, 13, 17, 19, 1.0f, 0.0f);
        gemm_case(ta, tb, {}, 13, 17, 19, -1.5f, 0.5f);
        gemm_case(ta, tb, {}, 1, 5, 3, 0.7f, 1.0f);         // degenerate M = 1
        gemm_case(ta, tb, {}, 31, 9, 133, 1.0f, 1.0f);      // gradient accumulation (beta 1)
        gemm_case(ta, tb, {3}, 5, 7, 11, 0.125f, 0.25f);   // 3-D batched
        gemm_case(ta, tb, {2, 3}, 5, 7, 9, -1.0f, 0.5f);   // 4-D batched
    }
}

// A realistic ViT-B layer: the qkv projection of 197 tokens of width 768 (x W^T, W [2304, 768])
// and its gradients (K = 768, 2304 and 197).
TEST_CASE("gemm: ViT-B shapes 197x768 with W 2304x768", "[gemm][vit]") {
    seed(202);
    gemm_case(false, true, {}, 197, 2304, 768, 1.0f, 0.0f);
}

// The attention of one ViT layer with every operand a strided view into the qkv buffer
// [N,T,3,H,hd] and the merged-heads output [N,T,H,hd]: S = scale Q K^T (K^T via t()),
// O = P V written into the merged-heads view, and the backward gemms writing dQ, dK, dV straight
// into a NaN-filled dqkv buffer (beta = 0 over NaN in strided outputs). The reference is
// autograd of the same attention on the qkv tensor; P and dS (softmax and its backward) are fed
// from the reference so that only gemm is under test here.
TEST_CASE("gemm: attention on strided views of a qkv buffer", "[gemm][attention]") {
    seed(203);
    const int64_t N = 2, T = 13, H = 3, hd = 7, D = H * hd;
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    const float fscale = static_cast<float>(scale);

    torch::Tensor qkv = randn({N, T, 3, H, hd}).requires_grad_(true);
    torch::Tensor q = qkv.select(2, 0).permute({0, 2, 1, 3});
    torch::Tensor k = qkv.select(2, 1).permute({0, 2, 1, 3});
    torch::Tensor v = qkv.select(2, 2).permute({0, 2, 1, 3});
    torch::Tensor s = fscale * torch::matmul(q, k.transpose(-1, -2));
    s.retain_grad();
    torch::Tensor p = torch::softmax(s, -1);
    torch::Tensor o = torch::matmul(p, v).permute({0, 2, 1, 3}).reshape({N, T, D});
    torch::Tensor dO = randn({N, T, D});
    o.backward(dO);
    const torch::Tensor qa = q.detach().abs(), ka = k.detach().abs(), va = v.detach().abs();

    Tensor dqkv_in = up(qkv.reshape({N, T, 3 * D}));
    const vitedit::Shape hs{N, H, T, hd}, qkv_strides{T * 3 * D, hd, 3 * D, 1};
    Tensor Q = dqkv_in.view(hs, qkv_strides, 0), K = dqkv_in.view(hs, qkv_strides, D),
           V = dqkv_in.view(hs, qkv_strides, 2 * D);

    // S = scale * Q @ K^T, both with K^T as a t() view and with trans_b
    torch::Tensor sref = s.detach();
    torch::Tensor stol = dot_tol(sref, std::abs(scale) * torch::matmul(qa, ka.transpose(-1, -2)), hd);
    Tensor S = nan_tensor({N, H, T, T});
    be().gemm(false, false, fscale, Q, K.t(), 0.0f, S);
    require_close_tol(down(S), sref, stol, "gemmNN attention scores Q @ K.t() (strided views)", "dot_tol(hd)");
    Tensor S2 = nan_tensor({N, H, T, T});
    be().gemm(false, true, fscale, Q, K, 0.0f, S2);
    require_close_tol(down(S2), sref, stol, "gemmNT attention scores Q @ K^T (strided views)", "dot_tol(hd)");

    // O = P @ V into the merged-heads view of [N,T,D]
    torch::Tensor pref = to_f32_f64(p);
    Tensor P = up(pref);
    Tensor Obuf = nan_tensor({N, T, D});
    const vitedit::Shape o_strides{T * D, hd, D, 1};
    be().gemm(false, false, 1.0f, P, V, 0.0f, Obuf.view(hs, o_strides, 0));
    torch::Tensor oref = torch::matmul(pref, v.detach()).permute({0, 2, 1, 3}).reshape({N, T, D});
    torch::Tensor oabs = torch::matmul(pref.abs(), va).permute({0, 2, 1, 3}).reshape({N, T, D});
    require_close_tol(down(Obuf), oref, dot_tol(oref, oabs, T), "gemmNN P @ V into merged-heads view", "dot_tol(T)");

    // backward
    Tensor dObuf = up(dO);
    Tensor dOv = dObuf.view(hs, o_strides, 0);
    torch::Tensor dOh = dO.reshape({N, T, H, hd}).permute({0, 2, 1, 3});
    Tensor dP = nan_tensor({N, H, T, T});
    be().gemm(false, true, 1.0f, dOv, V, 0.0f, dP);  // dP = dO V^T
    torch::Tensor dPref = torch::matmul(dOh, v.detach().transpose(-1, -2));
    require_close_tol(down(dP), dPref, dot_tol(dPref, torch::matmul(dOh.abs(), va.transpose(-1, -2)), hd),
                      "gemmNT dP = dO(strided) @ V(strided)^T", "dot_tol(hd)");

    torch::Tensor dSref = to_f32_f64(s.grad());
    Tensor dS = up(dSref);
    Tensor dqkv = nan_tensor({N, T, 3 * D});
    be().gemm(false, false, fscale, dS, K, 0.0f, dqkv.view(hs, qkv_strides, 0));      // dQ = scale dS K
    be().gemm(true, false, fscale, dS, Q, 0.0f, dqkv.view(hs, qkv_strides, D));       // dK = scale dS^T Q
    be().gemm(true, false, 1.0f, P, dOv, 0.0f, dqkv.view(hs, qkv_strides, 2 * D));    // dV = P^T dO
    torch::Tensor dq_abs = std::abs(scale) * torch::matmul(dSref.abs(), ka);
    torch::Tensor dk_abs = std::abs(scale) * torch::matmul(dSref.abs().transpose(-1, -2), qa);
    torch::Tensor dv_abs = torch::matmul(pref.abs().transpose(-1, -2), dOh.abs());
    torch::Tensor abs_all = torch::stack({dq_abs, dk_abs, dv_abs}, 2).permute({0, 3, 2, 1, 4});  // [N,T,3,H,hd]
    require_close_tol(down(dqkv).reshape({N, T, 3, H, hd}), qkv.grad(), dot_tol(qkv.grad(), abs_all, T),
                      "gemm dQ/dK/dV into strided views of dqkv vs autograd", "dot_tol(T)");
}

// Padded and transposed operands: row strides larger than the row (a sub-block of a bigger
// matrix), batch strides larger than the matrix, a column-major output (a t() view), with
// beta accumulating; the padding around every view must stay untouched.
TEST_CASE("gemm: padded and column-major views, 3-D batched", "[gemm][strided]") {
    seed(204);
    const int64_t B = 3, M = 5, K = 11, N = 7;
    torch::Tensor abuf = randn({B, M + 2, 16});  // a = abuf[:, 1:1+M, 2:2+K]
    torch::Tensor bbuf = randn({B, N + 1, 13});  // b (used transposed) = bbuf[:, 0:N, 1:1+K]
    torch::Tensor cbuf = randn({B, M, 9});       // c = cbuf[:, :, 1:1+N]
    torch::Tensor ctbuf = randn({B, N, M});      // c2 = ctbuf^T (column-major [B, M, N])
    Tensor da = up(abuf).view({B, M, K}, {(M + 2) * 16, 16, 1}, 16 + 2);
    Tensor db = up(bbuf).view({B, N, K}, {(N + 1) * 13, 13, 1}, 1);
    Tensor dcbuf = up(cbuf), dctbuf = up(ctbuf);
    torch::Tensor a = abuf.slice(1, 1, 1 + M).slice(2, 2, 2 + K), b = bbuf.slice(1, 0, N).slice(2, 1, 1 + K);
    const torch::Tensor ab = torch::matmul(a, b.transpose(-1, -2)), abs_ab = torch::matmul(a.abs(), b.abs().transpose(-1, -2));

    be().gemm(false, true, -0.5f, da, db, 0.75f, dcbuf.view({B, M, N}, {M * 9, 9, 1}, 1));
    torch::Tensor e = cbuf.clone();
    e.slice(2, 1, 1 + N).copy_(-0.5 * ab + 0.75 * cbuf.slice(2, 1, 1 + N));
    torch::Tensor scale = torch::zeros_like(cbuf);
    scale.slice(2, 1, 1 + N).copy_(0.5 * abs_ab + 0.75 * cbuf.slice(2, 1, 1 + N).abs());
    require_close_tol(down(dcbuf), e, dot_tol(e, scale, K), "gemmNT padded a/b views into a padded c view [3,5,7]",
                      "dot_tol(K)");

    be().gemm(false, true, 1.0f, da, db, 1.0f, dctbuf.t());
    torch::Tensor e2 = ctbuf + ab.transpose(-1, -2);
    require_close_tol(down(dctbuf), e2, dot_tol(e2, abs_ab.transpose(-1, -2) + ctbuf.abs(), K),
                      "gemmNT into a column-major c (t() view), beta 1", "dot_tol(K)");
}

// A backend may keep derived copies of a GEMM operand it has seen unchanged (onednn packs weights
// into its blocked layout from their second read on). Whatever it keeps, a GEMM must always see
// the operand's current values: here a weight-sized B is read twice (x W^T and y W) so any copy
// exists, then every op that can write a tensor writes it (whole or a slice), and both products
// are checked against LibTorch on the weight as it is now.
namespace {
void weight_rewrites(int64_t H, int64_t D, int64_t T = 20) {
    Tensor W = up(randn({H, D}, 0.05));
    const torch::Tensor X = randn({T, D}), Y = randn({T, H});
    Tensor dX = up(X), dY = up(Y), out1 = nan_tensor({T, H}), out2 = nan_tensor({T, D});
    auto check = [&](const std::string& after) {
        for (int rep = 0; rep < 3; ++rep) {  // the 2nd and 3rd reads may come from a copy
            be().gemm(false, true, 1.0f, dX, W, 0.0f, out1);
            be().gemm(false, false, 1.0f, dY, W, 0.0f, out2);
            const torch::Tensor w = down(W);
            const torch::Tensor e1 = torch::matmul(X, w.t()), e2 = torch::matmul(Y, w);
            require_close_tol(down(out1), e1, dot_tol(e1, torch::matmul(X.abs(), w.abs().t()), D), "x W^T after " + after,
                              "dot_tol(K=" + std::to_string(D) + ")");
            require_close_tol(down(out2), e2, dot_tol(e2, torch::matmul(Y.abs(), w.abs()), H), "y W after " + after,
                              "dot_tol(K=" + std::to_string(H) + ")");
        }
    };
    check("upload");
    W.upload(std::vector<float>(static_cast<size_t>(H * D), 0.01f));
    check("a second upload");
    Tensor G = up(randn({H, D})), sq = be().zeros({H, D}), m = be().zeros({H, D});
    be().rmsprop_step(W, G, sq, nullptr, 0, 1e-2f, 0.99f, 1e-8f);
    check("rmsprop_step");
    be().sgd_step(W, G, nullptr, 0, 1e-2f, 0.0f);
    check("sgd_step");
    be().adam_step(W, G, m, sq, nullptr, 0, 1e-2f, 0.9f, 0.999f, 1e-8f, 0.0f, 1);
    check("adam_step");
    be().axpby(0.5f, G, 1.0f, W);
    check("axpby");
    be().copy(up(randn({H, D}, 0.05)), W);
    check("copy");
    be().add(W, G, W);
    check("add (in place)");
    be().fill(W.slice(H / 2, H / 2 + 1), 3.0f);  // one row of the middle
    check("fill of one row");
    be().gemm(false, false, 1.0f, up(randn({H, 8}, 0.1)), up(randn({8, D}, 0.1)), 1.0f, W);
    check("a gemm writing it");
    be().penalty_grad(G, up(randn({H, D}, 0.05)), W, 0.5f, 2);  // g = W: writes W
    check("penalty_grad");
    if (be().has_unit_ops()) {
        be().scatter_units(up(randn({3, D})), VE_MASK_ROWS, {1, 7, static_cast<int32_t>(H - 1)}, W);
        check("scatter_units");
    }
}
}  // namespace

TEST_CASE("gemm: a weight read again after each kind of write", "[gemm][weights]") {
    seed(205);
    weight_rewrites(384, 256);  // 98K elements: large enough to be packed
    weight_rewrites(320, 320);  // square: W and W^T cover the same bytes in the same shape
    weight_rewrites(128, 512, 64);  // wide, 64 rows: onednn packs `y W` already on the first read
}

// linear_fwd (ABI 1.3): y = act(x W^T + b). Tolerance: the product's dot_tol(K) on z = x W^T + b,
// carried through GELU (|gelu'| < 1.13) plus GELU's own (see test_layers.cpp). A backend without
// the fused op runs the SDK's gemm + bias_add + gelu_fwd, which this checks just the same.
TEST_CASE("linear_fwd: bias and GELU fused into the product, vs LibTorch", "[gemm][linear]") {
    seed(211);
    INFO(be().name() << (be().has_fused_linear() ? ": fused linear_fwd" : ": no linear_fwd, the SDK's three ops"));
    if (!be().has_fused_linear())
        WARN(be().name() << " has no fused linear_fwd (optional, ABI 1.3): checking the SDK's gemm + bias_add + gelu_fwd");
    // w: dense [N, K] (kDense), stored transposed as [K, N] and seen through t() (kColMajor), or
    // the first K columns of rows K + 5 apart (kPadded): "any strides gemm accepts".
    enum WLayout { kDense, kColMajor, kPadded };
    struct Case { int64_t R, K, N, x_row_stride; bool bias; int act; WLayout w = kDense; };
    for (const Case& cs : {Case{5, 7, 11, 7, true, VE_ACT_NONE}, Case{5, 7, 11, 7, true, VE_ACT_GELU},
                           Case{64, 96, 192, 96, true, VE_ACT_GELU}, Case{64, 96, 192, 96, false, VE_ACT_GELU},
                           Case{64, 96, 192, 96, false, VE_ACT_NONE}, Case{3, 96, 300, 5 * 96, true, VE_ACT_NONE},
                           Case{197, 768, 384, 768, true, VE_ACT_GELU}, Case{9, 16, 1, 16, true, VE_ACT_GELU},
                           Case{5, 7, 11, 7, true, VE_ACT_GELU, kColMajor}, Case{64, 96, 192, 96, false, VE_ACT_NONE, kColMajor},
                           Case{33, 96, 130, 100, true, VE_ACT_GELU, kPadded}, Case{33, 96, 130, 96, false, VE_ACT_GELU, kPadded},
                           Case{1, 768, 3072, 768, true, VE_ACT_GELU}, Case{17, 1, 9, 1, true, VE_ACT_GELU},
                           Case{50, 3072, 768, 3072, true, VE_ACT_NONE, kColMajor}}) {
        // x: the first K columns of rows x_row_stride apart (the CLS rows of [N, T, D] tokens)
        torch::Tensor xbuf = randn({cs.R, cs.x_row_stride});
        torch::Tensor wbuf = cs.w == kColMajor ? randn({cs.K, cs.N}) : randn({cs.N, cs.w == kPadded ? cs.K + 5 : cs.K});
        torch::Tensor X = xbuf.slice(1, 0, cs.K), b = randn({cs.N});
        torch::Tensor W = cs.w == kColMajor ? wbuf.t() : wbuf.slice(1, 0, cs.K);
        torch::Tensor z = torch::matmul(X, W.t()) + (cs.bias ? b.unsqueeze(0) : torch::zeros({1, cs.N}));
        torch::Tensor ztol = dot_tol(z, torch::matmul(X.abs(), W.abs().t()) + (cs.bias ? b.abs().unsqueeze(0) : torch::zeros({1, cs.N})), cs.K);
        torch::Tensor e = cs.act == VE_ACT_GELU ? torch::gelu(z) : z;
        torch::Tensor tol = cs.act == VE_ACT_GELU ? 1.13 * ztol + 1e-6 + 1e-5 * e.abs() + 4 * kU * z.abs() : ztol;
        Tensor dxbuf = up(xbuf), dwbuf = up(wbuf), db = up(b);
        const Tensor dX = dxbuf.view({cs.R, cs.K}, {cs.x_row_stride, 1}, 0);
        const Tensor dW = cs.w == kColMajor ? dwbuf.t() : dwbuf.view({cs.N, cs.K}, {wbuf.size(1), 1}, 0);
        std::ostringstream name;
        name << "linear_fwd x" << shape_of(X) << " (row stride " << cs.x_row_stride << ") W" << shape_of(W)
             << (cs.w == kColMajor ? " (column-major)" : cs.w == kPadded ? " (row stride K+5)" : "")
             << (cs.bias ? " +b" : "") << (cs.act == VE_ACT_GELU ? " gelu" : "");
        for (int call = 0; call < 2; ++call) {  // the second call may read W from a packed copy
            Tensor Y = nan_tensor({cs.R, cs.N});
            be().linear_fwd(dX, dW, cs.bias ? &db : nullptr, cs.act, Y);
            require_close_tol(down(Y), e, tol, name.str() + " call " + std::to_string(call + 1),
                              "dot_tol(K) through GELU");
        }
    }
    // Bad input is refused by name, and leaves y as it was.
    Tensor Y = be().zeros({2, 3});
    CHECK_THROWS_WITH(be().linear_fwd(be().zeros({2, 4}), be().zeros({3, 4}), nullptr, 7, Y), Catch::Contains("activation"));
    CHECK_THROWS(be().linear_fwd(be().zeros({2, 4}), be().zeros({3, 5}), nullptr, VE_ACT_NONE, Y));
    CHECK(down(Y).abs().max().item<float>() == 0.0f);
    if (!be().has_fused_linear()) return;
    // The fused op itself, through the C table: VE_ERR_INVALID naming the op, y untouched (the
    // SDK refuses an unknown activation before it gets there).
    const ve_backend& raw = be().raw();
    const ve_ext_linear* linear = vitedit::boundary::extension<ve_ext_linear>(raw, VE_EXT_LINEAR);
    REQUIRE(linear);
    const Tensor x = up(randn({2, 4})), w = up(randn({3, 4})), b3 = up(randn({3}));
    auto refused = [&](ve_status st, const std::string& what) {
        const std::string msg = raw.ops->last_error(raw.ctx);
        INFO("linear_fwd with " << what << ": status " << st << ", message: " << msg);
        CHECK(st == VE_ERR_INVALID);
        CHECK(msg.find("linear_fwd") != std::string::npos);
    };
    auto call = [&](const Tensor& xx, const Tensor& ww, const Tensor* bb, int act, const Tensor& yy) {
        return linear->linear_fwd(raw.ctx, xx.ptr(), ww.ptr(), bb ? bb->ptr() : nullptr, act, yy.ptr());
    };
    refused(call(x, w, &b3, 7, Y), "act 7");
    refused(call(x, w, &b3, -1, Y), "act -1");
    refused(call(x, up(randn({3, 5})), &b3, VE_ACT_GELU, Y), "w [3,5] for x [2,4]");
    refused(call(x, up(randn({4, 4})), &b3, VE_ACT_NONE, Y), "w [4,4] for y [2,3]");
    refused(call(up(randn({3, 4})), w, &b3, VE_ACT_GELU, Y), "x [3,4] for y [2,3]");
    const Tensor b4 = up(randn({4}));
    refused(call(x, w, &b4, VE_ACT_GELU, Y), "a bias of 4 for 3 outputs");
    refused(call(x, w, &b4, VE_ACT_NONE, Y), "a bias of 4 for 3 outputs (no activation)");
    refused(call(up(randn({2, 2, 4})), w, nullptr, VE_ACT_NONE, Y), "a 3-D x");
    const Tensor yt = be().zeros({3, 2}).t();  // [2, 3], column-major
    refused(call(x, w, &b3, VE_ACT_GELU, yt), "a column-major y");
    CHECK(down(Y).abs().max().item<float>() == 0.0f);
}

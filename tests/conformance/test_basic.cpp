// Data movement and element-wise ops: copy, fill, axpby, add, bias_add, bias_grad; and error
// reporting.
//
// Tolerances:
//   copy, fill, add, bias_add: bit-exact. Moving data involves no arithmetic, and a + b is one
//     correctly rounded IEEE operation, so every conforming backend gives the same bits.
//   axpby: atol 1e-6, rtol 1e-5 (two products and a sum, possibly fused: a few ulps of the terms).
//   bias_grad: a sum over R rows, dot_tol(R) (see conformance.hpp: 4·√R·u·Σ|dy| + 1e-5 rel).
#include "conformance.hpp"

using namespace conf;

TEST_CASE("copy between strided views", "[copy]") {
    seed(101);
    SECTION("transpose: strided source, contiguous destination") {
        torch::Tensor x = randn({13, 17});
        Tensor dx = up(x);
        Tensor dst = nan_tensor({17, 13});
        be().copy(dx.t(), dst);
        require_equal(down(dst), x.t(), "copy [13,17]^T -> [17,13]");
    }
    SECTION("gather the CLS row of [N,T,D] tokens and scatter it back") {
        const int64_t N = 3, T = 5, D = 7;
        torch::Tensor tok = randn({N, T, D});
        Tensor dtok = up(tok);
        Tensor cls = nan_tensor({N, D});
        be().copy(dtok.view({N, D}, {T * D, 1}, 0), cls);
        require_equal(down(cls), tok.select(1, 0), "copy gather tokens[:,0] (strides [T*D,1])");

        // scatter into row 2 of a buffer whose other elements must stay untouched
        torch::Tensor buf = randn({N, T, D});
        Tensor dbuf = up(buf);
        torch::Tensor src = randn({N, D});
        be().copy(up(src), dbuf.view({N, D}, {T * D, 1}, 2 * D));
        torch::Tensor expect = buf.clone();
        expect.select(1, 2).copy_(src);
        require_equal(down(dbuf), expect, "copy scatter into tokens[:,2] (others untouched)");
    }
    SECTION("4-D: Q heads out of a qkv buffer [N,T,3,H,hd] and back") {
        const int64_t N = 2, T = 13, H = 3, hd = 7, D = H * hd;
        torch::Tensor qkv = randn({N, T, 3, H, hd});
        Tensor dqkv = up(qkv.reshape({N, T, 3 * D}));
        Tensor q = nan_tensor({N, H, T, hd});
        be().copy(dqkv.view({N, H, T, hd}, {T * 3 * D, hd, 3 * D, 1}, D), q);  // K heads (offset D)
        require_equal(down(q), qkv.select(2, 1).permute({0, 2, 1, 3}), "copy K view [N,H,T,hd] -> contiguous");

        torch::Tensor v = randn({N, H, T, hd});
        be().copy(up(v), dqkv.view({N, H, T, hd}, {T * 3 * D, hd, 3 * D, 1}, 2 * D));  // into V heads
        torch::Tensor expect = qkv.clone();
        expect.select(2, 2).copy_(v.permute({0, 2, 1, 3}));
        require_equal(down(dqkv).reshape({N, T, 3, H, hd}), expect, "copy contiguous -> V view of qkv");
    }
}

TEST_CASE("fill", "[fill]") {
    seed(102);
    Tensor t = nan_tensor({3, 5, 7});
    be().fill(t, 2.5f);
    require_equal(down(t), torch::full({3, 5, 7}, 2.5, torch::kFloat64), "fill [3,5,7]");

    torch::Tensor x = randn({7, 13});
    Tensor dx = up(x);
    be().fill(dx.slice(2, 5), -1.25f);
    torch::Tensor expect = x.clone();
    expect.slice(0, 2, 5).fill_(-1.25);
    require_equal(down(dx), expect, "fill rows [2,5) of [7,13] (others untouched)");
}

TEST_CASE("axpby", "[axpby]") {
    seed(103);
    for (auto shape : {std::vector<int64_t>{3, 5, 7}, std::vector<int64_t>{197, 768}}) {
        torch::Tensor x = randn(shape), y = randn(shape);
        const std::string s = shape_of(x);
        Tensor dy = up(y);
        be().axpby(1.5f, up(x), -0.75f, dy);
        require_close(down(dy), 1.5 * x - 0.75 * y, 1e-6, 1e-5, "axpby alpha 1.5 beta -0.75 " + s);

        Tensor dn = nan_tensor(std::vector<int64_t>(shape));
        be().axpby(-0.5f, up(x), 0.0f, dn);
        require_close(down(dn), -0.5 * x, 1e-6, 1e-5, "axpby beta 0 over NaN " + s);
    }
}

TEST_CASE("add, with the output aliasing an input", "[add]") {
    seed(104);
    for (auto shape : {std::vector<int64_t>{3, 5, 7}, std::vector<int64_t>{197, 768}}) {
        torch::Tensor a = randn(shape), b = randn(shape);
        const std::string s = shape_of(a);
        const torch::Tensor expect = to_f32_f64(a.to(torch::kFloat32) + b.to(torch::kFloat32));
        {
            Tensor out = nan_tensor(std::vector<int64_t>(shape));
            be().add(up(a), up(b), out);
            require_equal(down(out), expect, "add out separate " + s);
        }
        {
            Tensor da = up(a);
            be().add(da, up(b), da);
            require_equal(down(da), expect, "add out = a (residual) " + s);
        }
        {
            Tensor db = up(b);
            be().add(up(a), db, db);
            require_equal(down(db), expect, "add out = b " + s);
        }
        {
            Tensor da = up(a);
            be().add(da, da, da);
            require_equal(down(da), 2.0 * a, "add out = a = b " + s);
        }
    }
}

TEST_CASE("bias_add and bias_grad vs autograd of y + bias", "[bias]") {
    seed(105);
    for (auto shape : {std::vector<int64_t>{3, 5, 7}, std::vector<int64_t>{13, 17}, std::vector<int64_t>{197, 768}}) {
        const int64_t C = shape.back();
        const int64_t R = torch::tensor(shape).prod().item<int64_t>() / C;
        torch::Tensor y0 = randn(shape), bias = randn({C}).requires_grad_(true);
        const std::string s = shape_of(y0);
        torch::Tensor out = y0 + bias;
        torch::Tensor dy = randn(shape);
        out.backward(dy);

        Tensor dyv = up(y0);
        be().bias_add(dyv, up(bias));
        require_equal(down(dyv), to_f32_f64(y0.to(torch::kFloat32) + bias.detach().to(torch::kFloat32)),
                      "bias_add " + s);

        const torch::Tensor abs_sum = dy.abs().reshape({R, C}).sum(0);
        Tensor db = nan_tensor({C});
        be().bias_grad(up(dy), db, 0.0f);
        require_close_tol(down(db), bias.grad(), dot_tol(bias.grad(), abs_sum, R), "bias_grad beta 0 over NaN " + s,
                          "dot_tol(R)");

        torch::Tensor old = randn({C});
        Tensor db2 = up(old);
        be().bias_grad(up(dy), db2, 0.7f);
        torch::Tensor e = bias.grad() + 0.7 * old;
        require_close_tol(down(db2), e, dot_tol(e, abs_sum + 0.7 * old.abs(), R), "bias_grad beta 0.7 " + s,
                          "dot_tol(R)");
    }
}

// An op called with mismatched shapes must fail with a status, and the engine wrapper must turn
// it into a vitedit::Error whose message names the op (and the backend).
TEST_CASE("errors name the op", "[errors]") {
    const std::string name = be().name();
    auto expect_error = [&](const char* op, auto&& call) {
        try {
            call();
            FAIL_CHECK(name << "." << op << " with mismatched shapes did not fail");
        } catch (const vitedit::Error& e) {
            const std::string msg = e.what();
            INFO("message: " << msg);
            CHECK(msg.find(op) != std::string::npos);
            CHECK(msg.find(name) != std::string::npos);
        } catch (const std::exception& e) {
            FAIL_CHECK(name << "." << op << " threw something other than vitedit::Error: " << e.what());
        }
    };
    Tensor a = be().zeros({3, 4}), b = be().zeros({5, 6}), c = be().zeros({3, 6});
    expect_error("gemm", [&] { be().gemm(false, false, 1.0f, a, b, 0.0f, c); });
    Tensor x = be().zeros({4, 8}), g = be().zeros({7}), y = be().zeros({4, 8});
    expect_error("layernorm_fwd", [&] { be().layernorm_fwd(x, g, g, 1e-5f, y, nullptr, nullptr); });
    expect_error("add", [&] { be().add(a, c, c); });
    Tensor bias = be().zeros({5});
    expect_error("bias_add", [&] { be().bias_add(x, bias); });
}

// ABI 1.2's unit ops (optional: a backend without them makes the engine compute whole weight
// gradients). Data movement: bit-exact.
TEST_CASE("gather_units and scatter_units", "[units]") {
    if (!be().has_unit_ops()) {
        WARN(be().name() << " does not implement gather_units/scatter_units (optional, ABI 1.2): skipped");
        return;
    }
    seed(41);
    const torch::Tensor src = randn({37, 53});
    const std::vector<int32_t> rows = {0, 3, 4, 17, 36}, cols = {1, 2, 30, 52};
    auto idx = [](const std::vector<int32_t>& v) { return torch::tensor(std::vector<int64_t>(v.begin(), v.end())); };
    Tensor s = up(src);
    Tensor gr = be().empty({5, 53}), gc = be().empty({37, 4});
    be().gather_units(s, VE_MASK_ROWS, rows, gr);
    be().gather_units(s, VE_MASK_COLS, cols, gc);
    require_close(down(gr), src.index_select(0, idx(rows)), 0, 0, "gather_units rows");
    require_close(down(gc), src.index_select(1, idx(cols)), 0, 0, "gather_units columns");

    const torch::Tensor base = randn({37, 53});
    Tensor d1 = up(base), d2 = up(base);
    be().scatter_units(gr, VE_MASK_ROWS, rows, d1);
    be().scatter_units(gc, VE_MASK_COLS, cols, d2);
    require_close(down(d1), base.index_copy(0, idx(rows), src.index_select(0, idx(rows))), 0, 0, "scatter_units rows");
    require_close(down(d2), base.index_copy(1, idx(cols), src.index_select(1, idx(cols))), 0, 0, "scatter_units columns");

    const std::vector<int32_t> bad = {0, 53};
    CHECK_THROWS_WITH(be().gather_units(s, VE_MASK_COLS, bad, be().empty({37, 2})), Catch::Contains("gather_units"));
}

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

// The rest of the unit ops' contract, on every backend that has them: odd and unsorted index
// lists, one unit, every unit (a permutation), none; weights of ViT-B/16's MLP (many blocks of
// threads on a device) and long thin ones; contiguous views at an offset inside a larger buffer
// (the contract asks for contiguous 2-D tensors, not whole allocations). Bit-exact, and a scatter
// leaves every other element as it was.
TEST_CASE("gather_units and scatter_units: index lists, sizes and views", "[units]") {
    if (!be().has_unit_ops()) {
        WARN(be().name() << " does not implement gather_units/scatter_units (optional, ABI 1.2): skipped");
        return;
    }
    seed(43);
    auto idx = [](const std::vector<int32_t>& v) { return torch::tensor(std::vector<int64_t>(v.begin(), v.end())); };
    // Gathers units of `full` and scatters other values into a copy of a random base, both checked.
    auto round_trip = [&](const torch::Tensor& full, int axis, const std::vector<int32_t>& units, const std::string& what) {
        const int64_t R = full.size(0), C = full.size(1), k = static_cast<int64_t>(units.size());
        const int dim = axis == VE_MASK_ROWS ? 0 : 1;
        const vitedit::Shape compact = axis == VE_MASK_ROWS ? vitedit::Shape{k, C} : vitedit::Shape{R, k};
        const std::string name = what + " [" + std::to_string(R) + "," + std::to_string(C) + "] " +
                                 (axis == VE_MASK_ROWS ? "rows" : "columns") + ", " + std::to_string(k) + " units";
        Tensor g = nan_tensor(compact);
        be().gather_units(up(full), axis, units, g);
        require_equal(down(g), full.index_select(dim, idx(units)), "gather_units " + name);
        const torch::Tensor base = randn({R, C}), values = randn({compact[0], compact[1]});
        Tensor d = up(base);
        be().scatter_units(up(values), axis, units, d);
        require_equal(down(d), base.index_copy(dim, idx(units), values), "scatter_units " + name);
    };
    const torch::Tensor small = randn({37, 53});
    round_trip(small, VE_MASK_ROWS, {36, 0, 17}, "odd, unsorted");
    round_trip(small, VE_MASK_COLS, {52, 1, 30, 2, 7}, "odd, unsorted");
    round_trip(small, VE_MASK_ROWS, {20}, "one unit");
    round_trip(small, VE_MASK_COLS, {0}, "one unit");
    std::vector<int32_t> all_rows, all_cols;
    for (int32_t i = 36; i >= 0; --i) all_rows.push_back(i);
    for (int32_t i = 0; i < 53; ++i) all_cols.push_back((7 * i) % 53);  // 53 is prime: a permutation
    round_trip(small, VE_MASK_ROWS, all_rows, "every unit, reversed");
    round_trip(small, VE_MASK_COLS, all_cols, "every unit, permuted");

    std::vector<int32_t> vitb;  // 307 of ViT-B/16's 3072 MLP units
    for (int32_t u = 3; u < 3072; u += 10) vitb.push_back(u);
    round_trip(randn({3072, 768}), VE_MASK_ROWS, vitb, "ViT-B/16 fc1");
    round_trip(randn({768, 3072}), VE_MASK_COLS, vitb, "ViT-B/16 fc2");
    std::vector<int32_t> odd_rows, odd_cols;
    for (int32_t u = 4098; u >= 0; u -= 2) odd_rows.push_back(u);  // 2050 units
    for (int32_t u = 1; u < 4099; u += 4) odd_cols.push_back(u);   // 1025 units
    round_trip(randn({4099, 5}), VE_MASK_ROWS, odd_rows, "long and thin");
    round_trip(randn({5, 4099}), VE_MASK_COLS, odd_cols, "short and wide");

    {  // no units: nothing is read or written
        Tensor s = up(small), d = up(small);
        be().gather_units(s, VE_MASK_ROWS, {}, be().empty({0, 53}));
        be().gather_units(s, VE_MASK_COLS, {}, be().empty({37, 0}));
        be().scatter_units(be().empty({0, 53}), VE_MASK_ROWS, {}, d);
        be().scatter_units(be().empty({37, 0}), VE_MASK_COLS, {}, d);
        require_equal(down(d), small, "scatter_units of no units leaves dst as it was");
    }
    {  // contiguous views at an offset inside larger buffers
        const std::vector<int32_t> rows = {0, 3, 4, 17, 36}, cols = {1, 2, 30, 52, 9};
        const torch::Tensor big = randn({41, 53});
        const torch::Tensor src = big.slice(0, 2, 39);  // [37, 53] at row 2 of the allocation
        Tensor dbig = up(big);
        const Tensor s = dbig.slice(2, 39);
        const torch::Tensor out0 = randn({12, 53});
        Tensor dout = up(out0);
        be().gather_units(s, VE_MASK_ROWS, rows, dout.slice(4, 9));
        torch::Tensor e = out0.clone();
        e.slice(0, 4, 9).copy_(src.index_select(0, idx(rows)));
        require_equal(down(dout), e, "gather_units rows from row 2 of [41,53] into rows 4..8 of [12,53]");

        const torch::Tensor cbuf0 = randn({40, 5});
        Tensor dcbuf = up(cbuf0);
        be().gather_units(s, VE_MASK_COLS, cols, dcbuf.slice(1, 38));
        torch::Tensor e2 = cbuf0.clone();
        e2.slice(0, 1, 38).copy_(src.index_select(1, idx(cols)));
        require_equal(down(dcbuf), e2, "gather_units columns into rows 1..37 of [40,5]");

        // and back: scatter the compact views into the offset view; the rest of big stays
        be().scatter_units(dout.slice(4, 9), VE_MASK_ROWS, rows, s);
        be().scatter_units(dcbuf.slice(1, 38), VE_MASK_COLS, cols, s);
        require_equal(down(dbig), big, "scatter_units back into the offset view (the same values)");
        const torch::Tensor fresh = randn({5, 53});
        be().scatter_units(up(fresh), VE_MASK_ROWS, rows, s);
        torch::Tensor e3 = big.clone();
        e3.slice(0, 2, 39).index_copy_(0, idx(rows), fresh);
        require_equal(down(dbig), e3, "scatter_units rows into an offset view (rows 0, 1, 39, 40 untouched)");
    }
}

// Refusals: a bad axis, an index out of range on either side, a selection of the wrong shape,
// non-contiguous or non-2-D tensors, no index array. Through the C table: VE_ERR_INVALID and a
// message naming the op and what is wrong; through the SDK: a vitedit::Error naming the op. A
// refused scatter leaves dst as it was.
TEST_CASE("gather_units and scatter_units refuse bad arguments", "[units][errors]") {
    if (!be().has_unit_ops()) {
        WARN(be().name() << " does not implement gather_units/scatter_units (optional, ABI 1.2): skipped");
        return;
    }
    seed(44);
    const ve_backend& raw = be().raw();
    const ve_ext_units* units = vitedit::boundary::extension<ve_ext_units>(raw, VE_EXT_UNITS);
    REQUIRE(units);
    const torch::Tensor src = randn({37, 53});
    Tensor s = up(src), d = up(src);
    auto refused = [&](const char* op, ve_status st, const char* says) {
        const std::string msg = raw.ops->last_error(raw.ctx);
        INFO(op << ": status " << st << ", message: " << msg);
        CHECK(st == VE_ERR_INVALID);
        CHECK(msg.find(op) != std::string::npos);
        CHECK(msg.find(says) != std::string::npos);
    };
    auto gather = [&](const Tensor& from, int axis, const std::vector<int32_t>& index, const Tensor& to) {
        return units->gather_units(raw.ctx, from.ptr(), axis, index.data(), static_cast<int64_t>(index.size()), to.ptr());
    };
    auto scatter = [&](const Tensor& from, int axis, const std::vector<int32_t>& index, const Tensor& to) {
        return units->scatter_units(raw.ctx, from.ptr(), axis, index.data(), static_cast<int64_t>(index.size()), to.ptr());
    };
    refused("gather_units", gather(s, 2, {0}, be().empty({1, 53})), "axis 2");
    refused("scatter_units", scatter(be().empty({1, 53}), -1, {0}, d), "axis -1");
    refused("gather_units", gather(s, VE_MASK_ROWS, {0, 37}, be().empty({2, 53})), "index 37 out of range 0..36");
    refused("gather_units", gather(s, VE_MASK_COLS, {-1, 3}, be().empty({37, 2})), "index -1 out of range 0..52");
    refused("scatter_units", scatter(up(randn({2, 53})), VE_MASK_ROWS, {5, 40}, d), "out of range");
    refused("scatter_units", scatter(up(randn({37, 2})), VE_MASK_COLS, {52, 53}, d), "out of range");
    refused("gather_units", gather(s, VE_MASK_ROWS, {0, 1}, be().empty({3, 53})), "expected [2,53]");
    refused("gather_units", gather(s, VE_MASK_COLS, {0, 1}, be().empty({37, 3})), "expected [37,2]");
    refused("scatter_units", scatter(be().empty({2, 52}), VE_MASK_ROWS, {0, 1}, d), "expected [2,53]");
    refused("gather_units", gather(s, VE_MASK_ROWS, {0}, be().empty({53})), "2 dims");
    // a transposed (strided) view: the contract asks for contiguous tensors
    refused("gather_units", gather(up(src.t().contiguous()).t(), VE_MASK_ROWS, {0}, be().empty({1, 53})), "contiguous");
    refused("scatter_units", scatter(up(randn({37, 2})), VE_MASK_COLS, {0, 1}, up(src.t().contiguous()).t()), "contiguous");
    refused("gather_units", units->gather_units(raw.ctx, s.ptr(), VE_MASK_ROWS, nullptr, 2, be().empty({2, 53}).ptr()),
            "index");
    require_equal(down(d), src, "dst after refused scatters");

    CHECK_THROWS_WITH(be().gather_units(s, VE_MASK_COLS, {0, 53}, be().empty({37, 2})),
                      Catch::Contains("gather_units") && Catch::Contains("invalid argument"));
    CHECK_THROWS_WITH(be().scatter_units(be().empty({1, 53}), VE_MASK_ROWS, {37}, d),
                      Catch::Contains("scatter_units") && Catch::Contains("invalid argument"));
}

// The ViT engine's logits, features and gradients equal those of a ViT written with LibTorch
// autograd (functional ops, no vitedit code), on random weights and images.
//
// Tolerances: forward values 1e-4 absolute on O(1) logits (float32, depth 3, reductions of
// width <= 96); gradients 2e-4 relative to the gradient's max magnitude, since their sums run over
// N*T rows and the two sides sum in different orders.
// LibTorch first: Debian's LibTorch brings glog, whose CHECK would silently replace Catch's
// (a failing glog CHECK aborts instead of reporting, a passing one is not counted).
#include <torch/torch.h>
#undef CHECK
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "backend_test_main.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "torch_vit.hpp"
#include "vitedit/predict.hpp"
#include "vitedit/registry.hpp"
#include "vitedit/trainer.hpp"
#include "vitedit/vit.hpp"

using namespace vitedit;

static auto& g_be = backend_test::backend;

namespace {

VitConfig small_config(int chans) {
    VitConfig c;
    c.in_chans = chans;
    c.patch = 5;
    c.grid_h = 4;
    c.grid_w = 3;  // not square: exercises vitedit.grid
    c.dim = 48;
    c.depth = 3;
    c.heads = 3;
    c.mlp_hidden = 96;
    c.num_classes = 7;
    c.ln_eps = 1e-6f;
    c.mean.assign(chans, 0.5f);
    c.std.assign(chans, 0.5f);
    return c;
}

std::map<std::string, torch::Tensor> random_weights(const VitConfig& c, int seed) {
    torch::manual_seed(seed);
    std::map<std::string, torch::Tensor> w;
    for (const auto& [name, shape] : expected_shapes(c)) {
        torch::Tensor t = torch::randn(shape) * 0.2;
        if (name.find("norm") != std::string::npos && name.find("weight") != std::string::npos)
            t = 1.0 + torch::randn(shape) * 0.1;
        w[name] = t.contiguous().set_requires_grad(true);
    }
    return w;
}

std::map<std::string, HostTensor> to_host(const std::map<std::string, torch::Tensor>& w) {
    std::map<std::string, HostTensor> out;
    for (const auto& [n, t] : w) {
        auto c = t.detach().contiguous();
        out[n] = HostTensor{c.sizes().vec(), std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())};
    }
    return out;
}

using reference::vit_forward;  // the reference: a timm-style ViT with LibTorch ops

void require_close(const std::vector<float>& got, const torch::Tensor& want_t, double tol, bool relative,
                   const std::string& what) {
    auto want = want_t.detach().contiguous().to(torch::kFloat);
    REQUIRE(static_cast<int64_t>(got.size()) == want.numel());
    const float* w = want.data_ptr<float>();
    double max_err = 0, max_ref = 0;
    size_t where = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        max_ref = std::max(max_ref, std::abs(static_cast<double>(w[i])));
        double e = std::abs(static_cast<double>(got[i]) - w[i]);
        if (!(e <= max_err)) max_err = e, where = i;
    }
    const double bound = relative ? tol * std::max(max_ref, 1e-6) : tol;
    INFO(what << ": max |err| " << max_err << " at " << where << " (got " << got[where] << ", want " << w[where]
              << "), bound " << bound);
    CHECK(max_err <= bound);
}

torch::Tensor random_images(const VitConfig& c, int64_t n) {
    return torch::randn({n, c.in_chans, c.image_h(), c.image_w()});
}

std::vector<float> flat(const torch::Tensor& t) {
    auto c = t.detach().contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

TEST_CASE("engine forward equals the LibTorch ViT", "[engine]") {
    for (int chans : {1, 3}) {
        const VitConfig c = small_config(chans);
        auto w = random_weights(c, 1 + chans);
        Vit vit(g_be, c, to_host(w));
        auto images = random_images(c, 3);
        torch::Tensor feat;
        auto logits = vit_forward(c, w, images, &feat);
        auto out = vit.forward(vit.upload_images(flat(images), 3));
        require_close(out.logits.download(), logits, 1e-4, false, "logits, C=" + std::to_string(chans));
        require_close(out.features.download(), feat, 1e-4, false, "features, C=" + std::to_string(chans));
    }
}

TEST_CASE("engine gradients equal LibTorch autograd", "[engine]") {
    const VitConfig c = small_config(3);
    auto w = random_weights(c, 7);
    Vit vit(g_be, c, to_host(w));
    const int64_t N = 4;
    auto images = random_images(c, N);
    std::vector<int32_t> labels = {0, 3, 6, 2};
    auto logits = vit_forward(c, w, images, nullptr);
    auto loss = torch::nn::functional::cross_entropy(logits, torch::tensor(std::vector<int64_t>{0, 3, 6, 2}));
    loss.backward();

    Vit::Activations acts;
    auto out = vit.forward(vit.upload_images(flat(images), N), &acts);
    Tensor dlogits = g_be->empty({N, c.num_classes});
    auto losses = g_be->cross_entropy(out.logits, labels, 0.0f, &dlogits, 1.0f / N);
    double mean_loss = 0;
    for (float l : losses) mean_loss += l / N;
    CHECK(std::abs(mean_loss - loss.item<double>()) < 1e-4);

    SECTION("every parameter (full backward, as in training)") {
        auto grads = vit.make_grads(vit.param_names());
        vit.backward(acts, dlogits, grads);
        for (const auto& [name, g] : grads) require_close(g.download(), w.at(name).grad(), 2e-4, true, "grad " + name);
    }
    SECTION("an edit's subset: fc1/fc2 of block 1 only, accumulated with beta") {
        std::vector<std::string> names = {"blocks.1.mlp.fc1.weight", "blocks.1.mlp.fc2.weight"};
        CHECK(vit.lowest_block(names) == 1);
        auto grads = vit.make_grads(names);
        vit.backward(acts, dlogits, grads);
        vit.backward(acts, dlogits, grads, 1.0f);  // accumulate: twice the gradient
        for (const auto& [name, g] : grads) require_close(g.download(), 2 * w.at(name).grad(), 2e-4, true, "2x grad " + name);
    }
    SECTION("an edit's fast path: cached prefix, CLS-only last block, masked neurons only") {
        // Sites fc1/fc2 of blocks 0 and 1 (block 0 is the lowest: its fc1 gradient comes from
        // the masked hidden units alone); block 2, the last, runs for the CLS row only.
        // Caches: the tokens entering block 0, or block 0's attention half too, or that and block
        // 0's MLP on the masked units alone (MlpUnits; the unit ops needed): overlapping masks,
        // an empty fc1 mask, every unit of fc1 and none of fc2.
        enum Mode { kSuffix, kFromMlp, kUnits, kUnitsNoRows, kUnitsAllRows };
        const int mode = GENERATE(kSuffix, kFromMlp, kUnits, kUnitsNoRows, kUnitsAllRows);
        if (mode >= kUnits && !g_be->has_unit_ops()) return;
        const bool from_mlp = mode != kSuffix;
        std::vector<int32_t> rows = {0, 7, 8, 50, 95}, cols = {3, 4, 8, 90};
        if (mode == kUnitsNoRows) rows.clear();
        if (mode == kUnitsAllRows) {
            rows.clear();
            for (int32_t u = 0; u < c.mlp_hidden; ++u) rows.push_back(u);
            cols.clear();
        }
        Vit::Activations a2;
        a2.cls_last = true;
        const Tensor tokens = vit.forward_prefix(vit.upload_images(flat(images), N), 0);
        const Vit::MlpInput mlp_in = vit.forward_attention(tokens, 0);
        MlpUnits mu;
        if (mode >= kUnits) mu = vit.prepare_mlp_units(mlp_in, 0, rows, cols);
        auto out2 = !from_mlp ? vit.forward_suffix(tokens, 0, &a2)
                              : vit.forward_from_mlp(mlp_in, 0, &a2, mode >= kUnits ? &mu : nullptr);
        require_close(out2.logits.download(), logits, 1e-4, false, "logits with the CLS-only last block, mode " + std::to_string(mode));
        if (mode >= kUnits) {  // inference through the units gives the same logits
            auto out3 = vit.forward_from_mlp(mlp_in, 0, nullptr, &mu);
            require_close(out3.logits.download(), logits, 1e-4, false, "inference logits through the MLP units");
        }
        std::map<std::string, std::vector<int32_t>> units;
        std::vector<std::string> names;
        for (int b : {0, 1}) {
            const std::string p = "blocks." + std::to_string(b) + ".mlp.";
            units[p + "fc1.weight"] = rows;
            units[p + "fc2.weight"] = cols;
            names.push_back(p + "fc1.weight");
            names.push_back(p + "fc2.weight");
        }
        auto grads = vit.make_grads(names);
        vit.backward(a2, dlogits, grads, 0.0f, &units);
        for (const auto& [name, g] : grads) {
            const bool is_fc1 = name.find("fc1") != std::string::npos;
            const auto& idx = is_fc1 ? rows : cols;
            if (idx.empty()) continue;
            auto sel = torch::tensor(std::vector<int64_t>(idx.begin(), idx.end()));
            auto got = torch::from_blob(g.download().data(), {g.dim(0), g.dim(1)}, torch::kFloat).clone();
            require_close(flat(got.index_select(is_fc1 ? 0 : 1, sel)),
                          w.at(name).grad().index_select(is_fc1 ? 0 : 1, sel), 2e-4, true, "masked grad " + name);
        }
        auto bad = vit.make_grads({"blocks.2.mlp.fc1.weight"});
        REQUIRE_THROWS_WITH(vit.backward(a2, dlogits, bad), Catch::Contains("cls_last"));
        if (from_mlp) {
            auto below = vit.make_grads({"blocks.0.attn.proj.weight"});
            REQUIRE_THROWS_WITH(vit.backward(a2, dlogits, below), Catch::Contains("forward_from_mlp"));
        }
        if (mode == kUnits) {  // gradients of other units than the prepared ones: refused
            auto other = units;
            other["blocks.0.mlp.fc1.weight"] = {1, 2};
            auto g2 = vit.make_grads(names);
            REQUIRE_THROWS_WITH(vit.backward(a2, dlogits, g2, 0.0f, &other), Catch::Contains("prepared"));
        }
    }
    SECTION("head only") {
        auto grads = vit.make_grads({"head.weight", "norm.bias"});
        vit.backward(acts, dlogits, grads);
        for (const auto& [name, g] : grads) require_close(g.download(), w.at(name).grad(), 2e-4, true, "grad " + name);
    }
}

TEST_CASE("engine refuses mismatched inputs with clear errors", "[engine]") {
    const VitConfig c = small_config(1);
    auto w = random_weights(c, 3);
    auto host = to_host(w);
    Vit vit(g_be, c, host);
    auto bad = g_be->zeros({2, 3, c.image_h(), c.image_w()});
    REQUIRE_THROWS_WITH(vit.forward(bad), Catch::Contains("do not match the model input"));
    host["blocks.0.mlp.fc1.weight"].shape = {95, 48};
    REQUIRE_THROWS_WITH(Vit(g_be, c, host), Catch::Contains("blocks.0.mlp.fc1.weight"));
}

TEST_CASE("predict classifies in batches exactly as one forward per image", "[engine]") {
    const VitConfig c = small_config(1);
    Vit vit(g_be, c, to_host(random_weights(c, 5)));
    const torch::Tensor x = random_images(c, 7);
    const std::vector<float> all = flat(x);
    const size_t per = all.size() / 7;
    std::vector<size_t> done;
    const Predictions p = predict(
        vit, 7, [&](size_t i, float* dst) { std::copy(all.begin() + i * per, all.begin() + (i + 1) * per, dst); }, 3, true,
        [&](size_t n) { done.push_back(n); });
    CHECK(done == std::vector<size_t>{3, 6, 7});
    REQUIRE(p.logits.size() == 7u * c.num_classes);
    for (size_t i = 0; i < 7; ++i) {
        const std::vector<float> one(all.begin() + i * per, all.begin() + (i + 1) * per);
        const std::vector<float> l = vit.forward(vit.upload_images(one, 1)).logits.download();
        for (int k = 0; k < c.num_classes; ++k) CHECK(p.logits[i * c.num_classes + k] == Approx(l[k]).margin(1e-5));
        CHECK(p.labels[i] == top1(l.data(), c.num_classes));
    }
}

TEST_CASE("the trainer lowers the loss, and a resumed run ends bitwise equal to an uninterrupted one", "[engine]") {
    const VitConfig c = small_config(1);
    const int64_t n = 24;
    const std::vector<float> all = flat(random_images(c, n));
    const size_t per = all.size() / n;
    std::vector<std::vector<float>> inputs;
    std::vector<int32_t> labels;
    for (int64_t i = 0; i < n; ++i) {
        inputs.emplace_back(all.begin() + i * per, all.begin() + (i + 1) * per);
        labels.push_back(static_cast<int32_t>(i % c.num_classes));
    }
    std::vector<size_t> pool;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i)
        if (i != 5) pool.push_back(i);  // one image held out: never read
    TrainOptions o;
    o.epochs = 6;
    o.batch = 8;  // 3 steps per epoch, the last one short
    o.lr = 3e-3;
    o.seed = 11;
    CHECK(learning_rate_at(0, 3, 18, 1.0, 0.1) == Approx(1.0 / 3));
    CHECK(learning_rate_at(3, 3, 18, 1.0, 0.1) == Approx(1.0));
    CHECK(learning_rate_at(18, 3, 18, 1.0, 0.1) == Approx(0.1));

    Trainer straight(g_be, c, o, inputs, labels, pool, init_vit_params(c, o.seed));
    REQUIRE(straight.steps_per_epoch() == 3);
    double first = 0, last = 0;
    for (int64_t s = 0; s < straight.total_steps(); ++s) {
        const TrainStep t = straight.run_step();
        CHECK(t.images == (s % 3 == 2 ? 7 : 8));
        if (s < 3) first += t.loss_sum;
        if (s >= straight.total_steps() - 3) last += t.loss_sum;
    }
    CHECK(last < first);

    // Stopped mid-epoch (step 4), saved, read back into a fresh trainer.
    const std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/vitedit-trainer-test.safetensors";
    {
        Trainer part(g_be, c, o, inputs, labels, pool, init_vit_params(c, o.seed));
        for (int s = 0; s < 4; ++s) part.run_step();
        write_train_checkpoint(path, c, part.checkpoint("{\"note\": 1}"));
    }
    TrainCheckpoint ck = read_train_checkpoint(path);
    std::remove(path.c_str());
    CHECK(ck.state == "{\"note\": 1}");
    Trainer resumed(g_be, c, o, inputs, labels, pool, ck.params);
    resumed.resume(4, ck);
    while (resumed.step() < resumed.total_steps()) resumed.run_step();
    const auto a = straight.vit().download_params(), b = resumed.vit().download_params();
    for (const auto& [name, t] : a) {
        const HostTensor& u = b.at(name);
        REQUIRE(u.data.size() == t.data.size());
        CHECK(std::equal(t.data.data(), t.data.data() + t.data.size(), u.data.data()));
    }
    ck.adam_m.erase(ck.adam_m.begin());
    Trainer broken(g_be, c, o, inputs, labels, pool, ck.params);
    REQUIRE_THROWS_WITH(broken.resume(4, ck), Catch::Contains("optimizer state"));
}

int main(int argc, char** argv) { return backend_test::main(argc, argv); }

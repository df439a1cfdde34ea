// An edit through the real locator and editor plugins equals a replay of the same masked
// optimization with LibTorch autograd and torch::optim on the same weights, images and mask; it
// changes nothing outside the mask; patches round-trip bit-exactly; the frozen-prefix cache
// changes nothing.
//
// Tolerance: 1e-5 absolute on the edited weights after 8 steps (float32, same formulas, different
// summation order in the gradients).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <torch/torch.h>

#include <cstring>

#include "vitedit/hash.hpp"
#include "vitedit/patch.hpp"
#include "vitedit/plugin_host.hpp"
#include "vitedit/registry.hpp"
#include "vitedit/vit.hpp"

using namespace vitedit;

static std::string g_backend = "onednn";
static std::shared_ptr<Backend> g_be;
static Registry* g_reg;

namespace {

VitConfig tiny_config() {
    VitConfig c;
    c.in_chans = 1;
    c.patch = 4;
    c.grid_h = c.grid_w = 4;
    c.dim = 32;
    c.depth = 4;
    c.heads = 2;
    c.mlp_hidden = 64;
    c.num_classes = 5;
    c.mean = {0.5f};
    c.std = {0.5f};
    return c;
}

std::map<std::string, HostTensor> random_model(const VitConfig& c, int seed) {
    torch::manual_seed(seed);
    std::map<std::string, HostTensor> w;
    for (const auto& [name, shape] : expected_shapes(c)) {
        torch::Tensor t = torch::randn(shape) * 0.3;
        if (name.find("norm") != std::string::npos && name.find("weight") != std::string::npos) t = 1.0 + t * 0.3;
        t = t.contiguous();
        w[name] = HostTensor{shape, std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())};
    }
    return w;
}

torch::Tensor to_torch(const HostTensor& h) {
    return torch::from_blob(const_cast<float*>(h.data.data()), h.shape).clone();
}

// LibTorch ViT forward over a map of named tensors (independent of the engine).
torch::Tensor torch_vit(const VitConfig& c, std::map<std::string, torch::Tensor>& w, const torch::Tensor& x) {
    namespace F = torch::nn::functional;
    const int64_t N = x.size(0), D = c.dim, hd = D / c.heads;
    auto h = F::conv2d(x, w["patch_embed.proj.weight"], F::Conv2dFuncOptions().bias(w["patch_embed.proj.bias"]).stride(c.patch));
    h = torch::cat({w["cls_token"].expand({N, 1, D}), h.flatten(2).transpose(1, 2)}, 1) + w["pos_embed"];
    for (int b = 0; b < c.depth; ++b) {
        const std::string p = "blocks." + std::to_string(b) + ".";
        auto y = torch::layer_norm(h, {D}, w[p + "norm1.weight"], w[p + "norm1.bias"], c.ln_eps);
        const int64_t T = h.size(1);
        auto qkv = torch::linear(y, w[p + "attn.qkv.weight"], w[p + "attn.qkv.bias"]).reshape({N, T, 3, c.heads, hd}).permute({2, 0, 3, 1, 4});
        auto att = torch::softmax(torch::matmul(qkv[0], qkv[1].transpose(-2, -1)) / std::sqrt(double(hd)), -1);
        h = h + torch::linear(torch::matmul(att, qkv[2]).transpose(1, 2).reshape({N, T, D}), w[p + "attn.proj.weight"], w[p + "attn.proj.bias"]);
        y = torch::layer_norm(h, {D}, w[p + "norm2.weight"], w[p + "norm2.bias"], c.ln_eps);
        h = h + torch::linear(torch::gelu(torch::linear(y, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"])), w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"]);
    }
    auto f = torch::layer_norm(h.select(1, 0), {D}, w["norm.weight"], w["norm.bias"], c.ln_eps);
    return torch::linear(f, w["head.weight"], w["head.bias"]);
}

struct Fixture {
    VitConfig cfg = tiny_config();
    std::map<std::string, HostTensor> weights = random_model(cfg, 11);
    torch::Tensor images = torch::randn({2, 1, 16, 16});
    std::vector<int32_t> labels = {3, 1};
    std::vector<float> chw() const {
        auto c = images.contiguous();
        return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
    }
};

struct EditRun {
    std::map<std::string, HostTensor> edited;
    std::vector<std::vector<float>> mask;
    EditOutcome outcome;
};

EditRun run(const Fixture& f, const std::string& locator, const std::string& editor, bool cache = true) {
    Vit vit(g_be, f.cfg, f.weights);
    EditSession session(vit, ffn_sites(f.cfg, {1, 2}), vit.upload_images(f.chw(), 2), f.labels, 5, tensors_hash(f.weights), cache);
    LocatorInstance loc(*g_reg, parse_plugin_spec(locator, "locator"));
    EditorInstance ed(*g_reg, parse_plugin_spec(editor, "editor"));
    EditRun r;
    r.outcome = run_edit(session, loc, ed);
    r.mask = r.outcome.mask;
    r.edited = vit.download_params();
    return r;
}

// The same edit replayed with LibTorch: autograd gradients, masked, then torch::optim.
std::map<std::string, torch::Tensor> replay(const Fixture& f, const std::vector<std::vector<float>>& mask,
                                            const std::string& optimizer, double lr, int steps) {
    std::map<std::string, torch::Tensor> w;
    for (const auto& [n, h] : f.weights) w[n] = to_torch(h);
    const std::vector<std::string> sites = {"blocks.1.mlp.fc1.weight", "blocks.1.mlp.fc2.weight", "blocks.2.mlp.fc1.weight",
                                            "blocks.2.mlp.fc2.weight"};
    std::vector<torch::Tensor> params, masks;
    for (size_t i = 0; i < sites.size(); ++i) {
        w[sites[i]].set_requires_grad(true);
        params.push_back(w[sites[i]]);
        auto m = torch::tensor(mask[i]);
        masks.push_back(i % 2 == 0 ? m.unsqueeze(1) : m.unsqueeze(0));  // fc1 rows, fc2 columns
    }
    std::unique_ptr<torch::optim::Optimizer> opt;
    if (optimizer == "rmsprop") opt = std::make_unique<torch::optim::RMSprop>(params, torch::optim::RMSpropOptions(lr).alpha(0.99).eps(1e-8));
    else if (optimizer == "adam") opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(lr));
    else opt = std::make_unique<torch::optim::SGD>(params, torch::optim::SGDOptions(lr));
    auto labels = torch::tensor(std::vector<int64_t>(f.labels.begin(), f.labels.end()));
    for (int s = 0; s < steps; ++s) {
        opt->zero_grad();
        auto loss = torch::nn::functional::cross_entropy(torch_vit(f.cfg, w, f.images), labels);
        loss.backward();
        for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad().mul_(masks[i]);
        opt->step();
    }
    return w;
}

double max_diff(const HostTensor& a, const torch::Tensor& b) {
    auto c = b.detach().contiguous();
    double m = 0;
    for (size_t i = 0; i < a.data.size(); ++i) m = std::max(m, std::abs(double(a.data[i]) - c.data_ptr<float>()[i]));
    return m;
}

}  // namespace

TEST_CASE("editors equal LibTorch's optimizers on the same gradients and masks", "[edit]") {
    Fixture f;
    for (const char* opt : {"rmsprop", "adam", "sgd"}) {
        const double lr = std::string(opt) == "sgd" ? 0.05 : 1e-3;
        const std::string editor = std::string(opt) + ":lr=" + std::to_string(lr) + ",steps=8,stop_loss=0";
        EditRun r = run(f, "random:sparsity=0.2", editor);
        CHECK(r.outcome.steps == 8);
        auto ref = replay(f, r.mask, opt, lr, 8);
        for (const auto& [name, t] : r.edited) {
            INFO(opt << " " << name);
            CHECK(max_diff(t, ref[name]) <= 1e-5);
        }
    }
}

TEST_CASE("only masked neurons change; everything else is bit-identical", "[edit]") {
    Fixture f;
    EditRun r = run(f, "saliency:sparsity=0.1", "rmsprop:lr=1e-3,steps=20");
    const std::vector<std::string> sites = {"blocks.1.mlp.fc1.weight", "blocks.1.mlp.fc2.weight", "blocks.2.mlp.fc1.weight",
                                            "blocks.2.mlp.fc2.weight"};
    size_t changed_units = 0;
    for (const auto& [name, before] : f.weights) {
        const HostTensor& after = r.edited.at(name);
        auto it = std::find(sites.begin(), sites.end(), name);
        if (it == sites.end()) {
            INFO(name);
            CHECK(std::memcmp(before.data.data(), after.data.data(), before.data.size() * 4) == 0);
            continue;
        }
        const auto& m = r.mask[it - sites.begin()];
        const bool cols = (it - sites.begin()) % 2 == 1;
        const int64_t R = before.shape[0], C = before.shape[1];
        for (int64_t i = 0; i < R; ++i)
            for (int64_t j = 0; j < C; ++j) {
                const size_t k = static_cast<size_t>(i * C + j);
                if (m[cols ? j : i] == 0.0f) REQUIRE(std::memcmp(&before.data[k], &after.data[k], 4) == 0);
                else changed_units += before.data[k] != after.data[k];
            }
    }
    CHECK(changed_units > 0);
}

TEST_CASE("the frozen-prefix cache gives the same edit as recomputing everything", "[edit]") {
    Fixture f;
    EditRun a = run(f, "saliency:sparsity=0.2", "rmsprop:lr=1e-3,steps=6,stop_loss=0", true);
    EditRun b = run(f, "saliency:sparsity=0.2", "rmsprop:lr=1e-3,steps=6,stop_loss=0", false);
    CHECK(a.mask == b.mask);
    for (const auto& [name, t] : a.edited) {
        INFO(name);
        CHECK(std::memcmp(t.data.data(), b.edited.at(name).data.data(), t.data.size() * 4) == 0);
    }
}

TEST_CASE("patches round-trip bit-exactly and refuse other models", "[edit][patch]") {
    Fixture f;
    EditRun r = run(f, "saliency:sparsity=0.1", "rmsprop:lr=1e-3,steps=20");
    const auto sites = ffn_sites(f.cfg, {1, 2});
    Patch p = make_patch(f.weights, r.edited, sites, {{"locator", "saliency"}});
    const std::string path = "/tmp/vitedit_test_patch_" + std::to_string(::getpid()) + ".vtp";
    save_patch(path, p);
    Patch q = load_patch(path);
    std::remove(path.c_str());
    auto applied = apply_patch(f.weights, q);
    CHECK(tensors_hash(applied) == tensors_hash(r.edited));
    auto reverted = revert_patch(applied, q);
    CHECK(tensors_hash(reverted) == tensors_hash(f.weights));
    REQUIRE_THROWS_WITH(apply_patch(applied, q), Catch::Contains("applies to the model with hash"));
    REQUIRE_THROWS_WITH(apply_patch(random_model(f.cfg, 99), q), Catch::Contains("hash"));
    size_t units = 0;
    for (const auto& s : q.sites) units += s.indices.size();
    CHECK(units > 0);
}

TEST_CASE("bad chains are refused with what was expected", "[edit]") {
    REQUIRE_THROWS_WITH(LocatorInstance(*g_reg, parse_plugin_spec("nosuch", "l")), Catch::Contains("no usable locator named 'nosuch'"));
    REQUIRE_THROWS_WITH(LocatorInstance(*g_reg, parse_plugin_spec("random:sparsity=2", "l")), Catch::Contains("(0, 1]"));
    REQUIRE_THROWS_WITH(EditorInstance(*g_reg, parse_plugin_spec("rmsprop:lr=abc", "e")), Catch::Contains("not a number"));
    REQUIRE_THROWS_WITH(EditorInstance(*g_reg, parse_plugin_spec("rmsprop:momentum=0.9", "e")),
                        Catch::Contains("unknown option 'momentum'") && Catch::Contains("lr"));
    REQUIRE_THROWS_WITH(parse_plugin_spec("rmsprop:lr", "--editor"), Catch::Contains("not key=value"));
}

int main(int argc, char** argv) {
    std::vector<char*> rest;
    for (int i = 0; i < argc; ++i) {
        if (std::string(argv[i]) == "--backend" && i + 1 < argc) g_backend = argv[++i];
        else rest.push_back(argv[i]);
    }
    Registry reg;
    reg.scan({VITEDIT_PLUGIN_DIR});
    g_reg = &reg;
    g_be = reg.create_backend(g_backend);
    torch::set_num_threads(2);
    int rc = Catch::Session().run(static_cast<int>(rest.size()), rest.data());
    g_be.reset();
    return rc;
}

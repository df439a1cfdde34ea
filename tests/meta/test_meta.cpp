// Meta-training the hypernetwork locator: the oracle-mask outer gradient and one distillation step
// against LibTorch autograd implementations of the same formulas (written independently here),
// a short meta-training run (loss goes down, bit-identical for a fixed seed, resumable), the
// checkpoint round trip, and the `hypernet` locator's refusal of checkpoints made elsewhere.
// LibTorch first: Debian's LibTorch brings glog, whose CHECK would silently replace Catch's
// (a failing glog CHECK aborts instead of reporting, a passing one is not counted).
#include <torch/torch.h>
#undef CHECK
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "backend_test_main.hpp"

#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "random_vit.hpp"
#include "torch_vit.hpp"
#include "vitedit/hash.hpp"
#include "vitedit/hypernet.hpp"
#include "vitedit/meta_train.hpp"
#include "vitedit/oracle_mask.hpp"
#include "vitedit/plugin_host.hpp"
#include "vitedit/registry.hpp"
#include "vitedit/vit.hpp"

using namespace vitedit;

static auto& g_be = backend_test::backend;
static auto& g_reg = backend_test::registry;

namespace {

using reference::random_model;
using reference::to_torch;
VitConfig tiny_config() { return reference::tiny_config(48); }
torch::Tensor to_torch(const std::vector<float>& v, std::vector<int64_t> shape) {
    return torch::from_blob(const_cast<float*>(v.data()), shape).clone();
}
std::vector<float> to_vec(const torch::Tensor& t) {
    auto c = t.detach().contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Relative max difference: max|a - b| / (max|b| + tiny).
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
    REQUIRE(a.size() == b.size());
    double m = 0, s = 1e-12;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i])), s = std::max(s, std::abs(double(b[i])));
    return m / s;
}

torch::Tensor torch_block(const torch::Tensor& h, const std::map<std::string, torch::Tensor>& w, const std::string& p, int heads,
                          double eps) {
    return reference::block_forward(h, w, p, heads, eps);
}
torch::Tensor torch_vit(const VitConfig& c, const std::map<std::string, torch::Tensor>& w, const torch::Tensor& x) {
    return reference::vit_forward(c, w, x);
}

// T^2 KL(p || softmax(logits / T)), summed over the batch.
torch::Tensor torch_kl(const torch::Tensor& logits, const torch::Tensor& p, double T) {
    return T * T * (p * (p.log() - torch::log_softmax(logits / T, -1))).sum();
}

struct Model {
    VitConfig cfg = tiny_config();
    std::map<std::string, HostTensor> weights;
    explicit Model(int seed = 11) : weights(random_model(cfg, seed)) {}
};

std::vector<float> random_images(int64_t n, int seed) {
    torch::manual_seed(seed);
    return to_vec(torch::randn({n, 1, 16, 16}));
}

std::string tmp_path(const std::string& tag) {
    return "/tmp/vitedit_meta_test_" + tag + "_" + std::to_string(::getpid()) + ".safetensors";
}

// Reference: per sample, inner steps with autograd gradients w.r.t. the effective weights,
// delta detached; then KL + lambda * mean(m) (+ mu * mean_r KL(p0_r || f(z_r)) at T = 1 on the
// anchor images z) at W + delta * m backpropagated to u.
struct TorchAnchor {
    torch::Tensor images, p0;  // [R, 1, 16, 16], the original model's softmax on them
};
// Pseudo-groups: G hosts per sample (sample-major) whose mean T^2 KL replaces the sample's own.
struct TorchGroup {
    torch::Tensor images, targets;  // [B * G, 1, 16, 16], [B * G, K]
};
void reference_outer(const Model& m, const std::vector<EditSite>& sites, const OracleOptions& o, const std::vector<float>& images,
                     int64_t B, const torch::Tensor& target, const torch::Tensor& u0, const TorchAnchor& anchor,
                     std::vector<float>& ref_grad, std::vector<float>& ref_kl, const TorchGroup& group = {}) {
    std::map<std::string, torch::Tensor> base;
    for (const auto& [n, h] : m.weights) base[n] = to_torch(h);
    const torch::Tensor x = to_torch(images, {B, 1, 16, 16});
    for (int64_t i = 0; i < B; ++i) {
        torch::Tensor ui = u0[i].clone().set_requires_grad(true);
        torch::Tensor mi = torch::sigmoid(10 * ui);
        std::vector<torch::Tensor> masks, deltas;
        int64_t off = 0;
        for (const auto& s : sites) {
            auto ms = mi.narrow(0, off, s.units);
            masks.push_back(s.unit == VE_UNIT_ROW ? ms.unsqueeze(1) : ms.unsqueeze(0));
            deltas.push_back(torch::zeros(base[s.name].sizes()));
            off += s.units;
        }
        auto weights = [&](bool through_mask, std::vector<torch::Tensor>* eff) {
            std::map<std::string, torch::Tensor> w = base;
            for (size_t s = 0; s < sites.size(); ++s) {
                torch::Tensor e = through_mask ? base[sites[s].name] + deltas[s] * masks[s]
                                               : (base[sites[s].name] + deltas[s] * masks[s].detach()).detach().set_requires_grad(true);
                w[sites[s].name] = e;
                if (eff) eff->push_back(e);
            }
            return w;
        };
        for (int j = 0; j < o.inner_steps; ++j) {
            std::vector<torch::Tensor> eff;
            auto w = weights(false, &eff);
            auto loss = torch_kl(torch_vit(m.cfg, w, x.narrow(0, i, 1)), target.narrow(0, i, 1), o.temperature);
            auto g = torch::autograd::grad({loss}, eff);
            for (size_t s = 0; s < sites.size(); ++s) deltas[s] = (deltas[s] - o.edit_lr * g[s]).detach();
        }
        auto w = weights(true, nullptr);
        torch::Tensor loss;
        if (group.images.defined()) {
            const int64_t G = group.images.size(0) / B;
            loss = torch_kl(torch_vit(m.cfg, w, group.images.narrow(0, i * G, G)), group.targets.narrow(0, i * G, G), o.temperature) / G;
        } else {
            loss = torch_kl(torch_vit(m.cfg, w, x.narrow(0, i, 1)), target.narrow(0, i, 1), o.temperature);
        }
        torch::Tensor objective = loss + o.lambda * mi.mean();
        if (anchor.images.defined())
            objective = objective + o.locality * torch_kl(torch_vit(m.cfg, w, anchor.images), anchor.p0, 1.0) / anchor.images.size(0);
        objective.backward();
        for (float v : to_vec(ui.grad())) ref_grad.push_back(v);
        ref_kl.push_back(loss.item<float>());
    }
}

// The oracle options of the gradient checks: an inner step large enough that delta matters at
// this scale, and every weight away from its default.
OracleOptions oracle_test_options(float locality) {
    OracleOptions o;
    o.inner_steps = 3;
    o.edit_lr = 0.05f;
    o.lambda = 0.7f;
    o.temperature = 2.0f;
    o.locality = locality;
    return o;
}

}  // namespace

TEST_CASE("oracle-mask outer gradient equals LibTorch autograd of the same procedure", "[meta][oracle]") {
    Model m;
    Vit vit(g_be, m.cfg, m.weights);
    // Sites below the last block (which then runs for the CLS row only), and in it.
    const std::vector<int> blocks = GENERATE(std::vector<int>{1, 2}, std::vector<int>{2, 3});
    const auto sites = ffn_sites(m.cfg, blocks);
    const OracleOptions o = oracle_test_options(0.0f);
    OracleMasker masker(vit, sites, o);
    REQUIRE(masker.lowest_block() == blocks[0]);
    const int64_t B = 3, U = masker.units_per_sample(), K = m.cfg.num_classes;
    REQUIRE(U == 4 * m.cfg.mlp_hidden);

    const std::vector<float> images = random_images(B, 3);
    torch::manual_seed(4);
    const torch::Tensor target = torch::softmax(torch::randn({B, K}) * 2, -1);
    const torch::Tensor u0 = torch::rand({B, U}) * 2 - 1;
    const std::vector<float> u = to_vec(u0);
    const Tensor tokens = vit.forward_prefix(vit.upload_images(images, B), masker.lowest_block());
    const Tensor targets = g_be->from_host({B, K}, to_vec(target));
    std::vector<float> grad;
    const std::vector<float> kl = masker.outer_gradient(tokens, targets, u, grad);
    REQUIRE(kl.size() == static_cast<size_t>(B));

    std::vector<float> ref_grad, ref_kl;
    reference_outer(m, sites, o, images, B, target, u0, {}, ref_grad, ref_kl);
    CHECK(rel_diff(kl, ref_kl) < 1e-4);
    const double d = rel_diff(grad, ref_grad);
    INFO("relative max difference of the outer gradient: " << d);
    CHECK(d < 1e-4);
    // The sparsity term alone would push every logit down; the KL term must matter somewhere.
    double norm = 0;
    for (float v : ref_grad) norm += std::abs(v);
    CHECK(norm > 0);

    // optimize() takes RMSprop steps on exactly this gradient (first step: -lr * sign-like).
    std::vector<float> u1 = u;
    OracleOptions o1 = o;
    o1.outer_steps = 1;
    OracleMasker one(vit, sites, o1);
    one.optimize(tokens, targets, u1);
    for (size_t k = 0; k < u1.size(); k += 37) {
        const float g = grad[k];
        const float expect = u[k] - o.mask_lr * g / (std::sqrt(0.01f * g * g) + 1e-8f);
        CHECK(std::abs(u1[k] - expect) <= 1e-3f * std::max(1.0f, std::abs(expect)));
    }
    // Several outer steps (optimize() reuses the base-weight gradient across them) equal the
    // public outer gradient stepped by hand.
    OracleOptions o3 = o;
    o3.outer_steps = 3;
    OracleMasker three(vit, sites, o3);
    std::vector<float> ua = u, ub = u, sq(u.size(), 0.0f), g;
    const std::vector<float> kla = three.optimize(tokens, targets, ua);
    std::vector<float> klb;
    for (int k = 0; k < 3; ++k) {
        klb = three.outer_gradient(tokens, targets, ub, g);
        for (size_t i = 0; i < ub.size(); ++i) {
            sq[i] = 0.99f * sq[i] + 0.01f * g[i] * g[i];
            ub[i] -= o.mask_lr * g[i] / (std::sqrt(sq[i]) + 1e-8f);
        }
    }
    CHECK(ua == ub);
    CHECK(kla == klb);
    CHECK(three.timing().passes == 3 * (o.inner_steps + 1) + 3 * o.inner_steps + 1);
}

// The locality term: mu * mean_r KL(original || edited) on unrelated images, through each
// sample's edited weights (the images run as B * R rows of per-sample weights).
TEST_CASE("oracle-mask locality term's gradient equals LibTorch autograd", "[meta][oracle][locality]") {
    Model m;
    Vit vit(g_be, m.cfg, m.weights);
    const std::vector<int> blocks = GENERATE(std::vector<int>{1, 2}, std::vector<int>{2, 3});
    const auto sites = ffn_sites(m.cfg, blocks);
    const OracleOptions o = oracle_test_options(3.0f);
    OracleMasker masker(vit, sites, o);
    const int64_t B = 3, R = 2, U = masker.units_per_sample(), K = m.cfg.num_classes;
    const std::vector<float> images = random_images(B, 3), others = random_images(R, 8);
    torch::manual_seed(4);
    const torch::Tensor target = torch::softmax(torch::randn({B, K}) * 2, -1);
    const torch::Tensor u0 = torch::rand({B, U}) * 2 - 1;
    const std::vector<float> u = to_vec(u0);
    const Tensor tokens = vit.forward_prefix(vit.upload_images(images, B), masker.lowest_block());
    const Tensor targets = g_be->from_host({B, K}, to_vec(target));
    std::map<std::string, torch::Tensor> base;
    for (const auto& [n, h] : m.weights) base[n] = to_torch(h);
    TorchAnchor ta{to_torch(others, {R, 1, 16, 16}), torch::Tensor()};
    ta.p0 = torch::softmax(torch_vit(m.cfg, base, ta.images), -1).detach();
    OracleAnchor anchor{vit.forward_prefix(vit.upload_images(others, R), masker.lowest_block()),
                        g_be->from_host({R, K}, to_vec(ta.p0))};

    std::vector<float> grad, ref_grad, ref_kl, plain;
    const std::vector<float> kl = masker.outer_gradient(tokens, targets, u, grad, &anchor);
    reference_outer(m, sites, o, images, B, target, u0, ta, ref_grad, ref_kl);
    CHECK(rel_diff(kl, ref_kl) < 1e-4);
    const double d = rel_diff(grad, ref_grad);
    INFO("relative max difference of the outer gradient with the locality term: " << d);
    CHECK(d < 1e-4);
    REQUIRE(masker.last_locality().size() == static_cast<size_t>(B));
    for (float v : masker.last_locality()) CHECK(v > 0);
    // The term changes the gradient (so the check above is not the plain one's by accident).
    masker.outer_gradient(tokens, targets, u, plain);
    CHECK(rel_diff(plain, grad) > 1e-3);
    // optimize() with the anchor equals its outer gradients stepped by hand.
    OracleOptions o2 = o;
    o2.outer_steps = 2;
    OracleMasker two(vit, sites, o2);
    std::vector<float> ua = u, ub = u, sq(u.size(), 0.0f), g;
    two.optimize(tokens, targets, ua, &anchor);
    for (int k = 0; k < 2; ++k) {
        two.outer_gradient(tokens, targets, ub, g, &anchor);
        for (size_t i = 0; i < ub.size(); ++i) {
            sq[i] = 0.99f * sq[i] + 0.01f * g[i] * g[i];
            ub[i] -= o.mask_lr * g[i] / (std::sqrt(sq[i]) + 1e-8f);
        }
    }
    CHECK(ua == ub);
}

// Pseudo-groups: the inner edit on each sample, the outer KL on its group's other hosts (their
// own soft targets), through the sample's edited weights; with the locality term beside it.
TEST_CASE("oracle-mask pseudo-group outer loss's gradient equals LibTorch autograd", "[meta][oracle][group]") {
    Model m;
    Vit vit(g_be, m.cfg, m.weights);
    const std::vector<int> blocks = GENERATE(std::vector<int>{1, 2}, std::vector<int>{2, 3});
    const float mu = GENERATE(0.0f, 3.0f);
    INFO("locality weight " << mu);
    const auto sites = ffn_sites(m.cfg, blocks);
    const OracleOptions o = oracle_test_options(mu);
    OracleMasker masker(vit, sites, o);
    const int64_t B = 3, G = 2, R = 2, U = masker.units_per_sample(), K = m.cfg.num_classes;
    const std::vector<float> images = random_images(B, 3), hosts = random_images(B * G, 5), others = random_images(R, 8);
    torch::manual_seed(4);
    const torch::Tensor target = torch::softmax(torch::randn({B, K}) * 2, -1);
    const torch::Tensor host_targets = torch::softmax(torch::randn({B * G, K}) * 2, -1);
    const torch::Tensor u0 = torch::rand({B, U}) * 2 - 1;
    const std::vector<float> u = to_vec(u0);
    const Tensor tokens = vit.forward_prefix(vit.upload_images(images, B), masker.lowest_block());
    const Tensor targets = g_be->from_host({B, K}, to_vec(target));
    const OracleGroup group{vit.forward_prefix(vit.upload_images(hosts, B * G), masker.lowest_block()),
                            g_be->from_host({B * G, K}, to_vec(host_targets))};
    std::map<std::string, torch::Tensor> base;
    for (const auto& [n, h] : m.weights) base[n] = to_torch(h);
    TorchAnchor ta;
    OracleAnchor anchor;
    if (mu > 0) {
        ta.images = to_torch(others, {R, 1, 16, 16});
        ta.p0 = torch::softmax(torch_vit(m.cfg, base, ta.images), -1).detach();
        anchor = {vit.forward_prefix(vit.upload_images(others, R), masker.lowest_block()), g_be->from_host({R, K}, to_vec(ta.p0))};
    }
    std::vector<float> grad, ref_grad, ref_kl, plain;
    const std::vector<float> kl = masker.outer_gradient(tokens, targets, u, grad, mu > 0 ? &anchor : nullptr, &group);
    reference_outer(m, sites, o, images, B, target, u0, ta, ref_grad, ref_kl, TorchGroup{to_torch(hosts, {B * G, 1, 16, 16}), host_targets});
    CHECK(rel_diff(kl, ref_kl) < 1e-4);
    const double d = rel_diff(grad, ref_grad);
    INFO("relative max difference of the pseudo-group outer gradient: " << d);
    CHECK(d < 1e-4);
    // The group moves the gradient off the sample's own (so the check is not the plain one's).
    masker.outer_gradient(tokens, targets, u, plain, mu > 0 ? &anchor : nullptr);
    CHECK(rel_diff(plain, grad) > 1e-3);
    // optimize() with the group equals its outer gradients stepped by hand.
    OracleOptions o2 = o;
    o2.outer_steps = 2;
    OracleMasker two(vit, sites, o2);
    std::vector<float> ua = u, ub = u, sq(u.size(), 0.0f), g;
    two.optimize(tokens, targets, ua, mu > 0 ? &anchor : nullptr, &group);
    for (int k = 0; k < 2; ++k) {
        two.outer_gradient(tokens, targets, ub, g, mu > 0 ? &anchor : nullptr, &group);
        for (size_t i = 0; i < ub.size(); ++i) {
            sq[i] = 0.99f * sq[i] + 0.01f * g[i] * g[i];
            ub[i] -= o.mask_lr * g[i] / (std::sqrt(sq[i]) + 1e-8f);
        }
    }
    CHECK(ua == ub);
    // A group whose host count is not a multiple of the batch is refused.
    const std::vector<float> fewer(hosts.begin(), hosts.end() - 16 * 16);
    const OracleGroup ragged{vit.forward_prefix(vit.upload_images(fewer, B * G - 1), masker.lowest_block()),
                             g_be->from_host({B * G - 1, K}, std::vector<float>(static_cast<size_t>((B * G - 1) * K), 0.1f))};
    CHECK_THROWS_WITH(masker.outer_gradient(tokens, targets, u, g, nullptr, &ragged), Catch::Contains("same number"));
}

namespace {

HypernetConfig tiny_hyper(int dim = 32) {
    HypernetConfig h;
    h.dim = dim;
    h.depth = 2;
    h.mlp = 24;
    h.sites = {{"blocks.1.mlp.fc1.weight", 10}, {"blocks.1.mlp.fc2.weight", 7}};
    return h;
}

// The hypernetwork in LibTorch: queries + feature token, blocks, per-site heads, clamped scores.
std::vector<torch::Tensor> torch_hyper(const HypernetConfig& c, std::map<std::string, torch::Tensor>& w, const torch::Tensor& f) {
    const int64_t N = f.size(0), S = static_cast<int64_t>(c.sites.size()), D = c.dim;
    auto h = torch::cat({w["queries"].unsqueeze(0).expand({N, S, D}), f.unsqueeze(1)}, 1);
    for (int k = 0; k < c.depth; ++k) h = torch_block(h, w, "blocks." + std::to_string(k) + ".", c.heads, c.ln_eps);
    std::vector<torch::Tensor> out;
    for (int64_t s = 0; s < S; ++s) {
        auto z = torch::linear(h.select(1, s), w["heads." + std::to_string(s) + ".weight"], w["heads." + std::to_string(s) + ".bias"]);
        out.push_back(torch::clamp(torch::sigmoid(3 * z), 1e-7, 1 - 1e-7));
    }
    return out;
}

}  // namespace

TEST_CASE("one distillation step equals LibTorch autograd + torch::optim::RMSprop", "[meta][hypernet]") {
    const HypernetConfig cfg = tiny_hyper().resolved();
    CHECK(cfg.heads == 4);  // 32 is not divisible by 6: the largest divisor below 6 with heads >= 8 wide
    CHECK(HypernetConfig::default_heads(96) == 6);
    Hypernet net(g_be, cfg, 5);
    const auto before = net.params();
    const int64_t N = 3;
    torch::manual_seed(8);
    const torch::Tensor feat = torch::randn({N, cfg.dim});
    std::vector<std::vector<float>> labels;
    std::vector<torch::Tensor> tlabels;
    for (const auto& s : cfg.sites) {
        tlabels.push_back(torch::sigmoid(3 * (torch::rand({N, s.units}) * 2 - 1)));
        labels.push_back(to_vec(tlabels.back()));
    }
    const float lr = 1e-3f;
    const double loss = net.train_step(to_vec(feat), N, labels, lr);
    const auto grads = net.last_grads();
    const auto after = net.params();

    std::map<std::string, torch::Tensor> w;
    std::vector<torch::Tensor> params;
    std::vector<std::string> names;
    for (const auto& [n, h] : before) {
        w[n] = to_torch(h).set_requires_grad(true);
        params.push_back(w[n]);
        names.push_back(n);
    }
    auto scores = torch_hyper(cfg, w, feat);
    torch::Tensor sum = torch::zeros({});
    int64_t count = 0;
    for (size_t s = 0; s < scores.size(); ++s) {
        sum = sum + torch::binary_cross_entropy(scores[s], tlabels[s], {}, torch::Reduction::Sum);
        count += scores[s].numel();
    }
    torch::Tensor ref_loss = sum / count;
    torch::optim::RMSprop opt(params, torch::optim::RMSpropOptions(lr).alpha(0.99).eps(1e-8));
    opt.zero_grad();
    ref_loss.backward();
    CHECK(std::abs(loss - ref_loss.item<double>()) < 1e-5);
    for (size_t k = 0; k < names.size(); ++k) {
        INFO(names[k]);
        CHECK(rel_diff(grads.at(names[k]).data.to_vector(), to_vec(params[k].grad())) < 1e-3);
    }
    opt.step();
    for (size_t k = 0; k < names.size(); ++k) {
        INFO(names[k]);
        // RMSprop's first step is lr * g / |g| * 10: compare absolutely against the step size.
        const auto a = after.at(names[k]).data.to_vector(), b = to_vec(params[k]);
        double m = 0;
        for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
        CHECK(m < 1e-3 * lr * 10 + 1e-7);
    }
    // forward() gives the same scores as the reference.
    const auto fwd = net.forward(to_vec(feat), N);
    auto ref_after = torch_hyper(cfg, w, feat);
    for (size_t s = 0; s < fwd.size(); ++s) CHECK(rel_diff(fwd[s], to_vec(ref_after[s])) < 1e-4);
}

TEST_CASE("hypernetwork checkpoints round-trip and say what they were made for", "[meta][hypernet]") {
    const HypernetConfig cfg = tiny_hyper();
    Hypernet net(g_be, cfg, 1);
    const std::string path = tmp_path("roundtrip");
    net.save(path, {"abc123", {1}, R"({"iterations":7})"});
    Hypernet::File f = Hypernet::read(path);
    std::remove(path.c_str());
    CHECK(f.provenance.model_hash == "abc123");
    CHECK(f.provenance.edit_blocks == std::vector<int>{1});
    CHECK(f.provenance.training == R"({"iterations":7})");
    CHECK((f.config.sites == cfg.sites));  // not decomposed: glog would print the vectors
    CHECK(f.config.heads == 4);
    CHECK(f.config.depth == 2);
    CHECK(f.optimizer.empty());
    Hypernet back(g_be, f.config, f.params);
    torch::manual_seed(2);
    const auto feat = to_vec(torch::randn({2, cfg.dim}));
    CHECK(back.forward(feat, 2) == net.forward(feat, 2));
    CHECK_NOTHROW(Hypernet::check_compatible(f, path, "abc123", cfg.sites));
    REQUIRE_THROWS_WITH(Hypernet::check_compatible(f, path, "def456", cfg.sites), Catch::Contains("another model"));
    auto other = cfg.sites;
    other[1].units = 8;
    REQUIRE_THROWS_WITH(Hypernet::check_compatible(f, path, "abc123", other), Catch::Contains("other edit sites"));
    REQUIRE_THROWS_WITH(Hypernet::read("/nonexistent/h.safetensors"), Catch::Contains("/nonexistent/h.safetensors"));
}

TEST_CASE("CutMix pastes whole patches", "[meta]") {
    std::vector<float> a(2 * 8 * 8, 0.0f), b(2 * 8 * 8, 1.0f);
    cutmix_paste(a.data(), b.data(), 2, 8, 8, 2, PatchRect{1, 2, 2, 1});  // rows 2..5, columns 4..5
    for (int c = 0; c < 2; ++c)
        for (int y = 0; y < 8; ++y)
            for (int x = 0; x < 8; ++x) CHECK(a[(c * 8 + y) * 8 + x] == ((y >= 2 && y < 6 && x >= 4 && x < 6) ? 1.0f : 0.0f));
}

namespace {

struct Run {
    std::map<std::string, HostTensor> params;
    double probe_before = 0, probe_after = 0;
    std::vector<double> bce;
    double locality_kl = 0;  // of one more iteration after the run
};

// A short meta-training run on the tiny model; `split` > 0 checkpoints there and resumes in a
// fresh hypernetwork.
Run meta_run(int64_t iterations, int64_t split = 0, float locality = 0.0f, int pseudo_group = 0) {
    Model m;
    Vit vit(g_be, m.cfg, m.weights);
    const auto sites = ffn_sites(m.cfg, {1, 2});
    HypernetConfig hc;
    hc.dim = m.cfg.dim;
    hc.depth = 2;
    for (const auto& s : sites) hc.sites.push_back({s.name, s.units});
    MetaTrainOptions opt;
    opt.batch = 4;
    opt.oracle.inner_steps = 2;
    opt.oracle.outer_steps = 3;
    opt.oracle.edit_lr = 0.02f;
    opt.cutmix_min = 1;
    opt.cutmix_max = 2;
    opt.distill_steps = 3;
    opt.lr = 2e-3;
    opt.iterations = iterations;
    opt.seed = 42;
    opt.oracle.locality = locality;
    opt.locality_images = 3;
    opt.pseudo_group = pseudo_group;
    const std::vector<float> pool_images = random_images(40, 9);
    const size_t per = 16 * 16;
    auto image = [&](size_t k) { return std::vector<float>(pool_images.begin() + k * per, pool_images.begin() + (k + 1) * per); };
    std::vector<size_t> pool;
    for (size_t k = 0; k < 40; ++k)
        if (k % 5 != 3) pool.push_back(k);  // "held-out" images never drawn
    auto label = [&](size_t k) { return static_cast<int64_t>(k % 4); };

    auto net = std::make_unique<Hypernet>(g_be, hc, opt.seed);
    auto trainer = std::make_unique<MetaTrainer>(vit, sites, *net, opt, image, pool, nullptr, label);
    // A probe: iteration 0's pseudo-failures with their oracle labels.
    const MetaBatch probe = trainer->draw(0);
    for (size_t k : probe.images) REQUIRE(k % 5 != 3);
    for (size_t k : probe.locality) REQUIRE(k % 5 != 3);
    REQUIRE(probe.locality.size() == (locality > 0 ? 3u : 0u));
    // Pseudo-groups: G - 1 other pool images of each host's class, neither host nor donor.
    REQUIRE(probe.group.size() == static_cast<size_t>(opt.batch * std::max(0, pseudo_group - 1)));
    for (size_t j = 0; j < probe.group.size(); ++j) {
        const size_t i = j / static_cast<size_t>(pseudo_group - 1), k = probe.group[j];
        REQUIRE(k % 5 != 3);
        REQUIRE(label(k) == label(probe.images[i]));
        REQUIRE(k != probe.images[i]);
        REQUIRE(k != probe.images[i + opt.batch]);
    }
    MetaTrainer::Prepared prep = trainer->prepare(probe);
    std::vector<float> u = probe.u0;
    OracleMasker(vit, sites, opt.oracle).optimize(prep.tokens, prep.targets, u, nullptr, pseudo_group >= 2 ? &prep.group : nullptr);
    const auto labels = trainer->label_masks(u, opt.batch);
    Run r;
    r.probe_before = net->bce(net->forward(prep.features, opt.batch), labels);
    for (int64_t it = 0; it < iterations; ++it) {
        if (split > 0 && it == split) {
            const std::string path = tmp_path("resume");
            net->save(path, {"x", {1, 2}, ""}, true);
            Hypernet::File f = Hypernet::read(path);
            std::remove(path.c_str());
            net = std::make_unique<Hypernet>(g_be, f.config, f.params);
            net->set_optimizer_state(f.optimizer);
            trainer = std::make_unique<MetaTrainer>(vit, sites, *net, opt, image, pool, nullptr, label);
        }
        r.bce.push_back(trainer->step(it).bce);
    }
    r.probe_after = net->bce(net->forward(prep.features, opt.batch), labels);
    r.params = net->params();
    r.locality_kl = trainer->step(iterations).locality_kl;
    return r;
}

}  // namespace

TEST_CASE("a short meta-training run lowers the distillation loss, is deterministic and resumable", "[meta][train]") {
    // Without and with the locality term and pseudo-groups.
    const float mu = GENERATE(0.0f, 50.0f);
    const int group = GENERATE(0, 3);
    INFO("locality weight " << mu << ", pseudo-groups of " << group);
    const Run a = meta_run(12, 0, mu, group);
    INFO("probe BCE " << a.probe_before << " -> " << a.probe_after << "; batch BCE " << a.bce.front() << " -> " << a.bce.back());
    CHECK(a.probe_after < a.probe_before - 0.01);
    INFO("locality KL " << a.locality_kl);
    CHECK((mu > 0 ? std::isfinite(a.locality_kl) : a.locality_kl == 0));  // (tiny here: rounding may make it negative)
    const Run b = meta_run(12, 0, mu, group);
    const Run c = meta_run(12, 5, mu, group);
    for (const auto& [name, t] : a.params) {
        INFO(name);
        CHECK(std::memcmp(t.data.data(), b.params.at(name).data.data(), t.data.size() * 4) == 0);
        CHECK(std::memcmp(t.data.data(), c.params.at(name).data.data(), t.data.size() * 4) == 0);
    }
    CHECK(a.bce == b.bce);
    CHECK(a.bce == c.bce);
}

TEST_CASE("the hypernet locator uses a matching checkpoint and refuses others, saying why", "[meta][locator]") {
    Model m, other(12);
    Vit vit(g_be, m.cfg, m.weights);
    const auto sites = ffn_sites(m.cfg, {1, 2});
    HypernetConfig hc;
    hc.dim = m.cfg.dim;
    hc.depth = 1;
    for (const auto& s : sites) hc.sites.push_back({s.name, s.units});
    Hypernet net(g_be, hc, 3);
    const std::string good = tmp_path("good"), foreign = tmp_path("foreign"), wrong_sites = tmp_path("sites");
    const std::string id = tensors_hash(m.weights);
    net.save(good, {id, {1, 2}, ""});
    net.save(foreign, {tensors_hash(other.weights), {1, 2}, ""});
    HypernetConfig hc2 = hc;
    hc2.sites = {hc.sites[0], hc.sites[1]};
    Hypernet(g_be, hc2, 3).save(wrong_sites, {id, {1}, ""});

    const std::vector<float> images = random_images(2, 5);
    auto locate = [&](const std::string& spec, const std::string& model_path = "") {
        EditSession session(vit, sites, vit.upload_images(images, 2), {1, 3}, 0, id, true, model_path);
        LocatorInstance loc(*g_reg, parse_plugin_spec(spec, "locator"));
        return loc.locate(session);
    };
    const auto mask = locate("hypernet:checkpoint=" + good + ",sparsity=0.25");
    size_t kept = 0, total = 0;
    for (const auto& s : mask)
        for (float v : s) kept += v > 0, ++total;
    CHECK(kept == static_cast<size_t>(std::llround(0.25 * total)));
    // The mask is the top of the averaged scores.
    {
        EditSession session(vit, sites, vit.upload_images(images, 2), {1, 3}, 0, id, true);
        const auto sc = net.forward(session.original_features(), 2);
        std::vector<std::vector<float>> avg(sc.size());
        for (size_t s = 0; s < sc.size(); ++s) {
            const size_t H = sc[s].size() / 2;
            avg[s].resize(H);
            for (size_t h = 0; h < H; ++h) avg[s][h] = sc[s][h] / 2 + sc[s][H + h] / 2;
        }
        CHECK(binarize_top_fraction(avg, 0.25) == mask);
        // ... and the mean of what each image alone scores (a one-image session apiece).
        const int64_t per = static_cast<int64_t>(images.size()) / 2;
        std::vector<std::vector<float>> mean_single(sc.size());
        for (int64_t i = 0; i < 2; ++i) {
            const std::vector<float> one(images.begin() + i * per, images.begin() + (i + 1) * per);
            EditSession single(vit, sites, vit.upload_images(one, 1), {i == 0 ? 1 : 3}, 0, id, true);
            const auto si = net.forward(single.original_features(), 1);
            for (size_t s = 0; s < si.size(); ++s) {
                mean_single[s].resize(si[s].size(), 0.0f);
                for (size_t h = 0; h < si[s].size(); ++h) mean_single[s][h] += si[s][h] / 2;
            }
        }
        for (size_t s = 0; s < sc.size(); ++s) CHECK(rel_diff(mean_single[s], avg[s]) < 1e-6);
        CHECK(binarize_top_fraction(mean_single, 0.25) == mask);
    }
    // The saliency blend h^(1-a) s^a: a = 0 is the hypernetwork alone, a = 1 the saliency locator's
    // ranking (the geometric blend of a score with itself); outside [0, 1] refused.
    CHECK(locate("hypernet:checkpoint=" + good + ",sparsity=0.25,saliency=0") == mask);
    const auto sal = locate("saliency:sparsity=0.25");
    CHECK(locate("hypernet:checkpoint=" + good + ",sparsity=0.25,saliency=1") == sal);
    REQUIRE(sal != mask);  // (so the two checks above tell the endpoints apart)
    REQUIRE_THROWS_WITH(locate("hypernet:checkpoint=" + good + ",saliency=1.5"), Catch::Contains("saliency"));
    REQUIRE_THROWS_WITH(locate("hypernet:checkpoint=" + foreign), Catch::Contains("another model"));
    REQUIRE_THROWS_WITH(locate("hypernet:checkpoint=" + wrong_sites), Catch::Contains("other edit sites"));
    // Default path: beside the model file; missing -> how to make one.
    const std::string model_path = "/tmp/vitedit_meta_test_nomodel_" + std::to_string(::getpid()) + ".safetensors";
    REQUIRE_THROWS_WITH(locate("hypernet", model_path), Catch::Contains("vitedit meta-train") && Catch::Contains(".hypernet.safetensors"));
    const std::string beside = "/tmp/vitedit_meta_test_nomodel_" + std::to_string(::getpid()) + ".hypernet.safetensors";
    std::rename(good.c_str(), beside.c_str());
    CHECK(locate("hypernet:sparsity=0.25", model_path) == mask);
    for (const auto& p : {beside, foreign, wrong_sites}) std::remove(p.c_str());
}

int main(int argc, char** argv) { return backend_test::main(argc, argv); }

// An edit through the real locator and editor plugins equals a replay of the same masked
// optimization with LibTorch autograd and torch::optim on the same weights, images and mask; it
// changes nothing outside the mask; patches round-trip bit-exactly; the frozen-prefix cache
// changes nothing.
//
// Tolerance: 1e-5 absolute on the edited weights after 8 steps (float32, same formulas, different
// summation order in the gradients).
// LibTorch first: Debian's LibTorch brings glog, whose CHECK would silently replace Catch's
// (a failing glog CHECK aborts instead of reporting, a passing one is not counted).
#include <torch/torch.h>
#undef CHECK
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "backend_test_main.hpp"

#include <cstddef>
#include <cstring>

#include "random_vit.hpp"
#include "torch_vit.hpp"
#include "vitedit/hash.hpp"
#include "vitedit/patch.hpp"
#include "vitedit/backend_config.hpp"
#include "vitedit/options.hpp"
#include "vitedit/plugin_host.hpp"
#include "vitedit/registry.hpp"
#include "vitedit/vit.hpp"

using namespace vitedit;

static auto& g_be = backend_test::backend;
static auto& g_reg = backend_test::registry;

namespace {

using reference::random_model;
using reference::to_torch;
VitConfig tiny_config() { return reference::tiny_config(64); }
torch::Tensor torch_vit(const VitConfig& c, const std::map<std::string, torch::Tensor>& w, const torch::Tensor& x) {
    return reference::vit_forward(c, w, x);
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

// Replay-anchor images (and β) for an edit; no images: no anchor.
struct Anchor {
    torch::Tensor images;
    float weight = 0.0f;
};

EditRun run(const Fixture& f, const std::string& locator, const std::string& editor, bool cache = true,
            const Anchor& anchor = {}) {
    Vit vit(g_be, f.cfg, f.weights);
    ReplayAnchor replay;
    if (anchor.images.defined()) {
        auto c = anchor.images.contiguous();
        replay = {vit.upload_images(std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel()), c.size(0)),
                  anchor.weight};
    }
    EditSession session(vit, ffn_sites(f.cfg, {1, 2}), vit.upload_images(f.chw(), 2), f.labels, 5, tensors_hash(f.weights), cache,
                        "", replay);
    LocatorInstance loc(*g_reg, parse_plugin_spec(locator, "locator"));
    EditorInstance ed(*g_reg, parse_plugin_spec(editor, "editor"));
    EditRun r;
    r.outcome = run_edit(session, loc, ed);
    r.mask = r.outcome.mask;
    r.edited = vit.download_params();
    return r;
}

// The same edit replayed with LibTorch: autograd gradients, masked, then torch::optim.
// With an anchor, the loss gains β · mean over its images of KL(original ‖ edited).
std::map<std::string, torch::Tensor> replay(const Fixture& f, const std::vector<std::vector<float>>& mask,
                                            const std::string& optimizer, double lr, int steps, const Anchor& anchor = {}) {
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
    torch::Tensor original;
    if (anchor.images.defined()) {
        torch::NoGradGuard ng;
        original = torch::softmax(torch_vit(f.cfg, w, anchor.images), 1);
    }
    for (int s = 0; s < steps; ++s) {
        opt->zero_grad();
        auto loss = torch::nn::functional::cross_entropy(torch_vit(f.cfg, w, f.images), labels);
        if (original.defined()) {
            auto logq = torch::log_softmax(torch_vit(f.cfg, w, anchor.images), 1);
            loss = loss + anchor.weight * (original * (original.log() - logq)).sum(1).mean();
        }
        loss.backward();
        for (size_t i = 0; i < params.size(); ++i) params[i].mutable_grad().mul_(masks[i]);
        opt->step();
    }
    return w;
}

// FT-L1/L2 replayed by hand: g += c * d|w - w0|^p / dw, masked; an SGD step first, then RMSprop
// (state from zero at the second step), as plugins/editors/ft does.
std::map<std::string, torch::Tensor> replay_ft(const Fixture& f, const std::vector<std::vector<float>>& mask, int p, double c,
                                               double lr, int steps) {
    std::map<std::string, torch::Tensor> w;
    for (const auto& [n, h] : f.weights) w[n] = to_torch(h);
    const std::vector<std::string> sites = {"blocks.1.mlp.fc1.weight", "blocks.1.mlp.fc2.weight", "blocks.2.mlp.fc1.weight",
                                            "blocks.2.mlp.fc2.weight"};
    std::vector<torch::Tensor> masks, w0, sq;
    for (size_t i = 0; i < sites.size(); ++i) {
        w0.push_back(w[sites[i]].clone());
        sq.push_back(torch::zeros_like(w0.back()));
        w[sites[i]].set_requires_grad(true);
        auto m = torch::tensor(mask[i]);
        masks.push_back(i % 2 == 0 ? m.unsqueeze(1) : m.unsqueeze(0));
    }
    auto labels = torch::tensor(std::vector<int64_t>(f.labels.begin(), f.labels.end()));
    for (int s = 0; s < steps; ++s) {
        for (const auto& n : sites) w[n].mutable_grad() = torch::Tensor();
        torch::nn::functional::cross_entropy(torch_vit(f.cfg, w, f.images), labels).backward();
        torch::NoGradGuard ng;
        for (size_t i = 0; i < sites.size(); ++i) {
            torch::Tensor& W = w[sites[i]];
            const torch::Tensor d = W - w0[i];
            const torch::Tensor pen = p == 2 ? 2 * c * d : c * torch::sign(d);
            const torch::Tensor gm = (W.grad() + pen) * masks[i];
            if (s == 0) {
                W.sub_(lr * gm);
            } else {
                sq[i].mul_(0.99).add_(0.01 * gm * gm);
                W.sub_(lr * gm / (sq[i].sqrt() + 1e-8));
            }
        }
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

// The anchor's KL through the edited weights: its gradient is zero before the first step, so
// the steps after it are what this checks; β large enough that the anchor moves the edit.
TEST_CASE("the replay-anchored edit equals a LibTorch replay of CE + β·KL(original ‖ edited)", "[edit][replay]") {
    Fixture f;
    torch::manual_seed(3);
    const Anchor anchor{torch::randn({3, 1, 16, 16}), 5.0f};
    const std::string editor = "rmsprop:lr=1e-3,steps=8,stop_loss=0";
    EditRun anchored = run(f, "random:sparsity=0.2", editor, true, anchor);
    EditRun plain = run(f, "random:sparsity=0.2", editor);
    CHECK(anchored.outcome.steps == 8);
    REQUIRE(anchored.mask == plain.mask);
    auto ref = replay(f, anchored.mask, "rmsprop", 1e-3, 8, anchor);
    float anchor_moved = 0.0f;
    for (const auto& [name, t] : anchored.edited) {
        INFO(name);
        CHECK(max_diff(t, ref[name]) <= 1e-5);
        for (size_t k = 0; k < t.data.size(); ++k)
            anchor_moved = std::max(anchor_moved, std::fabs(t.data[k] - plain.edited.at(name).data[k]));
    }
    // The anchor changed the edit (the check above is not the plain edit's by accident).
    CHECK(anchor_moved > 1e-4f);
    // The prefix cache and the unit-only MLP give the same anchored edit as recomputing all.
    EditRun full = run(f, "random:sparsity=0.2", editor, false, anchor);
    for (const auto& [name, t] : anchored.edited) CHECK(max_diff(t, to_torch(full.edited.at(name))) <= 1e-5);
}

TEST_CASE("a replay anchor with a negative weight or other image shapes is refused", "[edit][replay]") {
    Fixture f;
    Vit vit(g_be, f.cfg, f.weights);
    const auto sites = ffn_sites(f.cfg, {1, 2});
    Tensor images = vit.upload_images(f.chw(), 2);
    CHECK_THROWS_WITH(EditSession(vit, sites, images, f.labels, 5, "m", true, "", {images, -1.0f}),
                      Catch::Contains("weight must be finite and >= 0"));
    Tensor odd = vit.backend().zeros({2, 1, 8, 8});
    CHECK_THROWS_WITH(EditSession(vit, sites, images, f.labels, 5, "m", true, "", {odd, 1.0f}),
                      Catch::Contains("do not match the edit images"));
    // Plugins see the edit images only.
    EditSession anchored(vit, sites, images, f.labels, 5, "m", true, "", {vit.upload_images(f.chw(), 2), 1.0f});
    CHECK(anchored.c_session()->num_images == 2);
    CHECK(anchored.last_logits().size() == 2u * static_cast<size_t>(f.cfg.num_classes));
    CHECK(anchored.original_features().size() == 2u * static_cast<size_t>(f.cfg.dim));
}

TEST_CASE("default edit sites: the last two blocks of shallow models, the paper's three of deeper ones", "[edit][sites]") {
    CHECK(default_edit_blocks(6) == std::vector<int>{4, 5});
    CHECK(default_edit_blocks(8) == std::vector<int>{6, 7});
    CHECK(default_edit_blocks(2) == std::vector<int>{0, 1});
    CHECK(default_edit_blocks(1) == std::vector<int>{0});
    CHECK(default_edit_blocks(12) == std::vector<int>{7, 8, 9});
    CHECK(default_edit_blocks(24) == std::vector<int>{14, 15, 16});
}

TEST_CASE("FT-L1 and FT-L2 equal a LibTorch replay: penalty, an SGD first step, then RMSprop", "[edit][ft]") {
    Fixture f;
    for (int p : {1, 2}) {
        const double lr = 1e-3, c = p == 2 ? 0.5 : 1e-3;
        const std::string editor = "ft-l" + std::to_string(p) + ":lr=1e-3,steps=6,stop_loss=0,c=" + std::to_string(c);
        EditRun r = run(f, "random:sparsity=0.2", editor);
        CHECK(r.outcome.steps == 6);
        auto ref = replay_ft(f, r.mask, p, c, lr, 6);
        for (const auto& [name, t] : r.edited) {
            INFO("ft-l" << p << " " << name);
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

// With the cache, the lowest block's MLP also runs its masked units only (the other units' share
// of its output summed once, MlpUnits): the same arithmetic in another order, so the edits agree
// to float32 rounding (RMSprop divides by the gradient's own scale, which turns a rounding-level
// gradient difference into up to lr times a few of weight difference on a handful of elements).
TEST_CASE("the frozen-prefix cache gives the same edit as recomputing everything", "[edit]") {
    Fixture f;
    EditRun a = run(f, "saliency:sparsity=0.2", "rmsprop:lr=1e-3,steps=6,stop_loss=0", true);
    EditRun b = run(f, "saliency:sparsity=0.2", "rmsprop:lr=1e-3,steps=6,stop_loss=0", false);
    CHECK(a.mask == b.mask);
    for (const auto& [name, t] : a.edited) {
        const auto& u = b.edited.at(name);
        const auto& w0 = f.weights.at(name);
        float worst = 0.0f, moved = 0.0f;
        for (size_t k = 0; k < t.data.size(); ++k) {
            worst = std::max(worst, std::fabs(t.data[k] - u.data[k]));
            moved = std::max(moved, std::fabs(u.data[k] - w0.data[k]));
        }
        INFO(name << ": max |cached - recomputed| " << worst << ", the edit moved weights by up to " << moved);
        CHECK(worst <= 1e-6f);
    }
}

// After an edit the session computes only the masked units' gradients (compact ones where the
// editor asked): a second edit on the same session must still locate on whole gradients.
TEST_CASE("a session edited again locates on whole gradients, as a fresh one", "[edit]") {
    Fixture f;
    Vit vit(g_be, f.cfg, f.weights);
    EditSession session(vit, ffn_sites(f.cfg, {1, 2}), vit.upload_images(f.chw(), 2), f.labels, 5, tensors_hash(f.weights));
    LocatorInstance loc(*g_reg, parse_plugin_spec("saliency:sparsity=0.2", "locator"));
    EditorInstance ed(*g_reg, parse_plugin_spec("rmsprop:lr=1e-3,steps=3,stop_loss=0", "editor"));
    const EditOutcome first = run_edit(session, loc, ed);
    session.restore();
    const EditOutcome second = run_edit(session, loc, ed);
    CHECK(second.mask == first.mask);
    CHECK(second.loss == first.loss);
}

// Editors may change masked units only (the edit would otherwise not be the sparse edit its mask
// reports, and once masks are set the lowest edit block's MLP runs its masked units only): an
// editor that writes outside its mask is caught on every backend, and the model restored.
TEST_CASE("an editor writing outside its mask is refused and the model restored", "[edit]") {
    Fixture f;
    Registry reg;
    reg.scan({EDIT_TEST_PLUGIN_DIR, VITEDIT_PLUGIN_DIR});
    Vit vit(g_be, f.cfg, f.weights);
    EditSession session(vit, ffn_sites(f.cfg, {1, 2}), vit.upload_images(f.chw(), 2), f.labels, 5, tensors_hash(f.weights));
    LocatorInstance loc(reg, parse_plugin_spec("saliency:sparsity=0.2", "locator"));
    EditorInstance ed(reg, parse_plugin_spec("unmasked", "editor"));
    try {
        run_edit(session, loc, ed);
        FAIL("the edit was accepted");
    } catch (const Error& e) {
        const std::string msg = e.what();
        INFO(msg);
        CHECK(msg.find("blocks.1.mlp.fc1.weight outside its masked rows") != std::string::npos);
        CHECK(msg.find("restored") != std::string::npos);
    }
    for (const auto& [name, t] : vit.download_params()) {
        INFO(name);
        CHECK(std::memcmp(t.data.data(), f.weights.at(name).data.data(), t.data.size() * 4) == 0);
    }
}

// ABI 2.0: a callee writes an output struct only up to the struct_size its caller set. Each
// struct here is an "older" one — its size ends before its last members — followed by a canary.
TEST_CASE("outputs stop at the caller's struct_size, on both sides of the boundary", "[edit][abi]") {
    Fixture f;
    Registry reg;
    reg.scan({VITEDIT_PLUGIN_DIR});
    Vit vit(g_be, f.cfg, f.weights);
    EditSession session(vit, ffn_sites(f.cfg, {1, 2}), vit.upload_images(f.chw(), 2), f.labels, 5, tensors_hash(f.weights));
    const ve_edit_session* cs = session.c_session();
    constexpr unsigned char kCanary = 0xA5;
    auto untouched = [&](const unsigned char* p, size_t from, size_t to) {
        for (size_t i = from; i < to; ++i)
            if (p[i] != kCanary) return false;
        return true;
    };

    // The host writes a ve_site of a caller built before `rows`.
    alignas(8) unsigned char site_buf[sizeof(ve_site) + 16];
    std::memset(site_buf, kCanary, sizeof site_buf);
    auto* site = reinterpret_cast<ve_site*>(site_buf);
    site->struct_size = offsetof(ve_site, rows);
    REQUIRE(cs->get_site(cs->session, 0, site) == VE_OK);
    CHECK(std::string(site->name) == "blocks.1.mlp.fc1.weight");
    CHECK(site->block == 1);
    CHECK(site->unit == VE_UNIT_ROW);
    CHECK(site->struct_size == offsetof(ve_site, rows));
    CHECK(untouched(site_buf, offsetof(ve_site, rows), sizeof site_buf));

    // ... and a ve_edit_eval of one built before num_correct.
    alignas(8) unsigned char eval_buf[sizeof(ve_edit_eval) + 16];
    std::memset(eval_buf, kCanary, sizeof eval_buf);
    auto* ev = reinterpret_cast<ve_edit_eval*>(eval_buf);
    ev->struct_size = offsetof(ve_edit_eval, num_correct);
    REQUIRE(cs->evaluate(cs->session, 0, ev) == VE_OK);
    CHECK(ev->loss == Approx(session.initial_eval().loss));
    CHECK(untouched(eval_buf, offsetof(ve_edit_eval, num_correct), sizeof eval_buf));

    // An editor plugin writes a ve_edit_report of a host built before `loss`.
    const PluginRecord& rec = reg.find(VE_KIND_EDITOR, "sgd");
    const auto* entry = static_cast<const ve_editor_entry*>(rec.info->entry);
    ve_plugin_instance inst{sizeof(ve_plugin_instance), nullptr};
    REQUIRE(entry->create(Registry::host_api(), "steps=2", &inst) == VE_OK);
    alignas(8) unsigned char report_buf[sizeof(ve_edit_report) + 16];
    std::memset(report_buf, kCanary, sizeof report_buf);
    auto* report = reinterpret_cast<ve_edit_report*>(report_buf);
    report->struct_size = offsetof(ve_edit_report, loss);
    const ve_status st = entry->edit(inst.ctx, cs, report);
    INFO((st == VE_OK ? "" : entry->last_error(inst.ctx)));
    REQUIRE(st == VE_OK);
    CHECK(report->steps == 2);
    CHECK(report->struct_size == offsetof(ve_edit_report, loss));
    CHECK(untouched(report_buf, offsetof(ve_edit_report, loss), sizeof report_buf));
    entry->destroy(inst.ctx);

    // A failed create reports through last_error(NULL), on this thread.
    CHECK(entry->create(Registry::host_api(), "no_such_key=1", &inst) == VE_ERR_INVALID);
    CHECK_THAT(std::string(entry->last_error(nullptr)), Catch::Contains("unknown option 'no_such_key'"));
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

TEST_CASE("one key=value tokenizer behind plugin options, plugin specs and backend configs", "[edit][options]") {
    using author::parse_key_values;
    using KV = std::vector<std::pair<std::string, std::string>>;
    CHECK(parse_key_values(" lr = 1e-3 ,, steps=5,name=") == KV{{"lr", "1e-3"}, {"steps", "5"}, {"name", ""}});
    CHECK(parse_key_values("").empty());
    REQUIRE_THROWS_WITH(parse_key_values("lr=1,steps"), Catch::Contains("'steps' is not key=value"));
    REQUIRE_THROWS_WITH(parse_key_values("=3"), Catch::Contains("not key=value"));
    REQUIRE_THROWS_WITH(parse_key_values("lr=1, lr=2"), Catch::Contains("'lr' given twice"));
    // The three readers agree with it, and say where the text came from.
    const PluginSpec spec = parse_plugin_spec("rmsprop: lr = 1e-3 ,steps=5", "--editor");
    CHECK(spec.name == "rmsprop");
    CHECK(spec.options == std::map<std::string, std::string>{{"lr", "1e-3"}, {"steps", "5"}});
    REQUIRE_THROWS_WITH(parse_plugin_spec("rmsprop:lr=1,lr=2", "--editor"), Catch::Contains("--editor") && Catch::Contains("given twice"));
    author::Options opts(spec.config().c_str());
    CHECK(opts.number("lr", 0, 0, 1) == Approx(1e-3));
    CHECK(opts.integer("steps", 0, 0, 10) == 5);
    opts.finish();
    REQUIRE_THROWS_WITH(author::Options("lr"), Catch::Contains("option 'lr' is not key=value"));
    KV seen;
    author::for_each_config_item("threads=2, precision = f32", [&](const std::string& k, const std::string& v) { seen.emplace_back(k, v); });
    CHECK(seen == KV{{"threads", "2"}, {"precision", "f32"}});
    REQUIRE_THROWS_WITH(author::for_each_config_item("threads", [](const std::string&, const std::string&) {}),
                        Catch::Contains("backend config: 'threads' is not key=value"));
}

int main(int argc, char** argv) { return backend_test::main(argc, argv); }

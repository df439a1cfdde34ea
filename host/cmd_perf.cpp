// vitedit perf — vitedit's edit step and locality evaluation, side by side with the reference
// approach (LibTorch eager: full forward + autograd backward + torch::optim::RMSprop per step, a
// full forward per evaluated image) on the same weights, image and mask, plus the arithmetic
// limit: the GEMM FLOPs each vitedit figure truly issues divided by the machine's measured GEMM
// rate.
//
// vitedit's side runs the ordinary edit path (EditSession + the `random` locator + the `rmsprop`
// editor, exactly what `vitedit edit` runs); the reference runs as a separate process
// (bin/vitedit-torch-reference) so that the `vitedit` program never links LibTorch.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include "chain.hpp"
#include "cli.hpp"
#include "perf_command.hpp"
#include "scratch_dir.hpp"
#include "vitedit/edit_session.hpp"
#include "vitedit/op_profile.hpp"
#include "vitedit/image_set.hpp"
#include "vitedit/model.hpp"
#include "vitedit/plugin_host.hpp"

namespace vitedit::cli {

namespace {

namespace fs = boost::filesystem;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double children_peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_CHILDREN, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

// The ViT-B/16 shape (224x224, 12 blocks, width 768, 12 heads, MLP 3072, 1000 classes) with
// random weights: timm's init scale (normal, std 0.02; LayerNorm 1/0, biases 0), seeded.
ModelFile vit_b16(uint64_t seed) {
    ModelFile m;
    m.path = "ViT-B/16 (random weights)";
    m.config.mean = {0.5f, 0.5f, 0.5f};
    m.config.std = {0.5f, 0.5f, 0.5f};
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    for (const auto& [name, shape] : expected_shapes(m.config)) {
        const size_t n = static_cast<size_t>(shape_numel(shape));
        const bool is_norm = name.find("norm") != std::string::npos;
        const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
        HostTensor t{shape, FloatBuffer::filled(n, is_norm && !is_bias ? 1.0f : 0.0f)};
        if (!is_norm && !is_bias) {
            float* v = t.data.mutable_data();
            for (size_t i = 0; i < n; ++i) v[i] = normal(rng);
        }
        m.tensors[name] = std::move(t);
    }
    return m;
}

std::vector<float> random_images(const VitConfig& c, int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n) * c.in_chans * c.image_h() * c.image_w());
    for (float& v : x) v = normal(rng);
    return x;
}

// Seconds `run` takes on the backend, hot: three untimed calls, then the median of `reps`.
template <class Run>
double median_seconds(Backend& be, int reps, Run&& run) {
    for (int i = 0; i < 3; ++i) run();
    be.synchronize();
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = Clock::now();
        run();
        be.synchronize();
        t.push_back(since(t0));
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

// The oneDNN (or whichever backend) f32 GEMM rate at the FFN shape: [T, D] x [H, D]^T.
double gemm_rate(Backend& be, const VitConfig& c, int reps) {
    Tensor a = be.empty({c.tokens(), c.dim});
    Tensor w = be.zeros({c.mlp_hidden, c.dim}), y = be.empty({c.tokens(), c.mlp_hidden});
    be.fill(a, 0.5f);
    be.fill(w, 0.25f);
    const double s = median_seconds(be, reps, [&] { be.gemm(false, true, 1.0f, a, w, 0.0f, y); });
    return 2.0 * c.tokens() * c.dim * c.mlp_hidden / s;
}

// A program that runs the reference approach on the files perf writes (see perf_reference.cpp and
// reference/torch_eager_reference.py for the protocol); `key` names its JSON object and files.
struct Peer {
    std::string key, prefix, title, command;
    bool timed;  // float64 is a correctness oracle, not a race
};

// Where the time of `times` repetitions of some work goes: per backend op (GEMMs by shape), per
// repetition, largest first (the profile Backend collected since reset_profile()).
nlohmann::json op_profile(int times) {
    const auto prof = op_profile::snapshot();
    std::vector<std::pair<std::string, op_profile::OpTime>> ops(prof.begin(), prof.end());
    std::sort(ops.begin(), ops.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [name, t] : ops)
        out.push_back({{"op", name},
                       {"calls", static_cast<double>(t.calls) / times},
                       {"ms", t.seconds * 1e3 / times},
                       {"gflops", t.flops > 0 ? t.flops / t.seconds * 1e-9 : 0.0}});
    return out;
}

// The GEMM floor of profiled work: each of its products (keys "gemmTN MxKxN", "linear MxKxN",
// "linear+gelu MxKxN"; batched ones as one 2-D product of the same M x K x N, no bias) run alone
// on dense operands that stay hot, the median of 15 runs, times its calls per repetition. It is
// what the products cost at their shapes on this backend, with nothing around them: a figure
// cannot come closer to its limit than its floor does (that part of the distance is the GEMM
// library's at these shapes, the rest is ours).
double gemm_floor_s(Backend& be, const nlohmann::json& prof) {
    double total = 0;
    for (const auto& p : prof) {
        const std::string op = p["op"].get<std::string>();
        const size_t sp = op.find(' ');
        if (sp == std::string::npos) continue;
        const std::string kind = op.substr(0, sp);
        const bool linear = kind == "linear" || kind == "linear+gelu";
        if (!linear && !(kind.size() == 6 && kind.rfind("gemm", 0) == 0)) continue;
        long long M = 0, K = 0, N = 0;
        if (std::sscanf(op.c_str() + sp + 1, "%lldx%lldx%lld", &M, &K, &N) != 3 || M <= 0 || K <= 0 || N <= 0) continue;
        const bool ta = !linear && kind[4] == 'T', tb = linear || kind[5] == 'T';
        Tensor a = be.empty(ta ? Shape{K, M} : Shape{M, K}), b = be.empty(tb ? Shape{N, K} : Shape{K, N}), c = be.empty({M, N});
        be.fill(a, 0.5f);
        be.fill(b, 0.25f);
        total += p["calls"].get<double>() * median_seconds(be, 15, [&] {
            if (linear) be.linear_fwd(a, b, nullptr, kind == "linear" ? VE_ACT_NONE : VE_ACT_GELU, c);
            else be.gemm(ta, tb, 1.0f, a, b, 0.0f, c);
        });
    }
    return total;
}

// what: "an edit step", "an evaluation of the set"; wall_s: that work's time in the profiled run.
void print_profile(const std::string& label, const std::string& what, const nlohmann::json& prof, double wall_s) {
    double total = 0;
    for (const auto& p : prof) total += p["ms"].get<double>();
    std::cerr << "perf: " << label << ": where the time of " << what << " goes (a separate run with every op timed: "
              << std::setprecision(4) << wall_s * 1e3 << " ms, of which backend ops " << total << " ms):\n";
    for (const auto& p : prof) {
        std::cerr << "  " << std::left << std::setw(28) << p["op"].get<std::string>() << std::right << std::setw(7)
                  << std::setprecision(3) << p["calls"].get<double>() << " calls " << std::setw(8)
                  << std::setprecision(3) << p["ms"].get<double>() << " ms " << std::setw(6) << std::setprecision(3)
                  << 100 * p["ms"].get<double>() / total << " %";
        if (p["gflops"].get<double>() > 0) std::cerr << std::setw(8) << std::setprecision(3) << p["gflops"].get<double>() << " GFLOP/s";
        std::cerr << "\n";
    }
}

struct Options {
    int steps, warmup, eval_images, threads;
    double lr, sparsity;
    std::string backend, config;
    std::vector<Peer> peers;
    int rounds = 3;
    bool profile = false;
};

// Largest |a - b| over the edit sites, how many elements exceed the 1e-5 target, and the largest
// change from the original weights (the size of the edit, for scale).
struct WeightDiff {
    double max = 0, moved = 0;
    int64_t over = 0, compared = 0;
    nlohmann::json to_json() const {
        return {{"max_abs_diff", max}, {"over_1e-5", over}, {"compared", compared}};
    }
};

WeightDiff compare(const std::map<std::string, std::vector<float>>& a, const std::map<std::string, std::vector<float>>& b,
                   const std::map<std::string, std::vector<float>>& orig) {
    WeightDiff d;
    for (const auto& [site, x] : a) {
        const auto& y = b.at(site);
        const auto& o = orig.at(site);
        for (size_t i = 0; i < x.size(); ++i) {
            const double e = std::fabs(static_cast<double>(x[i]) - y[i]);
            d.max = std::max(d.max, e);
            d.over += e > 1e-5;
            ++d.compared;
            d.moved = std::max(d.moved, std::fabs(static_cast<double>(y[i]) - o[i]));
        }
    }
    return d;
}

nlohmann::json run_case(Registry& reg, const std::string& label, const ModelFile& model, const Options& o, bool json) {
    reset_peak_rss();  // this case's own peak, not an earlier model's
    const VitConfig& cfg = model.config;
    auto be = reg.create_backend(o.backend, o.config);
    Vit vit(be, cfg, model.tensors);
    const auto blocks = default_edit_blocks(cfg.depth);
    const auto sites = ffn_sites(cfg, blocks);
    const int lowest = *std::min_element(blocks.begin(), blocks.end());
    const std::vector<float> image = random_images(cfg, 1, 11);
    const std::vector<int32_t> labels = {1 % cfg.num_classes};
    const std::string spec_tail = ",stop_loss=0,lr=" + std::to_string(o.lr);
    LocatorInstance locator(reg, parse_plugin_spec("random:seed=1,sparsity=" + std::to_string(o.sparsity), "locator"));
    EditorInstance warm(reg, parse_plugin_spec("rmsprop:steps=" + std::to_string(o.warmup) + spec_tail, "editor"));
    EditorInstance editor(reg, parse_plugin_spec("rmsprop:steps=" + std::to_string(o.steps) + spec_tail, "editor"));
    EditSession session(vit, sites, vit.upload_images(image, 1), labels, locator.seed(), "perf", true, "");
    if (!json) std::cerr << "perf: " << label << ": " << cfg.summary() << "\n";

    // vitedit: a warm-up edit (primitive creation, first touches), restore, then the timed edit.
    if (o.warmup > 0) {
        run_edit(session, locator, warm);
        session.restore();
    }
    // The machine's GEMM rate drifts on a shared host (±30 % within a minute here), so each
    // figure's limit uses the rate measured right before and right after it (their mean), and the
    // figures are taken in several rounds: the round whose distance to its limit is the median
    // is reported, every round is in the JSON.
    const VitConfig b16;
    const int64_t E = o.eval_images;
    const std::vector<float> eval = random_images(cfg, E, 12);
    // Locality evaluation: the fixed set's frozen prefix is cached once (timed apart), then every
    // evaluation after an edit runs the suffix only.
    auto t0 = Clock::now();
    ImageSet set(vit, eval, E, lowest);
    be->synchronize();
    const double cache_s = since(t0);
    set.predict();  // warm-up
    struct Round {
        double step_s, step_flops, step_rate, eval_s, eval_flops, eval_rate;
        double step_vs_limit() const { return step_s / (step_flops / step_rate); }
        double eval_vs_limit() const { return eval_s / (eval_flops / eval_rate); }
    };
    std::vector<Round> rounds;
    EditOutcome r;
    auto probe = [&] { return gemm_rate(*be, b16, 20); };
    for (int k = 0; k < o.rounds; ++k) {
        if (k > 0) session.restore();
        Round w{};
        const double rate_before = probe();
        const double f0 = be->gemm_flops();
        r = run_edit(session, locator, editor);
        w.step_s = r.step_s;
        w.step_flops = (be->gemm_flops() - f0) / std::max(1, r.steps);
        const double rate_mid = probe();
        w.step_rate = 0.5 * (rate_before + rate_mid);
        const double f1 = be->gemm_flops();
        t0 = Clock::now();
        set.predict();
        w.eval_s = since(t0) / static_cast<double>(E);
        w.eval_flops = (be->gemm_flops() - f1) / static_cast<double>(E);
        w.eval_rate = 0.5 * (rate_mid + probe());
        rounds.push_back(w);
    }
    auto median_by = [&](double (Round::*ratio)() const) {
        std::vector<const Round*> by(rounds.size());
        for (size_t i = 0; i < rounds.size(); ++i) by[i] = &rounds[i];
        std::sort(by.begin(), by.end(), [&](const Round* a, const Round* b) { return (a->*ratio)() < (b->*ratio)(); });
        return *by[by.size() / 2];
    };
    const Round step_round = median_by(&Round::step_vs_limit), eval_round = median_by(&Round::eval_vs_limit);
    nlohmann::json rounds_json = nlohmann::json::array();
    for (const Round& w : rounds)
        rounds_json.push_back({{"step_s", w.step_s}, {"step_vs_limit", w.step_vs_limit()}, {"step_gemm_gflops", w.step_rate * 1e-9},
                               {"eval_images_per_s", 1.0 / w.eval_s}, {"eval_vs_limit", w.eval_vs_limit()},
                               {"eval_gemm_gflops", w.eval_rate * 1e-9}});
    const double rss_mb = peak_rss_mb();
    nlohmann::json profile, eval_profile;
    double step_floor_s = 0, eval_floor_s = 0, floor_rate = 0;
    if (o.profile) {
        // One more evaluation and the same edit once more, every op timed (the edit ends at the
        // same weights).
        op_profile::reset();
        op_profile::set_enabled(true);
        t0 = Clock::now();
        set.predict();
        const double eval_wall = since(t0);
        op_profile::set_enabled(false);
        eval_profile = op_profile(1);
        if (!json) print_profile(label, "an evaluation of the " + std::to_string(E) + " images", eval_profile, eval_wall);
        session.restore();
        op_profile::reset();
        op_profile::set_enabled(true);
        const EditOutcome p = run_edit(session, locator, editor);
        op_profile::set_enabled(false);
        profile = op_profile(std::max(1, p.steps));
        if (!json) print_profile(label, "an edit step", profile, p.step_s);
        // The floors, against a limit at the rate measured right after them.
        step_floor_s = gemm_floor_s(*be, profile);
        eval_floor_s = gemm_floor_s(*be, eval_profile) / static_cast<double>(E);
        floor_rate = probe();
        if (!json)
            std::cerr << "perf: " << label << ": GEMM floor (each product alone, hot, median of 15): step "
                      << std::setprecision(3) << step_floor_s * 1e3 << " ms = "
                      << step_floor_s / (step_round.step_flops / floor_rate) << "x its limit, evaluation "
                      << eval_floor_s * 1e3 << " ms per image = " << eval_floor_s / (eval_round.eval_flops / floor_rate)
                      << "x its limit (GEMM rate now " << std::setprecision(4) << floor_rate * 1e-9 << " GFLOP/s)\n";
    }

    nlohmann::json j = {{"model", label},
                        {"config", cfg.summary()},
                        {"edit_blocks", blocks},
                        {"sparsity", o.sparsity},
                        {"steps", r.steps},
                        {"vitedit",
                         {{"step_s", step_round.step_s},
                          {"step_gflop", step_round.step_flops * 1e-9},
                          {"step_limit_s", step_round.step_flops / step_round.step_rate},
                          {"step_gemm_gflops", step_round.step_rate * 1e-9},
                          {"eval_images_per_s", 1.0 / eval_round.eval_s},
                          {"eval_gflop_per_image", eval_round.eval_flops * 1e-9},
                          {"eval_limit_images_per_s", eval_round.eval_rate / eval_round.eval_flops},
                          {"eval_gemm_gflops", eval_round.eval_rate * 1e-9},
                          {"eval_cache_s", cache_s},
                          {"rounds", rounds_json},
                          {"peak_rss_mb", rss_mb}}}};
    if (o.profile) {
        j["vitedit"]["step_profile"] = profile;
        j["vitedit"]["eval_profile"] = eval_profile;
        j["vitedit"]["step_gemm_floor_s"] = step_floor_s;
        j["vitedit"]["step_gemm_floor_vs_limit"] = step_floor_s / (step_round.step_flops / floor_rate);
        j["vitedit"]["eval_gemm_floor_s_per_image"] = eval_floor_s;
        j["vitedit"]["eval_gemm_floor_vs_limit"] = eval_floor_s / (eval_round.eval_flops / floor_rate);
        j["vitedit"]["floor_gemm_gflops"] = floor_rate * 1e-9;
    }

    if (o.peers.empty()) return j;
    // The peers on the same weights, image, label, mask and evaluation images.
    const ScratchDir scratch("vitedit-perf-");
    const fs::path& dir = scratch.path();
    save_model((dir / "model.safetensors").string(), cfg, model.tensors);
    SafeTensorsFile in;
    in.tensors["image"] = HostTensor{{1, cfg.in_chans, cfg.image_h(), cfg.image_w()}, image};
    in.tensors["label"] = HostTensor{{1}, {static_cast<float>(labels[0])}};
    in.tensors["eval"] = HostTensor{{E, cfg.in_chans, cfg.image_h(), cfg.image_w()}, eval};
    for (size_t s = 0; s < sites.size(); ++s)
        in.tensors["mask." + sites[s].name] = HostTensor{{sites[s].units}, r.mask[s]};
    write_safetensors((dir / "edit.safetensors").string(), in);

    std::map<std::string, std::vector<float>> mine, orig;
    for (const auto& s : sites) {
        mine[s.name] = vit.param(s.name).download();
        orig[s.name] = model.tensors.at(s.name).data.to_vector();
    }
    std::map<std::string, std::map<std::string, std::vector<float>>> edited;  // peer -> site -> weights
    for (const Peer& p : o.peers) {
        std::ostringstream cmd;
        cmd << "OMP_NUM_THREADS=" << o.threads << " " << p.command << " --dir '" << dir.string() << "' --steps " << o.steps
            << " --warmup " << o.warmup << " --lr " << std::setprecision(17) << o.lr << " --threads " << o.threads;
        if (!json) std::cerr << "perf: " << label << ": running " << p.title << "\n";
        const int rc = std::system(cmd.str().c_str());
        if (rc != 0) throw Error(p.title + " (" + p.command + ") failed with status " + std::to_string(rc));
        std::ifstream rj((dir / (p.prefix + ".json")).string());
        const nlohmann::json ref = nlohmann::json::parse(rj);
        const SafeTensorsFile out = read_safetensors((dir / (p.prefix + ".safetensors")).string());
        for (const auto& s : sites) {
            auto it = out.tensors.find(s.name);
            if (it == out.tensors.end() || it->second.data.size() != mine[s.name].size())
                throw Error(p.title + " returned no " + s.name + " of the right shape");
            edited[p.key][s.name] = it->second.data.to_vector();
        }
        nlohmann::json pj = {{"title", p.title}, {"torch", ref.at("torch")}};
        if (ref.contains("peak_rss_mb")) pj["peak_rss_mb"] = ref.at("peak_rss_mb");
        if (p.timed) {
            const std::vector<double> each = ref.at("step_s").get<std::vector<double>>();
            double mean = 0;
            for (double t : each) mean += t;
            mean /= static_cast<double>(each.size());
            pj["step_s"] = mean;
            pj["step_s_each"] = each;
            pj["eval_images_per_s"] = ref.at("eval_images_per_s");
            pj["speedup_step"] = mean / step_round.step_s;
            pj["speedup_eval"] = j["vitedit"]["eval_images_per_s"].get<double>() / ref.at("eval_images_per_s").get<double>();
        }
        const WeightDiff d = compare(mine, edited[p.key], orig);
        pj["weights_max_abs_diff"] = d.max;
        pj["weights_max_abs_change"] = d.moved;
        pj["weights_over_1e-5"] = d.over;
        pj["weights_compared"] = d.compared;
        j[p.key] = pj;
    }
    // A peer reports its own peak (VmHWM); else RUSAGE_CHILDREN's maximum over every finished
    // child, which also counts the fork of this process each child starts as.
    if (j.contains("reference") && !j["reference"].contains("peak_rss_mb"))
        j["reference"]["peak_rss_mb"] = children_peak_rss_mb();
    if (edited.count("float64")) {
        // The double-precision truth: how far each f32 implementation lands from it. When vitedit
        // and LibTorch differ from each other by more than from the truth, the difference is
        // f32 rounding amplified by the step, not a wrong step.
        nlohmann::json t;
        t["vitedit"] = compare(mine, edited["float64"], orig).to_json();
        for (const char* k : {"reference", "python"})
            if (edited.count(k)) t[k] = compare(edited[k], edited["float64"], orig).to_json();
        j["float64"]["vs_truth"] = t;
    }
    // The headline figures (kept flat for scripts): vitedit against the LibTorch reference.
    if (j.contains("reference")) {
        for (const char* k : {"weights_max_abs_diff", "weights_max_abs_change", "weights_over_1e-5", "weights_compared",
                              "speedup_step", "speedup_eval"})
            if (j["reference"].contains(k)) j[k] = j["reference"][k];
    }
    return j;
}

std::string fmt(double v, int prec = 3) {
    std::ostringstream s;
    s << std::setprecision(prec) << v;
    return s.str();
}

// One figure's row: vitedit, each timed peer and how many times vitedit is faster (a time: peer /
// mine; a rate: mine / peer), the GEMM work, limit and distance.
void print_row(const std::string& model, const std::string& figure, bool is_time, double mine, const std::vector<double>& peers,
               double gflop, double limit, double vs_limit) {
    std::cout << std::left << std::setw(22) << model << std::setw(16) << figure << std::right << std::setw(10) << fmt(mine);
    for (double p : peers)
        std::cout << std::setw(10) << (p > 0 ? fmt(p) : "-") << std::setw(8)
                  << (p > 0 ? fmt(is_time ? p / mine : mine / p) + "x" : "-");
    std::cout << std::setw(9) << fmt(gflop) << std::setw(10) << fmt(limit) << std::setw(9) << fmt(vs_limit) << "x\n";
}

void print_table(const nlohmann::json& out) {
    static const char* kPeers[] = {"reference", "python"};
    std::cout << "machine: " << out["machine"]["cores"] << " cores, oneDNN GEMM " << fmt(out["machine"]["gemm_gflops"].get<double>())
              << " GFLOP/s (" << out["machine"]["gemm_shape"].get<std::string>() << ") at the start, " << out["threads"]
              << " threads each side\n\n";
    std::cout << std::left << std::setw(22) << "model" << std::setw(16) << "figure" << std::right << std::setw(10) << "vitedit"
              << std::setw(10) << "LibTorch" << std::setw(8) << "ratio" << std::setw(10) << "PyTorch" << std::setw(8) << "ratio"
              << std::setw(9) << "GFLOP" << std::setw(10) << "limit" << std::setw(10) << "vs limit" << "\n";
    for (const auto& c : out["cases"]) {
        const auto& v = c["vitedit"];
        auto peer = [&](const char* k, const char* f) {
            return c.contains(k) && c[k].contains(f) && c[k][f].is_number() ? c[k][f].get<double>() : 0.0;
        };
        std::string m = c["model"].get<std::string>();
        if (boost::filesystem::path(m).extension() == ".safetensors") m = boost::filesystem::path(m).stem().string();
        if (m.size() > 21) m = m.substr(0, 20) + "~";  // keep the columns aligned
        std::vector<double> step, eval;
        for (const char* k : kPeers) {
            step.push_back(peer(k, "step_s") * 1e3);
            eval.push_back(peer(k, "eval_images_per_s"));
        }
        const double step_s = v["step_s"].get<double>(), limit_s = v["step_limit_s"].get<double>();
        const double ips = v["eval_images_per_s"].get<double>(), limit_ips = v["eval_limit_images_per_s"].get<double>();
        print_row(m, "edit step (ms)", true, step_s * 1e3, step, v["step_gflop"].get<double>(), limit_s * 1e3, step_s / limit_s);
        print_row("", "eval (img/s)", false, ips, eval, v["eval_gflop_per_image"].get<double>(), limit_ips, limit_ips / ips);
        std::cout << std::left << std::setw(22) << "" << "GEMM rate around the figures: step " << fmt(v["step_gemm_gflops"].get<double>())
                  << ", eval " << fmt(v["eval_gemm_gflops"].get<double>()) << " GFLOP/s; peak RSS vitedit "
                  << fmt(v["peak_rss_mb"].get<double>(), 4) << " MB";
        if (c.contains("reference")) std::cout << ", LibTorch " << fmt(c["reference"]["peak_rss_mb"].get<double>(), 4) << " MB";
        if (c.contains("python") && c["python"].contains("peak_rss_mb"))
            std::cout << ", PyTorch " << fmt(c["python"]["peak_rss_mb"].get<double>(), 4) << " MB";
        std::cout << "\n";
        if (v["rounds"].size() > 1) {
            std::string st, ev;
            for (const auto& w : v["rounds"]) {
                st += (st.empty() ? "" : " ") + fmt(w["step_vs_limit"].get<double>()) + "x";
                ev += (ev.empty() ? "" : " ") + fmt(w["eval_vs_limit"].get<double>()) + "x";
            }
            std::cout << std::left << std::setw(22) << "" << "vs limit in each round: step " << st << "; eval " << ev << "\n";
        }
        for (const char* k : kPeers) {
            if (!c.contains(k)) continue;
            const auto& p = c[k];
            std::cout << std::left << std::setw(22) << "" << "edited weights after " << c["steps"] << " steps, max |vitedit - "
                      << (std::string(k) == "python" ? "PyTorch" : "LibTorch") << "| " << fmt(p["weights_max_abs_diff"].get<double>())
                      << " (" << p["weights_over_1e-5"].get<int64_t>() << " of " << p["weights_compared"].get<int64_t>()
                      << " elements over 1e-5; the edit moved weights by up to " << fmt(p["weights_max_abs_change"].get<double>()) << ")\n";
        }
        if (c.contains("command")) {
            const auto& w = c["command"];
            auto phases = [](const nlohmann::json& side) {
                std::string s;
                for (const char* k : {"import", "load", "hash", "prefix", "locate", "edit", "check", "write"})
                    if (side.contains("phases") && side["phases"].contains(k))
                        s += (s.empty() ? "" : ", ") + std::string(k) + " " + fmt(side["phases"][k].get<double>());
                return s;
            };
            std::cout << std::left << std::setw(22) << "" << "whole `edit --patch` command, cold process (median of "
                      << w["vitedit"]["wall_s_each"].size() << " alternating runs, " << w["steps"] << " steps): vitedit "
                      << fmt(w["vitedit"]["wall_s"].get<double>()) << " s, PyTorch script "
                      << fmt(w["python"]["wall_s"].get<double>()) << " s: " << fmt(w["speedup"].get<double>()) << "x\n"
                      << std::setw(22) << "" << "  vitedit phases (s): " << phases(w["vitedit"]) << "; peak RSS "
                      << fmt(w["vitedit"].value("peak_rss_mb", 0.0), 4) << " MB\n"
                      << std::setw(22) << "" << "  PyTorch phases (s): " << phases(w["python"]) << "; peak RSS "
                      << fmt(w["python"].value("peak_rss_mb", 0.0), 4) << " MB\n";
        }
        if (c.contains("float64")) {
            const auto& t = c["float64"]["vs_truth"];
            std::cout << std::left << std::setw(22) << "" << "max distance to the float64 truth: vitedit "
                      << fmt(t["vitedit"]["max_abs_diff"].get<double>()) << " (" << t["vitedit"]["over_1e-5"].get<int64_t>()
                      << " over 1e-5)";
            for (const char* k : kPeers)
                if (t.contains(k))
                    std::cout << ", " << (std::string(k) == "python" ? "PyTorch" : "LibTorch") << " "
                              << fmt(t[k]["max_abs_diff"].get<double>()) << " (" << t[k]["over_1e-5"].get<int64_t>() << " over 1e-5)";
            std::cout << "\n";
        }
    }
    std::cout << "\nratio: how many times vitedit is faster. GFLOP: GEMM work vitedit issues per step / per evaluated image "
                 "(after the prefix cache and the truncated backward); limit: that work at the GEMM rate measured around "
                 "the figure; vs limit: measured / limit (the median of the rounds).\n";
}

}  // namespace

int cmd_perf(const std::vector<std::string>& args) {
    po::options_description desc("options");
    desc.add_options()
        ("model", po::value<std::vector<std::string>>()->composing(),
         "model to measure (repeatable); 'vit-b16' is ViT-B/16-shaped random weights (default: vit-b16)")
        ("steps", po::value<int>()->default_value(8), "timed edit steps (RMSprop, every step taken: no early stop)")
        ("warmup", po::value<int>()->default_value(2), "untimed warm-up steps before them (each side)")
        ("rounds", po::value<int>()->default_value(3), "vitedit's figures are measured this many times, each between GEMM-rate "
                                                       "probes; the round at the median distance to its limit is reported")
        ("lr", po::value<double>()->default_value(2e-5, "2e-5"), "RMSprop learning rate")
        ("sparsity", po::value<double>()->default_value(0.1, "0.1"), "share of site neurons edited (random locator, seed 1)")
        ("eval-images", po::value<int>(), "size of the fixed evaluation set (default 16 for vit-b16, 256 otherwise)")
        ("threads", po::value<int>()->default_value(2), "threads on each side (OMP_NUM_THREADS, torch::set_num_threads)")
        ("reference", po::value<std::string>(), "the reference program (default: vitedit-torch-reference beside vitedit)")
        ("no-reference", "measure vitedit only (no LibTorch, no Python peer)")
        ("python", po::value<std::string>(),
         "the Python PyTorch eager reference (default: vitedit-torch-eager-reference beside vitedit, when /usr/bin/python3 "
         "imports torch)")
        ("no-python", "skip the Python PyTorch eager reference")
        ("command-runs", po::value<int>()->default_value(3),
         "also time the whole `vitedit edit --patch` command against the Python peer's script doing the same edit (saliency, "
         "--steps RMSprop steps, save), both cold processes, this many runs each, alternately (0: skip; needs the Python peer)")
        ("f64-check", "also run the steps in float64 (Python PyTorch) and report how far vitedit and LibTorch land from "
                      "that truth")
        ("write-model", po::value<std::string>(), "write the ViT-B/16-shaped random weights (--seed) to this file and exit "
                                                  "(to time `vitedit edit --json` on them)")
        ("tolerance", po::value<double>()->default_value(1e-5, "1e-5"), "largest |vitedit - reference| allowed in the edited weights (else exit 3)")
        ("seed", po::value<uint64_t>()->default_value(7), "seed of the random ViT-B/16 weights")
        ("profile", "also time every backend op of the edit step and of an evaluation (a separate, untimed run), print "
                    "where the time goes, and each figure's GEMM floor (its products each run alone)")
        ("json", "print one JSON object");
    add_backend_option(desc);
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse("perf", "[--model vit-b16|M.safetensors ...] [options]", desc, args, vm)) return 0;
    Options o;
    o.steps = vm["steps"].as<int>();
    o.warmup = vm["warmup"].as<int>();
    o.rounds = vm["rounds"].as<int>();
    o.lr = vm["lr"].as<double>();
    o.sparsity = vm["sparsity"].as<double>();
    o.threads = vm["threads"].as<int>();
    o.backend = vm["backend"].as<std::string>();
    o.config = backend_config(vm);
    o.profile = vm.count("profile") > 0;
    if (o.steps < 1 || o.steps > 1000) throw UsageError("--steps must be in 1..1000");
    if (o.warmup < 0 || o.warmup > 100) throw UsageError("--warmup must be in 0..100");
    if (o.rounds < 1 || o.rounds > 20) throw UsageError("--rounds must be in 1..20");
    if (o.threads < 1) throw UsageError("--threads must be >= 1");
    if (!(o.sparsity > 0 && o.sparsity <= 1)) throw UsageError("--sparsity must be in (0, 1]");
    if (vm.count("write-model")) {
        const ModelFile m = vit_b16(vm["seed"].as<uint64_t>());
        save_model(vm["write-model"].as<std::string>(), m.config, m.tensors);
        std::cerr << "vitedit perf: wrote ViT-B/16-shaped random weights (seed " << vm["seed"].as<uint64_t>() << ") to "
                  << vm["write-model"].as<std::string>() << "\n";
        return 0;
    }
    const bool json = vm.count("json") > 0;
    const int command_runs = vm["command-runs"].as<int>();
    if (command_runs < 0 || command_runs > 20) throw UsageError("--command-runs must be in 0..20");
    std::string python_command;  // the Python peer, when it runs
    boost::system::error_code ec;
    const fs::path bin = boost::dll::program_location(ec).parent_path();
    if (vm.count("no-reference") == 0) {
        const std::string ref =
            vm.count("reference") ? vm["reference"].as<std::string>() : (bin / "vitedit-torch-reference").string();
        if (!fs::exists(ref, ec))
            throw UsageError("the reference program " + ref +
                             " does not exist (it is built where LibTorch is found; or give --reference, or --no-reference)");
        o.peers.push_back({"reference", "reference", "the LibTorch reference", "'" + ref + "'", true});
        // Python: given explicitly it must work; by default it joins when python3 can import torch.
        const bool explicit_python = vm.count("python") > 0;
        const std::string py =
            explicit_python ? vm["python"].as<std::string>() : (bin / "vitedit-torch-eager-reference").string();
        const bool want_python = vm.count("no-python") == 0 || vm.count("f64-check") > 0;
        bool have_python = false;
        if (want_python) {
            have_python = fs::exists(py, ec) && std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
            if (!have_python && (explicit_python || vm.count("f64-check")))
                throw UsageError("the Python reference " + py + " cannot run (it needs /usr/bin/python3 with Debian's "
                                 "python3-torch)");
            if (!have_python && !json)
                std::cerr << "perf: no Python PyTorch peer (needs " << py
                          << " and /usr/bin/python3 with python3-torch); skipping it\n";
        }
        if (have_python && vm.count("no-python") == 0) {
            o.peers.push_back({"python", "python", "the Python PyTorch eager reference", "/usr/bin/python3 '" + py + "'", true});
            python_command = "/usr/bin/python3 '" + py + "'";
        }
        if (have_python && vm.count("f64-check"))
            o.peers.push_back({"float64", "float64", "the float64 truth (Python PyTorch)",
                               "/usr/bin/python3 '" + py + "' --dtype float64 --prefix float64 --no-eval", false});
    } else if (vm.count("f64-check") || vm.count("python")) {
        throw UsageError("--f64-check and --python need the references (drop --no-reference)");
    }
    // Both sides get the same threads; set before the backend (and its OpenMP runtime) loads.
    setenv("OMP_NUM_THREADS", std::to_string(o.threads).c_str(), 1);
    const std::vector<std::string> models =
        vm.count("model") ? vm["model"].as<std::vector<std::string>>() : std::vector<std::string>{"vit-b16"};

    Registry& reg = registry(vm);
    nlohmann::json out;
    out["threads"] = o.threads;
    out["backend"] = o.backend;
    out["precision"] = vm["precision"].as<std::string>();
    {
        auto be = reg.create_backend(o.backend, o.config);
        check_precision(vm, *be);
        const VitConfig b16;
        const double rate = gemm_rate(*be, b16, 30);
        out["machine"] = {{"cores", std::thread::hardware_concurrency()},
                          {"gemm_gflops", rate * 1e-9},
                          {"gemm_shape", vm["precision"].as<std::string>() + " 197x768 @ 768x3072"}};
    }
    for (const auto& m : models) {
        Options oc = o;
        const bool b16 = m == "vit-b16";
        oc.eval_images = vm.count("eval-images") ? vm["eval-images"].as<int>() : (b16 ? 16 : 256);
        if (oc.eval_images < 1) throw UsageError("--eval-images must be >= 1");
        const ModelFile model = b16 ? vit_b16(vm["seed"].as<uint64_t>()) : load_model(m);
        out["cases"].push_back(run_case(reg, b16 ? "ViT-B/16 (random)" : fs::path(m).filename().string(), model, oc, json));
        if (command_runs > 0 && !python_command.empty()) {
            CommandRace race;
            race.vitedit = boost::dll::program_location(ec).string();
            race.python = python_command;
            race.backend = o.backend;
            race.runs = command_runs;
            race.steps = o.steps;
            race.lr = o.lr;
            race.sparsity = o.sparsity;
            race.threads = o.threads;
            out["cases"].back()["command"] = race_edit_command(model, race, json);
        }
    }
    if (json) std::cout << out.dump() << "\n";
    else print_table(out);
    const double tol = vm["tolerance"].as<double>();
    int rc = 0;
    for (const auto& c : out["cases"])
        if (c.contains("weights_max_abs_diff") && !(c["weights_max_abs_diff"].get<double>() <= tol)) {
            std::cerr << "vitedit perf: " << c["model"].get<std::string>() << ": the edited weights differ from the reference by "
                      << c["weights_max_abs_diff"].get<double>() << " > --tolerance " << tol << "\n";
            rc = 3;
        }
    return rc;
}

}  // namespace vitedit::cli

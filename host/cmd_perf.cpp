// vitedit perf — vitedit's edit step and locality evaluation, side by side with the reference
// approach (LibTorch eager: full forward + autograd backward + torch::optim::RMSprop per step, a
// full forward per evaluated image) on the same weights, image and mask, plus the arithmetic
// limit: the GEMM FLOPs each vitedit figure truly issues divided by the machine's measured GEMM
// rate (DESIGN.md §6).
//
// vitedit's side runs the ordinary edit path (EditSession + the `random` locator + the `rmsprop`
// editor, exactly what `vitedit edit` runs); the reference runs as a separate process
// (bin/vitedit-torch-reference) so that the `vitedit` program never links LibTorch.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include "chain.hpp"
#include "cli.hpp"
#include "vitedit/edit_session.hpp"
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
        HostTensor t{shape, std::vector<float>(static_cast<size_t>(shape_numel(shape)))};
        const bool is_norm = name.find("norm") != std::string::npos;
        const bool is_bias = name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
        if (is_norm && !is_bias) std::fill(t.data.begin(), t.data.end(), 1.0f);
        else if (!is_bias) for (float& v : t.data) v = normal(rng);
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

// The oneDNN (or whichever backend) f32 GEMM rate at the FFN shape: [T, D] x [H, D]^T.
double gemm_rate(Backend& be, const VitConfig& c, int reps) {
    Tensor a = be.empty({c.tokens(), c.dim});
    Tensor w = be.zeros({c.mlp_hidden, c.dim}), y = be.empty({c.tokens(), c.mlp_hidden});
    be.fill(a, 0.5f);
    be.fill(w, 0.25f);
    for (int i = 0; i < 3; ++i) be.gemm(false, true, 1.0f, a, w, 0.0f, y);
    be.synchronize();
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = Clock::now();
        be.gemm(false, true, 1.0f, a, w, 0.0f, y);
        be.synchronize();
        t.push_back(since(t0));
    }
    std::sort(t.begin(), t.end());
    return 2.0 * c.tokens() * c.dim * c.mlp_hidden / t[t.size() / 2];
}

struct Options {
    int steps, warmup, eval_images, threads;
    double lr, sparsity;
    std::string backend, config, reference;
    bool run_reference;
};

nlohmann::json run_case(Registry& reg, const std::string& label, const ModelFile& model, const Options& o, double rate,
                        bool json) {
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
    const double f0 = be->gemm_flops();
    const EditOutcome r = run_edit(session, locator, editor);
    const double step_flops = (be->gemm_flops() - f0) / std::max(1, r.steps);

    // Locality evaluation: the fixed set's frozen prefix is cached once (timed apart), then every
    // evaluation after an edit runs the suffix only.
    const int64_t E = o.eval_images;
    const std::vector<float> eval = random_images(cfg, E, 12);
    auto t0 = Clock::now();
    ImageSet set(vit, eval, E, lowest);
    be->synchronize();
    const double cache_s = since(t0);
    set.predict();  // warm-up
    const double f1 = be->gemm_flops();
    t0 = Clock::now();
    set.predict();
    const double eval_s = since(t0);
    const double eval_flops = (be->gemm_flops() - f1) / static_cast<double>(E);
    const double rss_mb = peak_rss_mb();

    nlohmann::json j = {{"model", label},
                        {"config", cfg.summary()},
                        {"edit_blocks", blocks},
                        {"sparsity", o.sparsity},
                        {"steps", r.steps},
                        {"vitedit",
                         {{"step_s", r.step_s},
                          {"step_gflop", step_flops * 1e-9},
                          {"step_limit_s", step_flops / rate},
                          {"eval_images_per_s", static_cast<double>(E) / eval_s},
                          {"eval_gflop_per_image", eval_flops * 1e-9},
                          {"eval_limit_images_per_s", rate / eval_flops},
                          {"eval_cache_s", cache_s},
                          {"peak_rss_mb", rss_mb}}}};

    if (!o.run_reference) return j;
    // The reference on the same weights, image, label, mask and evaluation images.
    const fs::path dir = fs::temp_directory_path() / fs::unique_path("vitedit-perf-%%%%%%%%");
    fs::create_directories(dir);
    struct Cleanup {
        fs::path d;
        ~Cleanup() { boost::system::error_code ec; fs::remove_all(d, ec); }
    } cleanup{dir};
    save_model((dir / "model.safetensors").string(), cfg, model.tensors);
    SafeTensorsFile in;
    in.tensors["image"] = HostTensor{{1, cfg.in_chans, cfg.image_h(), cfg.image_w()}, image};
    in.tensors["label"] = HostTensor{{1}, {static_cast<float>(labels[0])}};
    in.tensors["eval"] = HostTensor{{E, cfg.in_chans, cfg.image_h(), cfg.image_w()}, eval};
    for (size_t s = 0; s < sites.size(); ++s)
        in.tensors["mask." + sites[s].name] = HostTensor{{sites[s].units}, r.mask[s]};
    write_safetensors((dir / "edit.safetensors").string(), in);
    std::ostringstream cmd;
    cmd << "OMP_NUM_THREADS=" << o.threads << " '" << o.reference << "' --dir '" << dir.string() << "' --steps " << o.steps
        << " --warmup " << o.warmup << " --lr " << std::setprecision(17) << o.lr << " --threads " << o.threads;
    if (!json) std::cerr << "perf: " << label << ": running the LibTorch reference\n";
    const int rc = std::system(cmd.str().c_str());
    if (rc != 0) throw Error("the reference (" + o.reference + ") failed with status " + std::to_string(rc));
    std::ifstream rj((dir / "reference.json").string());
    const nlohmann::json ref = nlohmann::json::parse(rj);
    const SafeTensorsFile edited = read_safetensors((dir / "reference.safetensors").string());
    double diff = 0, moved = 0;
    int64_t over = 0, compared = 0;  // elements beyond the 1e-5 target, of all site elements
    for (const auto& s : sites) {
        const std::vector<float> mine = vit.param(s.name).download();
        const auto& theirs = edited.tensors.at(s.name).data;
        const auto& orig = model.tensors.at(s.name).data;
        if (theirs.size() != mine.size()) throw Error("the reference returned " + s.name + " with another shape");
        for (size_t i = 0; i < mine.size(); ++i) {
            const double d = std::fabs(mine[i] - theirs[i]);
            diff = std::max(diff, d);
            over += d > 1e-5;
            ++compared;
            moved = std::max(moved, static_cast<double>(std::fabs(theirs[i] - orig[i])));
        }
    }
    std::vector<double> ref_steps = ref.at("step_s").get<std::vector<double>>();
    double ref_step = 0;
    for (double t : ref_steps) ref_step += t;
    ref_step /= static_cast<double>(ref_steps.size());
    j["reference"] = {{"step_s", ref_step},
                      {"step_s_each", ref_steps},
                      {"eval_images_per_s", ref.at("eval_images_per_s")},
                      {"peak_rss_mb", children_peak_rss_mb()},
                      {"torch", ref.at("torch")}};
    j["weights_max_abs_diff"] = diff;
    j["weights_max_abs_change"] = moved;
    j["weights_over_1e-5"] = over;
    j["weights_compared"] = compared;
    j["speedup_step"] = ref_step / r.step_s;
    j["speedup_eval"] = j["vitedit"]["eval_images_per_s"].get<double>() / ref.at("eval_images_per_s").get<double>();
    return j;
}

std::string fmt(double v, int prec = 3) {
    std::ostringstream s;
    s << std::setprecision(prec) << v;
    return s.str();
}

void print_table(const nlohmann::json& out) {
    std::cout << "machine: " << out["machine"]["cores"] << " cores, oneDNN f32 GEMM " << fmt(out["machine"]["gemm_gflops"].get<double>())
              << " GFLOP/s (" << out["machine"]["gemm_shape"].get<std::string>() << "), " << out["threads"] << " threads each side\n\n";
    std::cout << std::left << std::setw(22) << "model" << std::setw(16) << "figure" << std::right << std::setw(12) << "vitedit"
              << std::setw(12) << "LibTorch" << std::setw(10) << "speed-up" << std::setw(10) << "GFLOP" << std::setw(12)
              << "limit" << std::setw(11) << "vs limit" << "\n";
    for (const auto& c : out["cases"]) {
        const auto& v = c["vitedit"];
        const bool ref = c.contains("reference");
        std::string m = c["model"].get<std::string>();
        if (boost::filesystem::path(m).extension() == ".safetensors") m = boost::filesystem::path(m).stem().string();
        if (m.size() > 21) m = m.substr(0, 20) + "~";  // keep the columns aligned
        std::cout << std::left << std::setw(22) << m << std::setw(16) << "edit step (ms)" << std::right << std::setw(12)
                  << fmt(v["step_s"].get<double>() * 1e3) << std::setw(12)
                  << (ref ? fmt(c["reference"]["step_s"].get<double>() * 1e3) : "-") << std::setw(10)
                  << (ref ? fmt(c["speedup_step"].get<double>()) + "x" : "-") << std::setw(10)
                  << fmt(v["step_gflop"].get<double>()) << std::setw(12) << fmt(v["step_limit_s"].get<double>() * 1e3)
                  << std::setw(10) << fmt(v["step_s"].get<double>() / v["step_limit_s"].get<double>()) << "x\n";
        std::cout << std::left << std::setw(22) << "" << std::setw(16) << "eval (img/s)" << std::right << std::setw(12)
                  << fmt(v["eval_images_per_s"].get<double>()) << std::setw(12)
                  << (ref ? fmt(c["reference"]["eval_images_per_s"].get<double>()) : "-") << std::setw(10)
                  << (ref ? fmt(c["speedup_eval"].get<double>()) + "x" : "-") << std::setw(10)
                  << fmt(v["eval_gflop_per_image"].get<double>()) << std::setw(12)
                  << fmt(v["eval_limit_images_per_s"].get<double>()) << std::setw(10)
                  << fmt(v["eval_limit_images_per_s"].get<double>() / v["eval_images_per_s"].get<double>()) << "x\n";
        std::cout << std::left << std::setw(22) << "" << "edited weights after " << c["steps"] << " steps: max |vitedit - LibTorch| "
                  << (ref ? fmt(c["weights_max_abs_diff"].get<double>()) + " (max change " +
                                fmt(c["weights_max_abs_change"].get<double>()) + "; " +
                                std::to_string(c["weights_over_1e-5"].get<int64_t>()) + " of " +
                                std::to_string(c["weights_compared"].get<int64_t>()) + " elements over 1e-5)"
                          : "-")
                  << "; peak RSS vitedit " << fmt(v["peak_rss_mb"].get<double>(), 4) << " MB"
                  << (ref ? ", reference " + fmt(c["reference"]["peak_rss_mb"].get<double>(), 4) + " MB" : "") << "\n";
    }
    std::cout << "\nGFLOP: GEMM work vitedit issues per step / per evaluated image (after the prefix cache and the "
                 "truncated backward); limit: that work at the measured GEMM rate; vs limit: measured / limit.\n";
}

}  // namespace

int cmd_perf(const std::vector<std::string>& args) {
    po::options_description desc("options");
    desc.add_options()
        ("model", po::value<std::vector<std::string>>()->composing(),
         "model to measure (repeatable); 'vit-b16' is ViT-B/16-shaped random weights (default: vit-b16)")
        ("steps", po::value<int>()->default_value(8), "timed edit steps (RMSprop, every step taken: no early stop)")
        ("warmup", po::value<int>()->default_value(2), "untimed warm-up steps before them (each side)")
        ("lr", po::value<double>()->default_value(2e-5, "2e-5"), "RMSprop learning rate")
        ("sparsity", po::value<double>()->default_value(0.1, "0.1"), "share of site neurons edited (random locator, seed 1)")
        ("eval-images", po::value<int>(), "size of the fixed evaluation set (default 16 for vit-b16, 256 otherwise)")
        ("threads", po::value<int>()->default_value(2), "threads on each side (OMP_NUM_THREADS, torch::set_num_threads)")
        ("reference", po::value<std::string>(), "the reference program (default: vitedit-torch-reference beside vitedit)")
        ("no-reference", "measure vitedit only")
        ("tolerance", po::value<double>()->default_value(1e-5, "1e-5"), "largest |vitedit - reference| allowed in the edited weights (else exit 3)")
        ("seed", po::value<uint64_t>()->default_value(7), "seed of the random ViT-B/16 weights")
        ("json", "print one JSON object");
    add_backend_option(desc);
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse("perf", "[--model vit-b16|M.safetensors ...] [options]", desc, args, vm)) return 0;
    Options o;
    o.steps = vm["steps"].as<int>();
    o.warmup = vm["warmup"].as<int>();
    o.lr = vm["lr"].as<double>();
    o.sparsity = vm["sparsity"].as<double>();
    o.threads = vm["threads"].as<int>();
    o.backend = vm["backend"].as<std::string>();
    o.config = backend_config(vm);
    o.run_reference = vm.count("no-reference") == 0;
    if (o.steps < 1 || o.steps > 1000) throw UsageError("--steps must be in 1..1000");
    if (o.warmup < 0 || o.warmup > 100) throw UsageError("--warmup must be in 0..100");
    if (o.threads < 1) throw UsageError("--threads must be >= 1");
    if (!(o.sparsity > 0 && o.sparsity <= 1)) throw UsageError("--sparsity must be in (0, 1]");
    boost::system::error_code ec;
    o.reference = vm.count("reference") ? vm["reference"].as<std::string>()
                                        : (boost::dll::program_location(ec).parent_path() / "vitedit-torch-reference").string();
    if (o.run_reference && !fs::exists(o.reference, ec))
        throw UsageError("the reference program " + o.reference +
                         " does not exist (it is built where LibTorch is found; or give --reference, or --no-reference)");
    const bool json = vm.count("json") > 0;
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
    const double rate = out["machine"]["gemm_gflops"].get<double>() * 1e9;
    for (const auto& m : models) {
        Options oc = o;
        const bool b16 = m == "vit-b16";
        oc.eval_images = vm.count("eval-images") ? vm["eval-images"].as<int>() : (b16 ? 16 : 256);
        if (oc.eval_images < 1) throw UsageError("--eval-images must be >= 1");
        const ModelFile model = b16 ? vit_b16(vm["seed"].as<uint64_t>()) : load_model(m);
        out["cases"].push_back(run_case(reg, b16 ? "ViT-B/16 (random)" : fs::path(m).filename().string(), model, oc, rate, json));
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

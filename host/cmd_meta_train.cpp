// vitedit meta-train — trains the hypernetwork locator (docs/method.md) on CutMix pseudo-failures
// of the model's own training images (never its held-out ones), seeded and resumable.
//
// Each iteration: 2B images; CutMix of whole patches; soft targets at temperature T from the
// unmixed images; oracle masks by outer RMSprop steps over inner masked edits (all B samples in one
// batched pass, from the frozen prefix below the edit blocks); then `distill-steps` BCE steps of
// the hypernetwork on the mixed images' CLS features. An iteration is a pure function of
// (seed, iteration, hypernetwork state), so --resume reproduces an uninterrupted run exactly.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <csignal>
#include <deque>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chain.hpp"
#include "cli.hpp"
#include "mpi_world.hpp"
#include "progress.hpp"
#include "vitedit/dataset.hpp"
#include "vitedit/edit_session.hpp"
#include "vitedit/hash.hpp"
#include "training_pool.hpp"
#include "vitedit/hypernet.hpp"
#include "vitedit/image.hpp"
#include "vitedit/meta_train.hpp"
#include "vitedit/model.hpp"
#include "vitedit/vit.hpp"

namespace vitedit::cli {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_interrupted{false};
extern "C" void on_meta_sigint(int) {
    g_interrupted = true;
    std::signal(SIGINT, SIG_DFL);
}

std::string fmt(double v, int prec = 4) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(prec) << v;
    return o.str();
}

// Means of the iteration statistics over a window (the bar) or a chunk (the history).
struct Running {
    double kl_before = 0, kl_after = 0, bce = 0, mask = 0, locality = 0;
    int64_t n = 0;
    void add(const MetaIterationStats& s) {
        kl_before += s.kl_before, kl_after += s.kl_after, bce += s.bce, mask += s.mean_mask, locality += s.locality_kl, ++n;
    }
    json to_json(int64_t iteration) const {
        const double d = n ? static_cast<double>(n) : 1.0;
        return {{"iteration", iteration}, {"kl_before", kl_before / d}, {"kl_after", kl_after / d}, {"bce", bce / d},
                {"mean_mask", mask / d}, {"locality_kl", locality / d}};
    }
};

}  // namespace

int cmd_meta_train(const std::vector<std::string>& args) {
    po::options_description desc("options");
    desc.add_options()
        ("model", po::value<std::string>()->required(), "the base model (.safetensors)")
        ("data", po::value<std::string>()->default_value("fmnist:train"), "its training data (held-out images are skipped)")
        ("out", po::value<std::string>(), "the hypernetwork checkpoint (default: MODEL with .hypernet.safetensors, where the hypernet locator looks)")
        ("iterations", po::value<int64_t>()->default_value(1500), "iterations (batches of pseudo-failures)")
        ("batch", po::value<int>()->default_value(8), "B: pseudo-failures per iteration (2B images)")
        ("inner-steps", po::value<int>()->default_value(5), "S_in: inner masked edit steps")
        ("outer-steps", po::value<int>()->default_value(10), "S_out: outer mask steps (RMSprop)")
        ("edit-lr", po::value<double>()->default_value(1e-3), "inner edit step size eta")
        ("mask-lr", po::value<double>()->default_value(0.1, "0.1"), "outer RMSprop lr on the mask logits")
        ("lambda", po::value<double>()->default_value(1.0), "sparsity weight on mean(mask)")
        ("locality", po::value<double>()->default_value(0.0), "locality weight mu: the oracle objective adds mu * KL(original || "
                                                              "edited) on --locality-images unrelated training images (0: off)")
        ("pseudo-group", po::value<int>()->default_value(0), "G >= 2: pseudo-groups: each CutMix paste also lands on G - 1 other "
                                                            "images of its host's class; the inner edit runs on the host, the outer KL on the others "
                                                            "(what GR measures). 0: off")
        ("locality-images", po::value<int>()->default_value(8), "unrelated images per iteration of the locality term")
        ("temperature", po::value<double>()->default_value(5.0), "temperature T of the soft targets and the KL")
        ("cutmix-min", po::value<int>()->default_value(2), "smallest CutMix rectangle side, in patches")
        ("cutmix-max", po::value<int>()->default_value(4), "largest CutMix rectangle side, in patches")
        ("hyper-depth", po::value<int>()->default_value(3), "hypernetwork transformer blocks")
        ("hyper-heads", po::value<int>()->default_value(0), "hypernetwork attention heads (0: 6 when it divides the width, else a divisor)")
        ("hyper-mlp", po::value<int>()->default_value(0), "hypernetwork MLP width (0: the model's width)")
        ("lr", po::value<double>()->default_value(1e-4), "hypernetwork RMSprop peak lr (cosine schedule to 0)")
        ("distill-steps", po::value<int>()->default_value(3), "hypernetwork steps per batch")
        ("edit-blocks", po::value<std::string>(), "edit sites' blocks, e.g. 2,3,4 (default: the model's default edit blocks)")
        ("seed", po::value<uint64_t>()->default_value(0), "seed of sampling, CutMix, mask initialization and the hypernetwork's initialization")
        ("checkpoint", po::value<std::string>(), "training checkpoint (default: OUT with .ckpt.safetensors)")
        ("checkpoint-every", po::value<int64_t>()->default_value(100), "write the checkpoint every N iterations (0: only when stopped early)")
        ("resume", "continue from the checkpoint (same options required); the result equals an uninterrupted run")
        ("max-iterations", po::value<int64_t>()->default_value(0), "stop after this many iterations in total (0: all); the schedule still spans --iterations");
    add_backend_option(desc);
    add_plugin_options(desc);
    add_model_overrides(desc);
    po::variables_map vm;
    if (!parse("meta-train", "--model M [--data fmnist:train] [--out H.safetensors] [options]", desc, args, vm)) return 0;

    World& world = World::get();
    std::ostream& info = world.log();  // rank 0 reports; in an MPI job the others only compute
    const std::string model_path = vm["model"].as<std::string>();
    const std::string out = vm.count("out") ? vm["out"].as<std::string>() : companion_path(model_path, ".hypernet.safetensors");
    const std::string ckpt_path = vm.count("checkpoint") ? vm["checkpoint"].as<std::string>() : companion_path(out, ".ckpt.safetensors");
    MetaTrainOptions opt;
    opt.iterations = vm["iterations"].as<int64_t>();
    opt.batch = vm["batch"].as<int>();
    opt.oracle.inner_steps = vm["inner-steps"].as<int>();
    opt.oracle.outer_steps = vm["outer-steps"].as<int>();
    opt.oracle.edit_lr = static_cast<float>(vm["edit-lr"].as<double>());
    opt.oracle.mask_lr = static_cast<float>(vm["mask-lr"].as<double>());
    opt.oracle.lambda = static_cast<float>(vm["lambda"].as<double>());
    opt.oracle.locality = static_cast<float>(vm["locality"].as<double>());
    opt.locality_images = vm["locality-images"].as<int>();
    opt.pseudo_group = vm["pseudo-group"].as<int>();
    if (opt.pseudo_group < 0 || opt.pseudo_group == 1) throw UsageError("--pseudo-group must be 0 (off) or at least 2");
    if (!(opt.oracle.locality >= 0) || opt.locality_images < 1)
        throw UsageError("--locality must be non-negative and --locality-images at least 1");
    opt.oracle.temperature = static_cast<float>(vm["temperature"].as<double>());
    opt.cutmix_min = vm["cutmix-min"].as<int>();
    opt.cutmix_max = vm["cutmix-max"].as<int>();
    opt.distill_steps = vm["distill-steps"].as<int>();
    opt.lr = vm["lr"].as<double>();
    opt.seed = vm["seed"].as<uint64_t>();
    const int64_t every = vm["checkpoint-every"].as<int64_t>(), max_it = vm["max-iterations"].as<int64_t>();
    if (opt.iterations < 1 || opt.batch < 1 || opt.distill_steps < 1) throw UsageError("--iterations, --batch and --distill-steps must be positive");
    if (opt.oracle.inner_steps < 0 || opt.oracle.outer_steps < 1) throw UsageError("--inner-steps must be >= 0 and --outer-steps >= 1");
    if (!(opt.oracle.temperature > 0) || !(opt.lr > 0) || !(opt.oracle.mask_lr > 0) || opt.oracle.edit_lr < 0 || opt.oracle.lambda < 0)
        throw UsageError("--temperature, --lr and --mask-lr must be positive; --edit-lr and --lambda non-negative");
    if (opt.cutmix_min < 1 || opt.cutmix_max < opt.cutmix_min) throw UsageError("need 1 <= --cutmix-min <= --cutmix-max");
    if (every < 0 || max_it < 0) throw UsageError("--checkpoint-every and --max-iterations must be non-negative");

    // ---- the model, its sites, the data it may use ----
    const ModelFile model = load_model(model_path, model_overrides(vm));
    const VitConfig& cfg = model.config;
    const std::string model_hash = tensors_hash(model.tensors);
    const std::vector<int> blocks = vm.count("edit-blocks") ? parse_blocks(vm["edit-blocks"].as<std::string>()) : default_edit_blocks(cfg.depth);
    const std::vector<EditSite> sites = ffn_sites(cfg, blocks);
    std::vector<HypernetSite> hsites;
    for (const auto& s : sites) hsites.push_back({s.name, s.units});

    const DataSpec spec = parse_data_spec(vm["data"].as<std::string>());
    info << "loading " << spec.text << " ...\n";
    const Dataset data = load_dataset(spec);
    std::string held_note;
    const std::vector<size_t> pool = training_pool(model, data, &held_note);

    json hyper = {{"model_hash", model_hash}, {"data", spec.text}, {"pool", pool.size()},
                  {"iterations", opt.iterations}, {"batch", opt.batch},
                  {"inner_steps", opt.oracle.inner_steps}, {"outer_steps", opt.oracle.outer_steps},
                  {"edit_lr", opt.oracle.edit_lr}, {"mask_lr", opt.oracle.mask_lr},
                  {"lambda", opt.oracle.lambda}, {"temperature", opt.oracle.temperature},
                  {"locality", opt.oracle.locality}, {"locality_images", opt.locality_images},
                  {"pseudo_group", opt.pseudo_group},
                  {"cutmix_min", opt.cutmix_min}, {"cutmix_max", opt.cutmix_max},
                  {"hyper_depth", vm["hyper-depth"].as<int>()}, {"hyper_heads", vm["hyper-heads"].as<int>()},
                  {"hyper_mlp", vm["hyper-mlp"].as<int>()}, {"lr", opt.lr}, {"distill_steps", opt.distill_steps},
                  {"edit_blocks", blocks}, {"seed", opt.seed},
                  {"mask_optimizer", "rmsprop(alpha 0.99, eps 1e-8), m = sigmoid(10 u), labels sigmoid(3 u)"},
                  {"hyper_optimizer", "rmsprop(alpha 0.99, eps 1e-8), cosine to 0"}};

    // ---- the hypernetwork: fresh or resumed ----
    // (OMP_WAIT_POLICY=PASSIVE is set for every command in main.cpp: spinning OpenMP threads made
    // meta-training 50x slower beside another job.)
    auto backend = create_rank_backend(registry(vm), vm["backend"].as<std::string>(), backend_config(vm));
    check_precision(vm, *backend);
    Vit vit(backend, cfg, model.tensors);
    // Only now, with the model, the data and the backend accepted, may the output folder appear
    // (a refused command leaves nothing behind).
    if (world.root()) {  // the only rank that writes
        std::error_code ec;
        const auto dir = std::filesystem::path(out).parent_path();
        if (!dir.empty() && !std::filesystem::is_directory(dir) && !std::filesystem::create_directories(dir, ec))
            throw Error("--out: cannot create the folder " + dir.string());
    }
    HypernetConfig hcfg;
    hcfg.dim = cfg.dim;
    hcfg.depth = vm["hyper-depth"].as<int>();
    hcfg.heads = vm["hyper-heads"].as<int>();
    hcfg.mlp = vm["hyper-mlp"].as<int>();
    hcfg.sites = hsites;
    std::unique_ptr<Hypernet> net;
    int64_t it = 0;
    json history = json::array();
    double prior_seconds = 0;
    if (vm.count("resume")) {
        if (!std::filesystem::exists(ckpt_path)) throw Error("--resume: no checkpoint at " + ckpt_path);
        Hypernet::File f = Hypernet::read(ckpt_path);
        auto m = f.metadata.find("vitedit.meta_checkpoint");
        if (m == f.metadata.end()) throw Error(ckpt_path + ": not a meta-training checkpoint (no vitedit.meta_checkpoint metadata)");
        Hypernet::check_compatible(f, ckpt_path, model_hash, hsites);
        json state;
        try {
            state = json::parse(m->second);
            it = state.at("iteration").get<int64_t>();
            history = state.value("history", json::array());
            prior_seconds = state.value("seconds", 0.0);
        } catch (const json::exception& e) {
            throw Error(ckpt_path + ": malformed checkpoint state (" + e.what() + ")");
        }
        const json was = state.value("hyper", json::object());
        if (was != hyper) {
            std::string diff;
            for (auto h = hyper.begin(); h != hyper.end(); ++h)
                if (!was.contains(h.key()) || was[h.key()] != h.value())
                    diff += " " + h.key() + " (checkpoint " + (was.contains(h.key()) ? was[h.key()].dump() : "unset") + ", now " +
                            h.value().dump() + ")";
            throw Error("--resume: " + ckpt_path + " was made with other options:" + diff);
        }
        net = std::make_unique<Hypernet>(backend, f.config, f.params);
        net->set_optimizer_state(f.optimizer);
        info << "resuming from " << ckpt_path << " at iteration " << it << "\n";
    } else {
        net = std::make_unique<Hypernet>(backend, hcfg, opt.seed);
    }

    // In an MPI job every rank draws the same batches and trains its share of each (meta_train.hpp).
    MetaTrainer trainer(vit, sites, *net, opt, [&](size_t k) { return to_model_input(data.images[k], cfg); }, pool,
                        world.size() > 1 ? &world : nullptr, [&](size_t k) { return static_cast<int64_t>(data.labels[k]); });
    const int64_t stop = max_it > 0 ? std::min(max_it, opt.iterations) : opt.iterations;
    {
        const HypernetConfig& c = net->config();
        info << "model: " << cfg.summary() << "; backend " << backend->name() << "\n"
             << "sites: fc1/fc2 of blocks";
        for (int b : blocks) info << " " << b;
        info << " (" << trainer.masker().units_per_sample() << " neurons); data: " << pool.size() << " images of " << spec.text
                  << ", " << held_note << "\n"
                  << "hypernetwork: " << c.depth << " blocks, width " << c.dim << ", " << c.heads << " heads, MLP " << c.mlp << ", "
                  << net->num_parameters() << " parameters\n"
                  << "meta-training: " << opt.iterations << " iterations of " << opt.batch << " pseudo-failures, " << opt.oracle.outer_steps
                  << " outer x (" << opt.oracle.inner_steps << " inner + 1) passes each, " << opt.distill_steps
                  << " distillation steps, lr " << opt.lr << " (cosine), seed " << opt.seed << "\n";
        if (opt.oracle.locality > 0)
            info << "locality term: mu " << opt.oracle.locality << " on " << opt.locality_images << " unrelated images per iteration (locKL)\n";
        if (opt.pseudo_group >= 2)
            info << "pseudo-groups of " << opt.pseudo_group << ": KL below is the outer KL on the " << opt.pseudo_group - 1
                 << " other hosts of each paste (KL0: the edited image before its edit)\n";
        if (world.size() > 1)
            info << "data-parallel: " << world.size() << " MPI ranks, each with " << opt.batch / world.size() << "-"
                 << (opt.batch + world.size() - 1) / world.size() << " pseudo-failures of every batch; "
                 << net->num_parameters() * 4 << " bytes of gradients summed per distillation step\n";
    }

    const HypernetProvenance prov{model_hash, blocks, ""};
    const int64_t chunk = std::max<int64_t>(1, opt.iterations / 50);
    Running window_sum, chunk_sum;
    std::deque<MetaIterationStats> window;
    const auto t_start = Clock::now();
    double ckpt_s = 0;
    auto state_json = [&](int64_t at) {
        return json{{"format", "vitedit.meta-train-checkpoint/1"},
                    {"iteration", at},
                    {"hyper", hyper},
                    {"history", history},
                    {"rng", "mt19937_64 seeded by seed_seq(seed_lo, seed_hi, purpose, iteration_lo, iteration_hi, 'meta'); "
                            "purposes: 1 sampling, 2 CutMix, 3 mask init"},
                    {"seconds", prior_seconds + std::chrono::duration<double>(Clock::now() - t_start).count()}};
    };
    auto save_ckpt = [&](int64_t at) {
        if (!world.root()) return;  // every rank holds the same network: one writes
        const auto t0 = Clock::now();
        net->save(ckpt_path, prov, true, {{"vitedit.meta_checkpoint", state_json(at).dump()}});
        ckpt_s += std::chrono::duration<double>(Clock::now() - t0).count();
    };

    g_interrupted = false;
    auto old_handler = std::signal(SIGINT, on_meta_sigint);
    Progress bar("meta-train", stop, it, opt.batch);
    const int64_t first = it;
    MetaIterationStats last;
    while (it < stop) {
        last = trainer.step(it);
        if (!std::isfinite(last.kl_after) || !std::isfinite(last.bce))
            throw Error("meta-training diverged at iteration " + std::to_string(it) + " (a loss is not finite); try a lower --edit-lr or --lr");
        ++it;
        window.push_back(last);
        if (window.size() > 20) window.pop_front();
        Running w;
        for (const auto& s : window) w.add(s);
        chunk_sum.add(last);
        if (it % chunk == 0 || it == opt.iterations) {
            history.push_back(chunk_sum.to_json(it));
            chunk_sum = Running();
        }
        const double n = static_cast<double>(w.n);
        std::vector<std::pair<std::string, double>> shown = {
            {"KL", w.kl_after / n}, {"KL0", w.kl_before / n}, {"BCE", w.bce / n}, {"mask", w.mask / n}};
        if (opt.oracle.locality > 0) shown.push_back({"locKL", w.locality / n});
        bar.update(it, shown);
        if (every > 0 && it % every == 0 && it < stop) save_ckpt(it);
        if (world.size() > 1) {  // stop together: a rank leaving alone would hang the others' next sum
            double stop_now = g_interrupted ? 1 : 0;
            world.sum(&stop_now, 1);
            g_interrupted = stop_now > 0;
        }
        if (g_interrupted) break;
    }
    bar.finish();
    std::signal(SIGINT, old_handler);
    const double seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
    const bool complete = it >= opt.iterations;
    if (!complete) {
        save_ckpt(it);
        info << "checkpoint: " << ckpt_path << " (iteration " << it << " of " << opt.iterations
                  << "; continue with the same options plus --resume)\n";
    }

    // ---- where the time went ----
    const MetaTiming tm = trainer.timing();
    const int64_t done = it - first;
    const double other = seconds - tm.prefix_s - tm.inner_s - tm.outer_s - tm.distill_s;
    auto pct = [&](double s) { return seconds > 0 ? fmt(100.0 * s / seconds, 1) + "%" : std::string("-"); };
    info << "time: " << fmt(seconds, 1) << " s for " << done << " iterations ("
              << fmt(done > 0 ? done / seconds : 0.0, 3) << " it/s, " << fmt(done > 0 ? tm.passes / seconds : 0.0, 1)
              << " batched passes/s)\n"
              << "  prefix+targets " << fmt(tm.prefix_s, 1) << " s (" << pct(tm.prefix_s) << "), inner steps " << fmt(tm.inner_s, 1)
              << " s (" << pct(tm.inner_s) << "), outer grads " << fmt(tm.outer_s, 1) << " s (" << pct(tm.outer_s)
              << "), distillation " << fmt(tm.distill_s, 1) << " s (" << pct(tm.distill_s) << "), checkpoints+other "
              << fmt(other, 1) << " s (" << pct(other) << ")\n";
    if (done > 0 && !complete)
        info << "  at this rate all " << opt.iterations << " iterations take about "
                  << Progress::format_duration(seconds / done * opt.iterations) << "\n";
    if (g_interrupted) {
        info << "interrupted at iteration " << it << "\n";
        return 130;
    }
    if (!complete) return 0;

    json training = {{"tool", "vitedit meta-train"}, {"model", std::filesystem::path(model_path).filename().string()},
                     {"hyper", hyper}, {"iterations", it}, {"backend", backend->name()},
                     {"seconds", prior_seconds + seconds}, {"seconds_this_run", seconds},
                     {"final", {{"kl_before", last.kl_before}, {"kl_after", last.kl_after}, {"bce", last.bce}, {"mean_mask", last.mean_mask}}},
                     {"history", history}};
    if (!world.root()) return 0;
    net->save(out, HypernetProvenance{model_hash, blocks, training.dump()});
    info << "hypernetwork: " << out << "\n";
    if (std::filesystem::exists(ckpt_path)) std::filesystem::remove(ckpt_path);
    return 0;
}

}  // namespace vitedit::cli

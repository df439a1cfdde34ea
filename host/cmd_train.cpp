// vitedit train — trains a ViT classifier from scratch (vitedit::Trainer: full backward, AdamW,
// warm-up + cosine, light augmentation, label smoothing), seeded and resumable. This command
// reads the data, makes the held-out subpopulations, reports progress and writes the files.
#include <atomic>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "chain.hpp"
#include "cli.hpp"
#include "progress.hpp"
#include "vitedit/dataset.hpp"
#include "vitedit/eval/accuracy.hpp"
#include "vitedit/holdout.hpp"
#include "vitedit/model.hpp"
#include "vitedit/predict.hpp"
#include "vitedit/trainer.hpp"
#include "vitedit/vit.hpp"

namespace vitedit::cli {

namespace {

using json = nlohmann::json;

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) {
    g_interrupted = true;
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

std::vector<int> parse_int_list(const std::string& s, const char* flag) {
    std::vector<int> v;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        try {
            size_t used = 0;
            v.push_back(std::stoi(item, &used));
            if (used != item.size()) throw std::invalid_argument(item);
        } catch (const std::exception&) {
            throw UsageError(std::string("--") + flag + ": '" + item + "' is not an integer");
        }
    }
    return v;
}

std::string holdout_manifest_path(const std::string& out) {
    std::string base = out;
    const std::string ext = ".safetensors";
    if (base.size() > ext.size() && base.compare(base.size() - ext.size(), ext.size(), ext) == 0)
        base.resize(base.size() - ext.size());
    return base + ".holdout.json";
}

// Accuracy on a validation set, with and without the held-out subpopulations when known.
json validate(const Vit& vit, const Dataset& val, const Holdout* holdout) {
    const std::vector<int32_t> pred = predict(vit, val).labels;
    const int K = vit.config().num_classes;
    const eval::Accuracy all = eval::score(pred, val.labels, K);
    json j = {{"data", val.spec}, {"n", all.n}, {"accuracy", all.accuracy()}};
    if (holdout && !holdout->empty()) {
        const std::vector<bool> in = holdout->membership(val);
        std::vector<bool> out(in.size());
        for (size_t i = 0; i < in.size(); ++i) out[i] = !in[i];
        const eval::Accuracy h = eval::score(pred, val.labels, K, &in), r = eval::score(pred, val.labels, K, &out);
        j["accuracy_without_holdout"] = r.accuracy();
        j["accuracy_holdout"] = h.accuracy();
        j["n_holdout"] = h.n;
    }
    return j;
}

std::string fmt(double v, int prec = 4) {
    std::ostringstream o;
    o << std::fixed << std::setprecision(prec) << v;
    return o.str();
}

}  // namespace

int cmd_train(const std::vector<std::string>& args) {
    po::options_description desc("options");
    desc.add_options()
        ("data", po::value<std::string>()->required(), "training data: fmnist:train, fmnist:test or an image folder ROOT/<index>[_name]/<image>")
        ("out", po::value<std::string>()->required(), "the trained model (.safetensors, timm names, metadata filled)")
        ("epochs", po::value<int>()->default_value(20), "epochs (the schedule spans all of them)")
        ("batch", po::value<int>()->default_value(128), "batch size")
        ("lr", po::value<double>()->default_value(1e-3), "peak learning rate (AdamW)")
        ("final-lr", po::value<double>()->default_value(1e-5), "learning rate at the end of the cosine schedule")
        ("wd", po::value<double>()->default_value(0.05), "AdamW weight decay (matrices only; not biases, LayerNorm, pos_embed, cls_token)")
        ("warmup-epochs", po::value<double>()->default_value(1.0), "linear warm-up length in epochs")
        ("label-smoothing", po::value<double>()->default_value(0.1), "label smoothing of the cross-entropy")
        ("seed", po::value<uint64_t>()->default_value(0), "seed of initialization, shuffling, augmentation and the held-out clusters")
        ("dim", po::value<int>()->default_value(96), "model width D")
        ("depth", po::value<int>()->default_value(6), "transformer blocks")
        ("heads", po::value<int>()->default_value(3), "attention heads")
        ("mlp", po::value<int>()->default_value(192), "FFN hidden width H")
        ("patch", po::value<int>()->default_value(4), "patch size (must divide the image size)")
        ("shift", po::value<int>()->default_value(2), "augmentation: random shift by up to this many pixels (zero padded); 0 disables")
        ("no-flip", "augmentation: no random horizontal flips")
        ("holdout-classes", po::value<std::string>()->default_value(""), "classes to split into appearance clusters, one cluster each held out of training (e.g. 0,2,6)")
        ("holdout-k", po::value<int>()->default_value(3), "k-means clusters per held-out class")
        ("holdout-policy", po::value<std::string>()->default_value("confusable"), "which cluster to hold out: confusable, smallest, random")
        ("holdout-test", po::value<std::string>(), "test data whose held-out members to record (default: fmnist:test when training on fmnist:train)")
        ("val", po::value<std::string>(), "data to evaluate after every epoch (e.g. fmnist:test)")
        ("checkpoint", po::value<std::string>(), "checkpoint file (default: OUT with .ckpt.safetensors)")
        ("checkpoint-every-epoch", "write the checkpoint after every epoch (it is always written when a run stops early)")
        ("resume", "continue from the checkpoint (same options required); the result equals an uninterrupted run")
        ("max-steps", po::value<int64_t>()->default_value(0), "stop after this many steps in total (0: run every epoch); the schedule still spans --epochs");
    add_backend_option(desc);
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse("train", "--data SPEC --out MODEL.safetensors [options]", desc, args, vm)) return 0;

    const std::string out = vm["out"].as<std::string>();
    const std::string ckpt_path = vm.count("checkpoint") ? vm["checkpoint"].as<std::string>() : companion_path(out, ".ckpt.safetensors");
    TrainOptions opt;
    opt.epochs = vm["epochs"].as<int>();
    opt.batch = vm["batch"].as<int>();
    opt.lr = vm["lr"].as<double>();
    opt.final_lr = vm["final-lr"].as<double>();
    opt.weight_decay = vm["wd"].as<double>();
    opt.warmup_epochs = vm["warmup-epochs"].as<double>();
    opt.label_smoothing = vm["label-smoothing"].as<double>();
    opt.seed = vm["seed"].as<uint64_t>();
    opt.shift = vm["shift"].as<int>();
    opt.flip = !vm.count("no-flip");
    const int64_t epochs = opt.epochs, batch = opt.batch;
    const double lr = opt.lr, final_lr = opt.final_lr, wd = opt.weight_decay, smoothing = opt.label_smoothing;
    const uint64_t seed = opt.seed;
    const int64_t max_steps = vm["max-steps"].as<int64_t>();
    if (epochs < 1) throw UsageError("--epochs must be at least 1");
    if (batch < 1) throw UsageError("--batch must be at least 1");
    if (!(lr > 0) || final_lr < 0 || wd < 0 || opt.warmup_epochs < 0) throw UsageError("--lr must be positive; --final-lr, --wd, --warmup-epochs non-negative");
    if (smoothing < 0 || smoothing >= 1) throw UsageError("--label-smoothing must be in [0, 1)");
    if (opt.shift < 0) throw UsageError("--shift must be non-negative");
    if (max_steps < 0) throw UsageError("--max-steps must be non-negative");

    {
        // Fail (or make the folder) now, not after an hour of training.
        std::error_code ec;
        const auto dir = std::filesystem::path(out).parent_path();
        if (!dir.empty() && !std::filesystem::is_directory(dir) && !std::filesystem::create_directories(dir, ec))
            throw Error("--out: cannot create the folder " + dir.string() + (ec ? " (" + ec.message() + ")" : ""));
    }

    // ---- data ----
    const DataSpec spec = parse_data_spec(vm["data"].as<std::string>());
    std::cerr << "loading " << spec.text << " ...\n";
    Dataset train = load_dataset(spec);
    const bool is_fmnist = spec.kind == DataSpec::Fmnist;

    VitConfig cfg;
    cfg.in_chans = train.images[0].channels;
    cfg.patch = vm["patch"].as<int>();
    cfg.dim = vm["dim"].as<int>();
    cfg.depth = vm["depth"].as<int>();
    cfg.heads = vm["heads"].as<int>();
    cfg.mlp_hidden = vm["mlp"].as<int>();
    cfg.num_classes = train.num_classes();
    cfg.ln_eps = 1e-6f;
    const int img_h = train.images[0].height, img_w = train.images[0].width;
    if (cfg.patch < 1 || img_h % cfg.patch || img_w % cfg.patch)
        throw UsageError("--patch " + std::to_string(cfg.patch) + " does not divide the " + std::to_string(img_w) + "x" +
                         std::to_string(img_h) + " images");
    if (cfg.dim < 1 || cfg.depth < 1 || cfg.heads < 1 || cfg.mlp_hidden < 1 || cfg.dim % cfg.heads)
        throw UsageError("--dim, --depth, --heads, --mlp must be positive and --dim divisible by --heads");
    cfg.grid_h = img_h / cfg.patch;
    cfg.grid_w = img_w / cfg.patch;
    if (is_fmnist) {
        cfg.mean.assign(cfg.in_chans, kFmnistMean);
        cfg.std.assign(cfg.in_chans, kFmnistStd);
        cfg.classes = fmnist_class_names();
    } else {
        // Per-channel statistics of the training images.
        std::vector<double> s(cfg.in_chans, 0), s2(cfg.in_chans, 0);
        double cnt = 0;
        for (const auto& im : train.images) {
            for (size_t i = 0; i < im.pixels.size(); ++i) {
                const int c = cfg.in_chans == im.channels ? static_cast<int>(i % im.channels) : 0;
                const double v = im.pixels[i] / 255.0;
                s[c] += v, s2[c] += v * v;
            }
            cnt += static_cast<double>(im.width) * im.height;
        }
        for (int c = 0; c < cfg.in_chans; ++c) {
            const double m = s[c] / cnt, var = std::max(1e-6, s2[c] / cnt - m * m);
            cfg.mean.push_back(static_cast<float>(m));
            cfg.std.push_back(static_cast<float>(std::sqrt(var)));
        }
        bool named = true;
        for (const auto& n : train.class_names) named = named && !n.empty();
        if (named && static_cast<int>(train.class_names.size()) == cfg.num_classes) cfg.classes = train.class_names;
    }

    // ---- held-out subpopulations ----
    Holdout holdout;
    const std::vector<int> hold_classes = parse_int_list(vm["holdout-classes"].as<std::string>(), "holdout-classes");
    if (!hold_classes.empty()) {
        std::cerr << "held-out subpopulations: k-means (k=" << vm["holdout-k"].as<int>() << ") in classes "
                  << vm["holdout-classes"].as<std::string>() << " ...\n";
        holdout = make_holdout(train, hold_classes, vm["holdout-k"].as<int>(), seed, vm["holdout-policy"].as<std::string>());
        std::string test_spec = vm.count("holdout-test") ? vm["holdout-test"].as<std::string>()
                                : (is_fmnist && spec.split == "train") ? "fmnist:test" : "";
        if (!test_spec.empty()) assign_holdout_test(holdout, load_dataset(test_spec));
        for (const auto& c : holdout.classes) {
            std::ostringstream o;
            o << "  class " << c.label;
            if (c.label < static_cast<int>(cfg.classes.size())) o << " (" << cfg.classes[c.label] << ")";
            o << ": clusters";
            for (auto n : c.cluster_sizes) o << " " << n;
            o << ", holding out cluster " << c.held_cluster << " (" << c.cluster_sizes[c.held_cluster] << " images)";
            std::cerr << o.str() << "\n";
        }
        std::cerr << "  " << holdout.train_indices.size() << " training images held out";
        if (holdout.has_test) std::cerr << "; " << holdout.test_indices.size() << " of " << holdout.test_spec << " belong to the held-out clusters";
        std::cerr << "\n";
    }
    std::vector<size_t> pool;  // indices of the images trained on
    {
        std::vector<bool> held(train.size(), false);
        for (int64_t i : holdout.train_indices) held[static_cast<size_t>(i)] = true;
        for (size_t i = 0; i < train.size(); ++i)
            if (!held[i]) pool.push_back(i);
    }
    if (pool.empty()) throw Error("no training images left after the hold-out");

    // The model input of every training image, computed once (channels, resize, normalization).
    std::vector<std::vector<float>> inputs(train.size());
    for (size_t i : pool) inputs[i] = to_model_input(train.images[i], cfg);

    // Everything that determines the result; a resumed run must match it exactly.
    json hyper = {{"data", spec.text},          {"images", pool.size()},
                  {"epochs", epochs},           {"batch", batch},
                  {"lr", lr},                   {"min_lr", final_lr},
                  {"weight_decay", wd},         {"warmup_epochs", opt.warmup_epochs},
                  {"label_smoothing", smoothing}, {"seed", seed},
                  {"dim", cfg.dim},             {"depth", cfg.depth},
                  {"heads", cfg.heads},         {"mlp", cfg.mlp_hidden},
                  {"patch", cfg.patch},         {"shift", opt.shift},
                  {"flip", opt.flip},           {"holdout_classes", hold_classes},
                  {"holdout_k", vm["holdout-k"].as<int>()}, {"holdout_policy", vm["holdout-policy"].as<std::string>()},
                  {"optimizer", "adamw(0.9,0.999,1e-8)"}, {"schedule", "linear warm-up, cosine"}};

    // ---- model, optimizer state ----
    auto backend = create_backend(vm);
    int64_t step = 0;
    json resume_state;
    TrainCheckpoint ck;
    if (vm.count("resume")) {
        if (!std::filesystem::exists(ckpt_path)) throw Error("--resume: no checkpoint at " + ckpt_path);
        ck = read_train_checkpoint(ckpt_path);
        try {
            resume_state = json::parse(ck.state);
            step = resume_state.at("step").get<int64_t>();
        } catch (const json::exception& e) {
            throw Error(ckpt_path + ": malformed checkpoint state (" + e.what() + ")");
        }
        const json was = resume_state.is_object() && resume_state.contains("hyper") ? resume_state["hyper"] : json::object();
        if (was != hyper) {
            std::string diff;
            for (auto it = hyper.begin(); it != hyper.end(); ++it)
                if (!was.contains(it.key()) || was[it.key()] != it.value())
                    diff += " " + it.key() + " (checkpoint " + (was.contains(it.key()) ? was[it.key()].dump() : "unset") +
                            ", now " + it.value().dump() + ")";
            throw Error("--resume: " + ckpt_path + " was made with other options:" + diff);
        }
        if (resume_state.value("holdout", std::string()) != (holdout.empty() ? std::string() : holdout.to_json()))
            throw Error("--resume: the held-out subpopulations differ from the checkpoint's");
    } else {
        ck.params = init_vit_params(cfg, seed);
    }
    Trainer trainer(backend, cfg, opt, std::move(inputs), train.labels, pool, ck.params);
    const int64_t steps_per_epoch = trainer.steps_per_epoch(), total_steps = trainer.total_steps();
    const int64_t stop_step = max_steps > 0 ? std::min(max_steps, total_steps) : total_steps;
    if (vm.count("resume")) {
        try {
            trainer.resume(step, ck);
        } catch (const Error& e) {
            throw Error(ckpt_path + ": " + e.what());
        }
        std::cerr << "resuming from " << ckpt_path << " at step " << step << " (epoch " << step / steps_per_epoch + 1 << ")\n";
    }
    ck = TrainCheckpoint();
    const Vit& vit = trainer.vit();

    std::cerr << "model: " << cfg.summary() << ", " << trainer.parameter_count() << " parameters; backend " << backend->name() << "\n"
              << "training on " << pool.size() << " images: " << epochs << " epochs x " << steps_per_epoch
              << " steps of " << batch << ", lr " << lr << " (warm-up " << trainer.warmup_steps() << " steps, cosine to " << final_lr
              << "), wd " << wd << ", label smoothing " << smoothing << ", seed " << seed << "\n";

    std::unique_ptr<Dataset> val;
    if (vm.count("val")) val = std::make_unique<Dataset>(load_dataset(vm["val"].as<std::string>()));

    // Running statistics of the current epoch (kept in the checkpoint so a resumed bar continues).
    double epoch_loss = 0;
    int64_t epoch_correct = 0, epoch_seen = 0;
    json last_val, history = json::array();
    double prior_seconds = 0;
    const auto t_start = std::chrono::steady_clock::now();
    auto state_json = [&](int64_t at) {
        return json{{"format", "vitedit.train-checkpoint/1"},
                    {"step", at},
                    {"epoch", at / steps_per_epoch},
                    {"steps_per_epoch", steps_per_epoch},
                    {"total_steps", total_steps},
                    {"rng", {{"generator", "mt19937_64"},
                             {"seeding", "seed_seq(seed_lo, seed_hi, purpose, counter_lo, counter_hi); "
                                         "shuffle: purpose 2, counter = epoch; augmentation: purpose 3, counter = step"},
                             {"seed", seed},
                             {"next_shuffle_epoch", at / steps_per_epoch},
                             {"next_augment_step", at}}},
                    {"running", {{"loss_sum", epoch_loss}, {"correct", epoch_correct}, {"seen", epoch_seen}}},
                    {"history", history},
                    {"seconds", prior_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count()},
                    {"hyper", hyper},
                    {"holdout", holdout.empty() ? std::string() : holdout.to_json()}};
    };
    if (resume_state.is_object()) {
        try {
            if (resume_state.contains("history")) history = resume_state.at("history");
            prior_seconds = resume_state.value("seconds", 0.0);
            if (resume_state.contains("running") && step % steps_per_epoch != 0) {
                const json& r = resume_state.at("running");
                epoch_loss = r.at("loss_sum").get<double>();
                epoch_correct = r.at("correct").get<int64_t>();
                epoch_seen = r.at("seen").get<int64_t>();
            }
        } catch (const json::exception& e) {
            throw Error(ckpt_path + ": malformed checkpoint state (" + e.what() + ")");
        }
    }

    g_interrupted = false;
    auto old_handler = std::signal(SIGINT, on_sigint);
    Progress bar("train", stop_step, step, batch);

    while (step < stop_step) {
        const int64_t epoch = step / steps_per_epoch;
        if (step % steps_per_epoch == 0) epoch_loss = 0, epoch_correct = 0, epoch_seen = 0;
        const TrainStep t = trainer.run_step();
        const float cur_lr = static_cast<float>(t.lr);
        epoch_loss += t.loss_sum;
        epoch_correct += t.correct;
        epoch_seen += t.images;
        ++step;
        if (!std::isfinite(epoch_loss)) throw Error("training diverged at step " + std::to_string(step) + " (loss is not finite); try a lower --lr");
        bar.update(step, {{"loss", epoch_loss / epoch_seen}, {"acc", static_cast<double>(epoch_correct) / epoch_seen}, {"lr", cur_lr}},
                   "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs));

        const bool epoch_end = step % steps_per_epoch == 0;
        if (epoch_end) {
            std::ostringstream line;
            line << "epoch " << epoch + 1 << "/" << epochs << ": train loss " << fmt(epoch_loss / epoch_seen) << " acc "
                 << fmt(static_cast<double>(epoch_correct) / epoch_seen);
            if (val) {
                last_val = validate(vit, *val, holdout.empty() ? nullptr : &holdout);
                line << "; " << val->spec << " acc " << fmt(last_val["accuracy"].get<double>());
                if (last_val.contains("accuracy_without_holdout"))
                    line << " (without held-out " << fmt(last_val["accuracy_without_holdout"].get<double>()) << ", held-out "
                         << fmt(last_val["accuracy_holdout"].get<double>()) << ")";
            }
            json h = {{"epoch", epoch + 1}, {"loss", epoch_loss / epoch_seen},
                      {"accuracy", static_cast<double>(epoch_correct) / epoch_seen}};
            if (!last_val.is_null()) h["validation"] = last_val;
            history.push_back(h);
            bar.message(line.str());
            if (vm.count("checkpoint-every-epoch") && step < stop_step) write_train_checkpoint(ckpt_path, cfg, trainer.checkpoint(state_json(step).dump()));
        }
        if (g_interrupted) break;
    }
    bar.finish();
    std::signal(SIGINT, old_handler);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

    const bool complete = step >= total_steps;
    if (!complete || vm.count("checkpoint-every-epoch")) {
        write_train_checkpoint(ckpt_path, cfg, trainer.checkpoint(state_json(step).dump()));
        std::cerr << "checkpoint: " << ckpt_path << " (step " << step << " of " << total_steps
                  << (complete ? "" : "; continue with the same options plus --resume") << ")\n";
    }
    if (g_interrupted) {
        std::cerr << "interrupted at step " << step << "\n";
        return 130;
    }

    // ---- the model file ----
    json training = {{"tool", "vitedit train"}, {"hyper", hyper}, {"steps", step}, {"total_steps", total_steps},
                     {"complete", complete}, {"backend", backend->name()}, {"seconds_this_run", seconds},
                     {"seconds", prior_seconds + seconds}};
    if (epoch_seen) training["last_epoch_train"] = {{"loss", epoch_loss / epoch_seen}, {"accuracy", static_cast<double>(epoch_correct) / epoch_seen}};
    if (!last_val.is_null()) training["validation"] = last_val;
    training["history"] = history;
    std::map<std::string, std::string> extra = {{"vitedit.training", training.dump()}};
    if (!holdout.empty()) extra["vitedit.holdout"] = holdout.to_json();
    save_model(out, cfg, vit.download_params(), extra);
    std::cerr << "model: " << out << "\n";
    if (!holdout.empty()) {
        json manifest = json::parse(holdout.to_json());
        manifest["model"] = std::filesystem::path(out).filename().string();
        manifest["n_train_indices"] = holdout.train_indices.size();
        if (holdout.has_test) manifest["n_test_indices"] = holdout.test_indices.size();
        if (!cfg.classes.empty())
            for (auto& c : manifest["classes"]) c["name"] = cfg.classes.at(c["label"].get<int>());
        const std::string mpath = holdout_manifest_path(out);
        write_file_atomic(mpath, manifest.dump(1) + "\n");
        std::cerr << "held-out manifest: " << mpath << "\n";
    }
    return 0;
}

}  // namespace vitedit::cli

// vitedit edit — fix a model's mistake on one or a few images: locate, edit, report, write.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include "chain.hpp"
#include "cli.hpp"
#include "training_pool.hpp"
#include "vitedit/dataset.hpp"
#include "vitedit/eval/metrics.hpp"
#include "vitedit/hash.hpp"
#include "vitedit/image_set.hpp"
#include "vitedit/image.hpp"
#include "vitedit/model.hpp"
#include "vitedit/patch.hpp"
#include "vitedit/phase_timer.hpp"
#include "vitedit/plugin_host.hpp"

namespace vitedit::cli {

namespace {

std::string file_hash(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    Sha256 h;
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) h.update(buf, static_cast<size_t>(in.gcount()));
    return h.hex();
}

int parse_label(const std::string& text, const VitConfig& cfg) {
    for (size_t i = 0; i < cfg.classes.size(); ++i)
        if (cfg.classes[i] == text) return static_cast<int>(i);
    try {
        size_t used = 0;
        int v = std::stoi(text, &used);
        if (used == text.size() && v >= 0 && v < cfg.num_classes) return v;
    } catch (const std::exception&) {
    }
    throw UsageError("--label '" + text + "' is neither a class index in 0.." + std::to_string(cfg.num_classes - 1) +
                     (cfg.classes.empty() ? std::string() : " nor a class name of the model"));
}

void check_output_path(const std::string& out, const std::string& input) {
    namespace fs = boost::filesystem;
    boost::system::error_code ec;
    if (fs::weakly_canonical(out, ec) == fs::weakly_canonical(input, ec))
        throw UsageError("refusing to write over the input model " + input + " (choose another --out)");
    fs::path dir = fs::absolute(out).parent_path();
    if (!fs::is_directory(dir, ec)) throw UsageError("output directory " + dir.string() + " does not exist");
}

std::string top1(const std::vector<float>& logits, int i, int K, const VitConfig& cfg) {
    const float* l = &logits[static_cast<size_t>(i) * K];
    int k = static_cast<int>(std::max_element(l, l + K) - l);
    return std::to_string(k) + (k < static_cast<int>(cfg.classes.size()) ? " (" + cfg.classes[k] + ")" : "");
}

}  // namespace

int cmd_edit(const std::vector<std::string>& args) {
    po::options_description desc("options");
    desc.add_options()
        ("model", po::value<std::string>()->required(), "model to edit (.safetensors)")
        ("image", po::value<std::vector<std::string>>()->required()->composing(), "edit image (repeatable)")
        ("label", po::value<std::vector<std::string>>()->required()->composing(),
         "correct label: class index or name; one for all images or one per image")
        ("out", po::value<std::string>(), "write the whole edited model here (.safetensors)")
        ("patch", po::value<std::string>(), "write only the changed neurons + provenance here (.vtp)")
        ("force", "write the output even when the edit did not fix every image")
        ("generalization", po::value<std::string>(), "folder of other failures of the same kind: report GR, their accuracy after the edit")
        ("locality", po::value<std::string>(), "typical locality set folder (<label>/<image>, e.g. a benchmark's locality-typical/): "
                                               "report LR, the share of its predictions the edit leaves unchanged")
        ("locality-sensitive", po::value<std::string>(), "narrow-margin locality set folder (a benchmark's locality-sensitive/): report LR_sensitive")
        ("drawdown", po::value<std::string>(), "data spec (e.g. fmnist:test): report the edit's drawdown, its accuracy before minus after")
        ("guard-locality", po::value<std::string>(), "locality guard: measure LR on this folder (<label>/<image>) after the edit and write "
                                                     "nothing (exit status 4) when it is below --min-lr, even with --force")
        ("min-lr", po::value<double>(), "the guard's threshold, in [0, 1] (default 0.97)")
        ("no-cache", "recompute the frozen blocks below the edit sites at every step (slower; for measurement)")
        ("json", "print one JSON object")
        ("verbose,v", "also print the seconds of each phase (load, hash, prefix, locate, edit, check, write) and the peak RSS");
    add_chain_options(desc);
    add_replay_options(desc);
    add_cache_option(desc);
    add_backend_option(desc);
    add_plugin_options(desc);
    add_model_overrides(desc);
    po::variables_map vm;
    if (!parse("edit", "--model M --image P [--image ...] --label L (--out F.safetensors | --patch F.vtp) [options]", desc,
               args, vm))
        return 0;
    const std::string model_path = vm["model"].as<std::string>();
    if (!vm.count("out") && !vm.count("patch")) throw UsageError("give --out F.safetensors or --patch F.vtp (or both)");
    for (const char* key : {"out", "patch"})
        if (vm.count(key)) check_output_path(vm[key].as<std::string>(), model_path);
    if (vm.count("out") && vm.count("patch")) {
        boost::system::error_code ec;
        if (boost::filesystem::weakly_canonical(vm["out"].as<std::string>(), ec) ==
            boost::filesystem::weakly_canonical(vm["patch"].as<std::string>(), ec))
            throw UsageError("--out and --patch name the same file " + vm["out"].as<std::string>());
    }
    if (vm.count("min-lr") && !vm.count("guard-locality")) throw UsageError("--min-lr needs --guard-locality DIR");
    const double min_lr = vm.count("min-lr") ? vm["min-lr"].as<double>() : 0.97;
    if (!(min_lr >= 0 && min_lr <= 1)) throw UsageError("--min-lr " + std::to_string(min_lr) + " is not in [0, 1]");
    const bool json = vm.count("json") > 0;
    PhaseTimer phases;
    phases.begin("load");  // the model mapped, the images decoded, then (below) plugins, backend, upload

    const ModelFile model = load_model(model_path, model_overrides(vm));
    const VitConfig& cfg = model.config;
    const auto paths = vm["image"].as<std::vector<std::string>>();
    const auto label_texts = vm["label"].as<std::vector<std::string>>();
    if (label_texts.size() != 1 && label_texts.size() != paths.size())
        throw UsageError(std::to_string(label_texts.size()) + " labels for " + std::to_string(paths.size()) +
                         " images: give one label for all or one per image");
    std::vector<int32_t> labels;
    std::vector<float> chw;
    for (size_t i = 0; i < paths.size(); ++i) {
        labels.push_back(parse_label(label_texts.size() == 1 ? label_texts[0] : label_texts[i], cfg));
        auto x = to_model_input(load_image(paths[i]), cfg);
        chw.insert(chw.end(), x.begin(), x.end());
    }
    const Chain chain = read_chain(vm);
    const auto blocks = chain.edit_blocks.empty() ? default_edit_blocks(cfg.depth) : chain.edit_blocks;
    const std::vector<EditSite> sites = ffn_sites(cfg, blocks);
    std::vector<std::string> site_names;
    for (const auto& s : sites) site_names.push_back(s.name);
    // One pass over the model: its id (the plugins' checkpoint check, the patch's base hash and
    // provenance), keeping the state before the first site so that the edited model's hash
    // rehashes only from there on. On a thread of its own, beside the plugins' loading and the
    // upload (all of them only read the model); the session is the first to need it.
    auto hashing = std::async(std::launch::async, [&] {
        const auto t0 = std::chrono::steady_clock::now();
        TensorsHasher h(model.tensors, site_names);
        return std::make_pair(std::move(h), std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    });
    Registry& reg = registry(vm);
    LocatorInstance locator(reg, chain.locator);
    EditorInstance editor(reg, chain.editor);
    auto backend = create_backend(vm);
    Vit vit(backend, cfg, model.tensors);
    const auto hashed = hashing.get();  // (a wait counts as load)
    const TensorsHasher& hasher = hashed.first;
    phases.add("hash", hashed.second);  // its own seconds, spent beside load's
    const std::string& model_id = hasher.hash();
    phases.begin("prefix");  // the frozen blocks once, and the predictions before the edit (proof sets too)
    const ReplayChoice replay = replay_choice(vm, model, locator.seed());
    EditSession session(vit, sites, vit.upload_images(chw, static_cast<int64_t>(paths.size())), labels, locator.seed(),
                        model_id, vm.count("no-cache") == 0, model_path,
                        {replay.images.n ? vit.upload_images(replay.images.chw, replay.images.n) : Tensor(), replay.weight});

    const int K = cfg.num_classes, N = static_cast<int>(paths.size());
    const ve_edit_eval before = session.initial_eval();
    const std::vector<float> logits_before = session.initial_logits();
    if (!json) {
        std::cerr << "model: " << cfg.summary() << ", backend " << backend->name() << "\n"
                  << "chain: locator " << chain.locator.name << (chain.locator.config().empty() ? "" : ":" + chain.locator.config())
                  << ", editor " << chain.editor.name << (chain.editor.config().empty() ? "" : ":" + chain.editor.config())
                  << ", sites: fc1/fc2 of blocks";
        for (int b : blocks) std::cerr << " " << b;
        std::cerr << "\n";
        if (replay.weight > 0) std::cerr << "replay anchor: " << replay.note << ", weight " << replay.weight << "\n";
    }
    // Proof sets (optional): predictions before the edit, with the frozen prefix cached (the sites
    // are FFN matrices: the lowest edit block's attention half is frozen too).
    const int lowest = *std::min_element(blocks.begin(), blocks.end());
    std::unique_ptr<ImageSet> gen_set, loc_set;
    std::vector<int32_t> loc_before;
    int64_t gen_n = 0;
    if (vm.count("generalization")) {
        namespace fs = boost::filesystem;
        std::vector<float> g;
        std::vector<std::string> files;
        for (fs::directory_iterator it(vm["generalization"].as<std::string>()), end; it != end; ++it)
            if (fs::is_regular_file(it->path())) files.push_back(it->path().string());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            bool is_edit_image = false;
            for (const auto& p : paths) is_edit_image = is_edit_image || fs::equivalent(f, p);
            if (is_edit_image) continue;
            auto x = to_model_input(load_image(f), cfg);
            g.insert(g.end(), x.begin(), x.end());
            ++gen_n;
        }
        if (gen_n > 0) {
            gen_set = std::make_unique<ImageSet>(vit, g, gen_n, lowest, 128, cache_budget_bytes(vm), ImageSet::Frozen::below_mlp_of_from);
            report_cache("generalization images", gen_set->cached_images(), gen_n, vm);
        }
    }
    // A locality set: the images with the frozen prefix cached, and their predictions before.
    std::unique_ptr<ImageSet> sens_set, draw_set;
    std::vector<int32_t> sens_before, draw_before, draw_labels;
    // A set of images with the frozen prefix cached, and its predictions before the edit.
    auto make_set = [&](const Dataset& d, const std::string& what, std::unique_ptr<ImageSet>& set, std::vector<int32_t>& before) {
        std::vector<float> l;
        for (const auto& img : d.images) {
            auto x = to_model_input(img, cfg);
            l.insert(l.end(), x.begin(), x.end());
        }
        // --cache-mb is one budget for every cached set: what the sets made before took is spent.
        int64_t budget = cache_budget_bytes(vm);
        for (const ImageSet* other : {gen_set.get(), loc_set.get(), sens_set.get(), draw_set.get()})
            if (budget >= 0 && other) budget = std::max<int64_t>(0, budget - other->cached_bytes());
        set = std::make_unique<ImageSet>(vit, l, static_cast<int64_t>(d.size()), lowest, 128, budget, ImageSet::Frozen::below_mlp_of_from);
        report_cache(what, set->cached_images(), set->size(), vm);
        before = set->predict();
    };
    auto load_locality = [&](const std::string& dir, std::unique_ptr<ImageSet>& set, std::vector<int32_t>& before) {
        make_set(load_image_folder(dir), "locality images of " + dir, set, before);
    };
    auto locality_rate = [](ImageSet& set, const std::vector<int32_t>& before) { return eval::locality_rate(set.predict(), before); };
    if (vm.count("locality")) load_locality(vm["locality"].as<std::string>(), loc_set, loc_before);
    if (vm.count("locality-sensitive")) load_locality(vm["locality-sensitive"].as<std::string>(), sens_set, sens_before);
    if (vm.count("drawdown")) {
        const Dataset d = load_dataset(vm["drawdown"].as<std::string>());
        draw_labels = d.labels;
        make_set(d, "drawdown images of " + d.spec, draw_set, draw_before);
    }
    std::unique_ptr<ImageSet> guard_set;
    std::vector<int32_t> guard_before;
    std::string guard_dir;
    if (vm.count("guard-locality")) {
        guard_dir = vm["guard-locality"].as<std::string>();
        namespace fs = boost::filesystem;
        boost::system::error_code ec;
        const bool same = loc_set && fs::equivalent(guard_dir, vm["locality"].as<std::string>(), ec);
        if (!same) load_locality(guard_dir, guard_set, guard_before);
    }

    phases.end();

    const EditOutcome r = run_edit(session, locator, editor);
    phases.add("locate", r.locate_s);
    phases.add("edit", r.edit_s);
    phases.add("check", r.time_s - r.locate_s - r.edit_s);  // nothing written outside the masks
    phases.begin("check");
    double gr = -1, lr = -1, lr_sens = -1, guard_lr = -1, acc_before = -1, acc_after = -1;
    if (gen_set) gr = eval::generalization_rate(gen_set->predict(), labels[0]);
    if (loc_set) lr = locality_rate(*loc_set, loc_before);
    if (sens_set) lr_sens = locality_rate(*sens_set, sens_before);
    if (draw_set) acc_before = eval::accuracy(draw_before, draw_labels), acc_after = eval::accuracy(draw_set->predict(), draw_labels);
    if (!guard_dir.empty()) guard_lr = guard_set ? locality_rate(*guard_set, guard_before) : lr;
    const bool guard_refused = guard_lr >= 0 && guard_lr < min_lr;
    const ve_edit_eval after = session.evaluate(false);
    const std::vector<float> logits_after = session.last_logits();
    phases.end();

    size_t kept = 0, total = 0;
    for (const auto& m : r.mask)
        for (float v : m) kept += v > 0, ++total;

    const bool write = (r.success || vm.count("force")) && !guard_refused;
    std::map<std::string, std::string> provenance = {
        {"locator", chain.locator.name + (chain.locator.config().empty() ? "" : ":" + chain.locator.config())},
        {"editor", chain.editor.name + (chain.editor.config().empty() ? "" : ":" + chain.editor.config())},
        {"budget", std::to_string(static_cast<double>(kept) / total)},
        {"steps", std::to_string(r.steps)},
        {"success", r.success ? "true" : "false"},
        {"labels", [&] { std::string s; for (int l : labels) s += (s.empty() ? "" : ",") + std::to_string(l); return s; }()},
        {"images", [&] { std::string s; for (const auto& p : paths) s += (s.empty() ? "" : ",") + file_hash(p); return s; }()},
        {"base_model", model_id}};
    if (guard_lr >= 0) provenance["guard_lr"] = std::to_string(guard_lr);
    if (replay.weight > 0) provenance["replay"] = std::to_string(replay.images.n) + " images of " +
                                                 vm["replay-data"].as<std::string>() + ", weight " + std::to_string(replay.weight);
    if (write) {
        // Only the sites can have changed (the session checked it): those come from the backend,
        // one at a time (a ViT-B/16's six are 57 MB), for the hash and again for the patch.
        auto site = [&](const std::string& name) { return vit.download_params({name}).at(name); };
        const std::string edited_id = phases.time("hash", [&] {
            return hasher.rehash(model.tensors, [&](const std::string& name, const HostTensor& t) {
                return std::count(site_names.begin(), site_names.end(), name) ? site(name) : t;
            });
        });
        phases.begin("write");
        const Patch patch = make_patch(model.tensors, model_id, site, edited_id, sites, provenance);
        if (vm.count("patch")) save_patch(vm["patch"].as<std::string>(), patch);
        if (vm.count("out")) {
            std::map<std::string, std::string> meta = model.metadata;
            for (const auto& [k, v] : provenance) meta["vitedit.edit." + k] = v;
            std::map<std::string, HostTensor> whole = model.tensors;  // shares the unchanged values
            for (auto& [name, t] : vit.download_params(site_names)) whole[name] = std::move(t);
            try {
                save_model(vm["out"].as<std::string>(), cfg, whole, meta);
            } catch (...) {  // both outputs or neither
                if (vm.count("patch")) std::remove(vm["patch"].as<std::string>().c_str());
                throw;
            }
        }
        phases.end();
    }
    if (guard_refused) {
        std::ostringstream o;
        o << std::setprecision(4) << "locality guard: LR " << guard_lr << " on " << guard_dir << " is below --min-lr "
          << min_lr << " (missed by " << (min_lr - guard_lr) << "); the edit was not written";
        std::cerr << o.str() << "\n";
    }

    if (json) {
        nlohmann::json mask = nlohmann::json::object();
        for (size_t s = 0; s < r.mask.size(); ++s) {
            std::vector<int64_t> idx;
            for (size_t u = 0; u < r.mask[s].size(); ++u)
                if (r.mask[s][u] > 0) idx.push_back(static_cast<int64_t>(u));
            std::string site = session.sites()[s].name;
            mask[site.substr(0, site.size() - std::string(".weight").size())] = idx;
        }
        nlohmann::json j = {{"success", r.success}, {"steps", r.steps}, {"loss", r.loss}, {"time_s", r.time_s},
                            {"step_s", r.step_s}, {"locate_s", r.locate_s}, {"budget", static_cast<double>(kept) / total},
                            {"correct_before", before.num_correct}, {"correct_after", after.num_correct},
                            {"written", write}, {"mask", mask}, {"peak_rss_mb", peak_rss_mb()},
                            {"phases", phases_json(phases)}};
        j["SR"] = static_cast<double>(after.num_correct) / N;
        if (gr >= 0) j["GR"] = gr;
        if (lr >= 0) j["LR"] = lr;
        if (lr_sens >= 0) j["LR_sensitive"] = lr_sens;
        if (acc_before >= 0) j["drawdown"] = {{"data", vm["drawdown"].as<std::string>()}, {"accuracy_before", acc_before},
                                              {"accuracy_after", acc_after}, {"drawdown", acc_before - acc_after}};
        if (guard_lr >= 0) j["guard"] = {{"dir", guard_dir}, {"LR", guard_lr}, {"min_lr", min_lr}, {"passed", !guard_refused}};
        std::cout << j.dump() << "\n";
    } else {
        for (int i = 0; i < N; ++i)
            std::cout << paths[i] << ": label " << labels[i] << ", predicted " << top1(logits_before, i, K, cfg) << " -> "
                      << top1(logits_after, i, K, cfg) << "\n";
        std::cout << (r.success ? "edit succeeded" : "edit did NOT fix every image") << ": " << r.steps << " steps, loss "
                  << std::setprecision(4) << r.loss << ", " << kept << "/" << total << " neurons ("
                  << std::setprecision(3) << 100.0 * kept / total << "%), locate " << std::setprecision(3) << r.locate_s
                  << " s, edit " << r.edit_s << " s (" << r.step_s * 1e3 << " ms/step)\n";
        std::cout << "SR " << std::setprecision(3) << static_cast<double>(after.num_correct) / N << " (edit images fixed)";
        if (gr >= 0) std::cout << ", GR " << gr << " (share of " << gen_n << " similar failures now right)";
        if (lr >= 0) std::cout << ", LR " << lr << " (share of " << loc_before.size() << " unrelated predictions unchanged)";
        if (lr_sens >= 0) std::cout << ", LR_sensitive " << lr_sens << " (of " << sens_before.size() << " narrow-margin ones)";
        std::cout << "\n";
        if (acc_before >= 0)
            std::cout << "drawdown " << std::setprecision(4) << acc_before - acc_after << " on " << vm["drawdown"].as<std::string>()
                      << " (accuracy " << acc_before << " -> " << acc_after << ")\n";
        if (vm.count("verbose")) print_phases(std::cout, phases);
        if (guard_lr >= 0 && !guard_refused)
            std::cout << "locality guard: LR " << std::setprecision(4) << guard_lr << " on " << guard_dir << " >= --min-lr " << min_lr << "\n";
        if (write) {
            if (vm.count("out")) std::cout << "wrote " << vm["out"].as<std::string>() << "\n";
            if (vm.count("patch")) std::cout << "wrote " << vm["patch"].as<std::string>() << "\n";
        } else if (!guard_refused) {
            std::cout << "nothing written (use --force to write a failed edit)\n";
        }
    }
    if (guard_refused) return 4;
    return r.success ? 0 : 3;
}

}  // namespace vitedit::cli

// vitedit bench — the editing benchmark protocol (DESIGN.md §3.1): for every failure group, each
// failure in turn is the edit image; the edited model is scored on that image (SR), on the rest
// of its group (GR) and on the locality set (LR); every edit starts from the original model.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include "bench_summary.hpp"
#include "chain.hpp"
#include "cli.hpp"
#include "mpi_world.hpp"
#include "progress.hpp"
#include "svg_plot.hpp"
#include "vitedit/dataset.hpp"
#include "vitedit/hash.hpp"
#include "vitedit/image_set.hpp"
#include "vitedit/model.hpp"
#include "vitedit/plugin_host.hpp"
#include "vitedit/safetensors.hpp"

namespace vitedit::cli {

namespace {

namespace fs = boost::filesystem;

struct Group {
    std::string name;
    int label = 0;
    std::vector<float> chw;  // its images, model input
    int64_t n = 0;
};

std::vector<Group> load_groups(const std::string& root, const VitConfig& cfg) {
    if (!fs::is_directory(root)) throw Error(root + ": not a directory of failure groups");
    std::vector<fs::path> dirs;
    for (fs::directory_iterator it(root), end; it != end; ++it)
        if (fs::is_directory(it->path())) dirs.push_back(it->path());
    std::sort(dirs.begin(), dirs.end());
    std::vector<Group> groups;
    for (const auto& d : dirs) {
        Group g;
        g.name = d.filename().string();
        std::string cls;
        if (!parse_class_folder(g.name, &g.label, &cls))
            throw Error(d.string() + ": a group folder's name must start with its label (e.g. 6_shirt_heldout)");
        if (g.label >= cfg.num_classes) throw Error(d.string() + ": label " + std::to_string(g.label) + " is out of range");
        std::vector<std::string> files;
        for (fs::directory_iterator it(d), end; it != end; ++it)
            if (fs::is_regular_file(it->path()) && it->path().filename().string()[0] != '.') files.push_back(it->path().string());
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            auto x = to_model_input(load_image(f), cfg);
            g.chw.insert(g.chw.end(), x.begin(), x.end());
            ++g.n;
        }
        if (g.n >= 1) groups.push_back(std::move(g));
    }
    if (groups.empty()) throw Error(root + ": no failure groups found");
    return groups;
}

struct SweepAxis {
    std::string target;  // "locator" or "editor"
    std::string key;
    std::vector<std::string> values;
};

SweepAxis parse_sweep(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--sweep '" + text + "': expected key=v1,v2,...");
    SweepAxis a;
    std::string key = text.substr(0, eq);
    if (key.rfind("locator.", 0) == 0) a.target = "locator", a.key = key.substr(8);
    else if (key.rfind("editor.", 0) == 0) a.target = "editor", a.key = key.substr(7);
    else if (key == "sparsity" || key == "seed") a.target = "locator", a.key = key;
    else a.target = "editor", a.key = key;  // lr, steps, c, ...
    std::stringstream ss(text.substr(eq + 1));
    std::string v;
    while (std::getline(ss, v, ','))
        if (!v.empty()) a.values.push_back(v);
    if (a.values.empty()) throw UsageError("--sweep '" + text + "': no values");
    return a;
}

struct Tally {
    double sr = 0, gr = 0, lr = 0, time = 0, steps = 0;
    int edits = 0, gr_edits = 0;
    void add(double s, double g, bool has_g, double l, double t, int st) {
        sr += s, lr += l, time += t, steps += st, ++edits;
        if (has_g) gr += g, ++gr_edits;
    }
    nlohmann::json json() const {
        return {{"SR", edits ? sr / edits : 0}, {"GR", gr_edits ? gr / gr_edits : 0}, {"LR", edits ? lr / edits : 0},
                {"edits", edits}, {"time_s", edits ? time / edits : 0}, {"steps", edits ? steps / edits : 0}};
    }
};

// The score of one edit (one job of the benchmark).
struct EditScore {
    double sr = 0, gr = 0, lr = 0, time_s = 0;
    bool has_gr = false;
    int steps = 0;
};

// Scores travel between ranks as JSON: [[job, SR, GR, has GR, LR, s, steps], ...]. Doubles
// round-trip exactly, so rank 0 sums the same numbers a single process would.
std::string encode_scores(const std::vector<std::pair<size_t, EditScore>>& scores) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& [job, s] : scores) j.push_back({job, s.sr, s.gr, s.has_gr, s.lr, s.time_s, s.steps});
    return j.dump();
}
void decode_scores(const std::string& text, std::vector<EditScore>& into) {
    for (const auto& e : nlohmann::json::parse(text)) {
        const size_t job = e[0].get<size_t>();
        if (job >= into.size()) throw Error("bench: a rank returned the result of job " + std::to_string(job) + " of " +
                                            std::to_string(into.size()));
        into[job] = EditScore{e[1].get<double>(), e[2].get<double>(), e[4].get<double>(), e[5].get<double>(),
                              e[3].get<bool>(), e[6].get<int>()};
    }
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
    po::options_description desc("options");
    desc.add_options()
        ("model", po::value<std::string>()->required(), "model (.safetensors)")
        ("bench", po::value<std::string>(), "benchmark folder written by `vitedit bench-data` (groups/ and locality/)")
        ("groups", po::value<std::string>(), "failure groups folder: <label>_<name>/<image>")
        ("locality", po::value<std::string>(), "locality set folder: <label>/<image>")
        ("locator", po::value<std::vector<std::string>>()->composing(),
         "locator NAME[:key=val,...]; repeat to compare several (default: the default chain's)")
        ("editor", po::value<std::string>(), "editor NAME[:key=val,...] (default rmsprop)")
        ("edit-blocks", po::value<std::string>(), "edit sites' blocks, e.g. 7,8,9")
        ("sweep", po::value<std::string>(), "sweep one option: sparsity=0.02,0.05,0.1 (locator), lr=... or c=... (editor), "
                                            "or locator.KEY= / editor.KEY=")
        ("group", po::value<std::vector<std::string>>()->composing(), "only this group (folder name; repeatable)")
        ("max-edits-per-group", po::value<int>()->default_value(0), "edit at most N images per group (seeded choice; 0 = all)")
        ("seed", po::value<uint64_t>()->default_value(0), "seed for the choice of edit images and for locators")
        ("json", po::value<std::string>(), "write the results as JSON here")
        ("plot", po::value<std::string>(), "write a GR-vs-LR plot (SVG) here")
        ("min-lr", po::value<double>()->default_value(Floors{}.min_lr), "locality floor of the per-locator 'best GR' summary")
        ("min-sr", po::value<double>()->default_value(Floors{}.min_sr), "success floor of the per-locator 'best GR' summary");
    add_cache_option(desc);
    add_backend_option(desc);
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse("bench", "--model M (--bench DIR | --groups DIR --locality DIR) [--locator ..] [--editor ..] [--sweep k=v,..]",
               desc, args, vm))
        return 0;
    std::string groups_dir, locality_dir;
    if (vm.count("bench")) {
        groups_dir = (fs::path(vm["bench"].as<std::string>()) / "groups").string();
        locality_dir = (fs::path(vm["bench"].as<std::string>()) / "locality").string();
    }
    if (vm.count("groups")) groups_dir = vm["groups"].as<std::string>();
    if (vm.count("locality")) locality_dir = vm["locality"].as<std::string>();
    if (groups_dir.empty() || locality_dir.empty()) throw UsageError("give --bench DIR, or --groups DIR and --locality DIR");

    PhaseTimer phases;  // load, hash, prefix: the JSON document's "phases"
    const ModelFile model = phases.time("load", [&] { return load_model(vm["model"].as<std::string>()); });
    const VitConfig& cfg = model.config;
    std::vector<PluginSpec> locators;
    if (vm.count("locator"))
        for (const auto& l : vm["locator"].as<std::vector<std::string>>()) locators.push_back(parse_plugin_spec(l, "--locator"));
    else
        locators.push_back(parse_plugin_spec(default_locator(vm["model"].as<std::string>()), "default locator"));
    const PluginSpec editor_spec = parse_plugin_spec(vm.count("editor") ? vm["editor"].as<std::string>() : kDefaultEditor, "--editor");
    const std::vector<int> blocks = vm.count("edit-blocks") ? parse_blocks(vm["edit-blocks"].as<std::string>()) : default_edit_blocks(cfg.depth);
    SweepAxis sweep;
    if (vm.count("sweep")) sweep = parse_sweep(vm["sweep"].as<std::string>());
    const uint64_t seed = vm["seed"].as<uint64_t>();
    const int max_edits = vm["max-edits-per-group"].as<int>();
    for (const char* key : {"json", "plot"})
        if (vm.count(key) && !fs::is_directory(fs::absolute(vm[key].as<std::string>()).parent_path()))
            throw UsageError(std::string("--") + key + ": the output directory does not exist");

    // Every plugin of the chain is created (and its options checked) before any work.
    Registry& reg = registry(vm);
    struct Run { PluginSpec locator, editor; std::string param; double sparsity = 0; };
    std::vector<Run> runs;
    for (const auto& l : locators) {
        const size_t points = sweep.values.empty() ? 1 : sweep.values.size();
        for (size_t i = 0; i < points; ++i) {
            Run r{l, editor_spec, "", 0.0};
            if (!sweep.values.empty()) {
                (sweep.target == "locator" ? r.locator : r.editor).options[sweep.key] = sweep.values[i];
                r.param = sweep.values[i];
            }
            if (!r.locator.options.count("seed")) r.locator.options["seed"] = std::to_string(seed);
            LocatorInstance check_l(reg, r.locator);
            EditorInstance check_e(reg, r.editor);
            r.sparsity = check_l.sparsity();
            runs.push_back(r);
        }
    }

    std::vector<Group> groups = load_groups(groups_dir, cfg);
    if (vm.count("group")) {
        const auto wanted = vm["group"].as<std::vector<std::string>>();
        for (const auto& w : wanted)
            if (std::none_of(groups.begin(), groups.end(), [&](const Group& g) { return g.name == w; }))
                throw UsageError("--group " + w + ": no such group in " + groups_dir);
        groups.erase(std::remove_if(groups.begin(), groups.end(), [&](const Group& g) {
                         return std::find(wanted.begin(), wanted.end(), g.name) == wanted.end();
                     }), groups.end());
    }
    const Dataset locality = load_image_folder(locality_dir);
    std::vector<float> loc_chw;
    for (const auto& img : locality.images) {
        auto x = to_model_input(img, cfg);
        loc_chw.insert(loc_chw.end(), x.begin(), x.end());
    }

    World& world = World::get();
    auto backend = create_rank_backend(reg, vm["backend"].as<std::string>(), backend_config(vm));
    check_precision(vm, *backend);
    Vit vit(backend, cfg, model.tensors);
    const auto sites = ffn_sites(cfg, blocks);
    const int lowest = *std::min_element(blocks.begin(), blocks.end());
    const std::string model_id = phases.time("hash", [&] { return tensors_hash(model.tensors); });
    // One budget for the locality set and every group's set, in that order.
    int64_t budget = cache_budget_bytes(vm), cached = 0, total_images = 0;
    auto left = [&](const ImageSet& s) {
        cached += s.cached_images();
        total_images += s.size();
        if (budget >= 0) budget = std::max<int64_t>(0, budget - s.cached_bytes());
    };
    phases.begin("prefix");  // every image set's frozen prefix, until the first edit
    ImageSet loc_set(vit, loc_chw, static_cast<int64_t>(locality.size()), lowest, 128, budget);
    left(loc_set);
    const std::vector<int32_t> loc_base = loc_set.predict();
    std::vector<ImageSet> group_sets;
    std::vector<std::vector<int64_t>> edit_images;
    std::mt19937_64 rng(seed);
    size_t total_edits = 0;
    for (const auto& g : groups) {
        group_sets.emplace_back(vit, g.chw, g.n, lowest, 128, budget);
        left(group_sets.back());
        std::vector<int64_t> idx(static_cast<size_t>(g.n));
        std::iota(idx.begin(), idx.end(), 0);
        if (max_edits > 0 && static_cast<int64_t>(idx.size()) > max_edits) {
            std::shuffle(idx.begin(), idx.end(), rng);
            idx.resize(static_cast<size_t>(max_edits));
            std::sort(idx.begin(), idx.end());
        }
        total_edits += idx.size();
        edit_images.push_back(idx);
    }
    phases.end();
    if (world.root()) report_cache("evaluation images", cached, total_images, vm);
    if (world.root())
        std::cerr << "bench: " << groups.size() << " groups, " << total_edits << " edits per run, " << runs.size()
                  << " runs, locality set " << locality.size() << " images, backend " << backend->name()
                  << (world.size() > 1 ? ", shared by " + std::to_string(world.size()) + " MPI ranks" : std::string()) << "\n";

    // The jobs — every (run, group, edit image) — in one fixed order. Each is a pure function of
    // its inputs (every edit starts from the original model, the locator's seed is the run's), so
    // rank r runs the jobs j with j % N == r and rank 0 adds the gathered scores up in job order:
    // the same numbers for any N.
    struct Job { size_t run, group; int64_t image; };
    std::vector<Job> jobs;
    for (size_t ri = 0; ri < runs.size(); ++ri)
        for (size_t gi = 0; gi < groups.size(); ++gi)
            for (int64_t e : edit_images[gi]) jobs.push_back({ri, gi, e});
    std::vector<std::unique_ptr<LocatorInstance>> locators_of(runs.size());
    std::vector<std::unique_ptr<EditorInstance>> editors_of(runs.size());

    const int64_t per = static_cast<int64_t>(cfg.in_chans) * cfg.image_h() * cfg.image_w();
    const size_t stride = static_cast<size_t>(world.size());
    Progress progress(world.size() > 1 ? "bench (rank 0 of " + std::to_string(world.size()) + ")" : "bench",
                      static_cast<int64_t>((jobs.size() + stride - 1) / stride));
    int64_t done = 0;
    Tally mine;
    std::vector<std::pair<size_t, EditScore>> my_scores;
    for (size_t j = static_cast<size_t>(world.rank()); j < jobs.size(); j += stride) {
        const Job& job = jobs[j];
        const Run& run = runs[job.run];
        if (!locators_of[job.run]) {
            locators_of[job.run] = std::make_unique<LocatorInstance>(reg, run.locator);
            editors_of[job.run] = std::make_unique<EditorInstance>(reg, run.editor);
        }
        LocatorInstance& locator = *locators_of[job.run];
        const Group& g = groups[job.group];
        const int64_t e = job.image;
        std::vector<float> x(g.chw.begin() + e * per, g.chw.begin() + (e + 1) * per);
        EditSession session(vit, sites, vit.upload_images(x, 1), {g.label}, locator.seed(), model_id, true,
                            vm["model"].as<std::string>());
        const EditOutcome r = run_edit(session, locator, *editors_of[job.run]);
        const std::vector<int32_t> gp = group_sets[job.group].predict(), lp = loc_set.predict();
        session.restore();
        int gr_hits = 0;
        for (int64_t i = 0; i < g.n; ++i) gr_hits += i != e && gp[i] == g.label;
        int same = 0;
        for (size_t i = 0; i < lp.size(); ++i) same += lp[i] == loc_base[i];
        EditScore sc;
        sc.gr = g.n > 1 ? static_cast<double>(gr_hits) / (g.n - 1) : 0;
        sc.has_gr = g.n > 1;
        sc.lr = lp.empty() ? 1.0 : static_cast<double>(same) / lp.size();
        sc.sr = gp[e] == g.label ? 1.0 : 0.0;
        sc.time_s = r.time_s;
        sc.steps = r.steps;
        my_scores.emplace_back(j, sc);
        mine.add(sc.sr, sc.gr, sc.has_gr, sc.lr, sc.time_s, sc.steps);
        ++done;
        const nlohmann::json cur = mine.json();
        progress.update(done, {{"SR", cur["SR"]}, {"GR", cur["GR"]}, {"LR", cur["LR"]}},
                        run.locator.name + (run.param.empty() ? "" : " " + sweep.key + "=" + run.param));
    }
    progress.finish();

    const std::vector<std::string> gathered = world.gather(encode_scores(my_scores));
    if (!world.root()) return 0;
    std::vector<EditScore> scores(jobs.size());
    for (const auto& text : gathered) decode_scores(text, scores);

    nlohmann::json out_runs = nlohmann::json::array();
    size_t next = 0;  // the job index, in the order the jobs were made
    for (size_t ri = 0; ri < runs.size(); ++ri) {
        const Run& run = runs[ri];
        Tally all;
        nlohmann::json per_group = nlohmann::json::object();
        for (size_t gi = 0; gi < groups.size(); ++gi) {
            Tally tg;
            for (size_t k = 0; k < edit_images[gi].size(); ++k, ++next) {
                const EditScore& sc = scores[next];
                tg.add(sc.sr, sc.gr, sc.has_gr, sc.lr, sc.time_s, sc.steps);
                all.add(sc.sr, sc.gr, sc.has_gr, sc.lr, sc.time_s, sc.steps);
            }
            per_group[groups[gi].name] = tg.json();
        }
        nlohmann::json j = all.json();
        j["locator"] = run.locator.name;
        j["editor"] = run.editor.name;
        nlohmann::json params = nlohmann::json::object();
        for (const auto& [k, v] : run.locator.options) params["locator." + k] = v;
        for (const auto& [k, v] : run.editor.options) params["editor." + k] = v;
        params["locator.sparsity"] = std::to_string(run.sparsity);  // the budget in effect, default or not
        j["params"] = params;
        if (!run.param.empty()) j["sweep"] = {{"key", sweep.key}, {"value", run.param}};
        j["groups"] = per_group;
        out_runs.push_back(j);
    }

    // Table.
    std::cout << std::left << std::setw(12) << "locator" << std::setw(10) << "editor" << std::setw(14)
              << (sweep.values.empty() ? "" : sweep.key) << std::right << std::setw(7) << "SR" << std::setw(7) << "GR"
              << std::setw(7) << "LR" << std::setw(7) << "edits" << std::setw(9) << "s/edit" << std::setw(7) << "steps" << "\n";
    std::cout << std::fixed;
    for (const auto& j : out_runs) {
        std::cout << std::left << std::setw(12) << j["locator"].get<std::string>() << std::setw(10) << j["editor"].get<std::string>()
                  << std::setw(14) << (j.contains("sweep") ? j["sweep"]["value"].get<std::string>() : "") << std::right
                  << std::setprecision(3) << std::setw(7) << j["SR"].get<double>() << std::setw(7) << j["GR"].get<double>()
                  << std::setw(7) << j["LR"].get<double>() << std::setw(7) << j["edits"].get<int>() << std::setw(9)
                  << std::setprecision(2) << j["time_s"].get<double>() << std::setw(7) << std::setprecision(1)
                  << j["steps"].get<double>() << "\n";
    }
    const nlohmann::json best = best_under_floors(out_runs, Floors{vm["min-lr"].as<double>(), vm["min-sr"].as<double>()});
    print_best(std::cout, best);
    if (vm.count("json")) {
        nlohmann::json doc = {{"model", vm["model"].as<std::string>()}, {"model_hash", model_id}, {"seed", seed},
                              {"groups", groups.size()}, {"locality", locality.size()}, {"runs", out_runs}, {"best", best},
                              {"cached_images", cached}, {"evaluation_images", total_images}, {"peak_rss_mb", peak_rss_mb()},
                              {"phases", phases_json(phases)}};
        write_file_atomic(vm["json"].as<std::string>(), doc.dump(2) + "\n");
    }
    if (vm.count("plot")) {
        std::vector<Series> series;
        for (const auto& j : out_runs) {
            const std::string name = j["locator"].get<std::string>();
            if (series.empty() || series.back().name != name) series.push_back(Series{name, {}, {}, {}});
            series.back().x.push_back(j["LR"].get<double>());
            series.back().y.push_back(j["GR"].get<double>());
            series.back().labels.push_back(j.contains("sweep") ? j["sweep"]["value"].get<std::string>() : "");
        }
        write_file_atomic(vm["plot"].as<std::string>(),
                          svg_line_plot("generalization vs locality (" + editor_spec.name + ")", "LR (locality rate)",
                                        "GR (generalization rate)", series));
    }
    return 0;
}

}  // namespace vitedit::cli

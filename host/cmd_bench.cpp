// vitedit bench — runs the editing benchmark (libvitedit_eval's Benchmark) for a protocol's
// methods and sweeps, and prints what it measured: per sweep point SR, GR, LR, LR_sensitive; per
// method its fronts and best points; for pairs of methods ΔGR at matched locality with a 95 %
// paired-bootstrap interval. The protocol logic lives in the library; this file parses and prints.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include "chain.hpp"
#include "cli.hpp"
#include "training_pool.hpp"
#include "mpi_world.hpp"
#include "progress.hpp"
#include "svg_plot.hpp"
#include "vitedit/eval/benchmark.hpp"
#include "vitedit/eval/compare.hpp"
#include "vitedit/eval/protocol.hpp"
#include "vitedit/eval/records_json.hpp"
#include "vitedit/hash.hpp"
#include "vitedit/model.hpp"
#include "vitedit/phase_timer.hpp"
#include "vitedit/safetensors.hpp"

namespace vitedit::cli {

namespace {

namespace fs = boost::filesystem;
using eval::Axis;

struct SweepAxis {
    std::string target;  // "locator" or "editor"
    std::string key;
    std::vector<std::string> values;
};

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream ss(text);
    std::string v;
    while (std::getline(ss, v, ','))
        if (!v.empty()) out.push_back(v);
    return out;
}

SweepAxis parse_sweep(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--sweep '" + text + "': expected key=v1,v2,...");
    SweepAxis a;
    const std::string key = text.substr(0, eq);
    if (key.rfind("locator.", 0) == 0) a.target = "locator", a.key = key.substr(8);
    else if (key.rfind("editor.", 0) == 0) a.target = "editor", a.key = key.substr(7);
    else if (key == "sparsity" || key == "seed") a.target = "locator", a.key = key;
    else a.target = "editor", a.key = key;  // lr, steps, ...
    a.values = split_list(text.substr(eq + 1));
    if (a.values.empty()) throw UsageError("--sweep '" + text + "': no values");
    return a;
}

// The protocol's options for whatever the command line left unset: stored into vm as if typed.
// Returns what was applied, as "--key=value" words.
std::vector<std::string> apply_protocol(const eval::Protocol& p, const po::options_description& desc, po::variables_map& vm) {
    std::set<std::string> given;
    for (const auto& [k, v] : vm)
        if (!v.defaulted()) given.insert(k);
    std::vector<std::string> words;
    for (const auto& o : eval::protocol_defaults(p, given)) words.push_back("--" + o.key + "=" + o.value);
    po::store(po::command_line_parser(words).options(desc).run(), vm);
    po::notify(vm);
    return words;
}

// The FT baseline for the main editor's settings: the paper's FT is RMSprop plus the penalty,
// so it takes the editor's step settings and its own options.
PluginSpec baseline_editor(const PluginSpec& baseline, const PluginSpec& editor) {
    if (baseline.name != "ft-l1" && baseline.name != "ft-l2")
        throw UsageError("--baseline " + baseline.name + ": the baselines are ft-l1 and ft-l2");
    PluginSpec e{baseline.name, {}};
    for (const char* k : {"lr", "steps", "stop_loss", "alpha", "eps"})
        if (editor.options.count(k)) e.options[k] = editor.options.at(k);
    for (const auto& [k, v] : baseline.options) e.options[k] = v;
    return e;
}

std::string run_label(const eval::BenchRun& r) { return r.sweep_value.empty() ? "" : r.sweep_key + "=" + r.sweep_value; }

std::string fmt(const std::optional<double>& v, int precision = 3) {
    if (!v) return "-";
    std::ostringstream o;
    o << std::showpos << std::fixed << std::setprecision(precision) << *v;
    return o.str();
}

}  // namespace

int cmd_bench(const std::vector<std::string>& args) {
    po::options_description desc("options");
    std::string protocol_help = "a named set of the options below (any option given beside it wins): ";
    for (const auto& p : eval::protocols()) protocol_help += "\n  " + p.name + ": " + p.summary;
    desc.add_options()
        ("model", po::value<std::string>()->required(), "model (.safetensors)")
        ("bench", po::value<std::string>(), "benchmark folder written by `vitedit bench-data` (groups/, locality-typical/, locality-sensitive/)")
        ("groups", po::value<std::string>(), "failure groups folder: <label>_<name>/<image>")
        ("locality", po::value<std::string>(), "typical locality set folder (<label>/<image>): LR")
        ("locality-sensitive", po::value<std::string>(), "sensitive (narrow-margin) locality set folder: LR_sensitive")
        ("protocol", po::value<std::string>()->default_value(eval::default_protocol()), protocol_help.c_str())
        ("locator", po::value<std::vector<std::string>>()->composing(), "a method: locator NAME[:key=val,...] with the editor (repeatable)")
        ("baseline", po::value<std::vector<std::string>>()->composing(),
         "a method: ft-l1 or ft-l2[:key=val] on every site neuron, with the editor's lr/steps/stop_loss (repeatable)")
        ("editor", po::value<std::string>(), "editor NAME[:key=val,...] of the locator methods (default rmsprop)")
        ("edit-blocks", po::value<std::string>(), "edit sites' blocks, e.g. 7,8,9")
        ("sweep", po::value<std::string>(), "the locator methods' sweep: sparsity=0.02,0.05,0.1 (locator), lr=... (editor), "
                                            "or locator.KEY= / editor.KEY=")
        ("penalty", po::value<std::string>(), "the baselines' sweep of their penalty weight c: 0.1,0.01,0")
        ("group", po::value<std::vector<std::string>>()->composing(), "only this group (folder name; repeatable)")
        ("max-edits-per-group", po::value<int>()->default_value(0), "at most N edits per group (seeded choice; 0 = all)")
        ("edit-images", po::value<int>()->default_value(1), "images of a group edited together (1, 2, 3, ...): disjoint seeded "
                                                            "sets, GR on the group's other images")
        ("seed", po::value<uint64_t>()->default_value(0), "seed for the choice of edit images, locators and the bootstrap")
        ("compare", po::value<std::vector<std::string>>()->composing(), "print ΔGR at matched locality of method A over B: A,B (repeatable; "
                                                                       "the JSON holds every pair)")
        ("bootstrap", po::value<int>()->default_value(2000), "bootstrap replicates of the ΔGR intervals")
        ("json", po::value<std::string>(), "write the results (with per-edit records) as JSON here")
        ("plot", po::value<std::string>(), "write the GR-LR plot (SVG, one panel per locality axis) here")
        ("min-lr", po::value<double>()->default_value(0.99), "typical-locality floor of the per-method 'best GR' summary")
        ("min-lr-sensitive", po::value<double>()->default_value(0.85), "sensitive-locality floor of the 'best GR' summary")
        ("min-sr", po::value<double>()->default_value(0.99), "success floor of the fronts and of the 'best GR' summary");
    add_replay_options(desc);
    add_cache_option(desc);
    add_backend_option(desc);
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse("bench", "--model M (--bench DIR | --groups DIR --locality DIR --locality-sensitive DIR) [--protocol NAME] [options]",
               desc, args, vm))
        return 0;
    World& world = World::get();
    PhaseTimer phases;  // load, hash, prefix (the sets' frozen prefix), edits: the JSON's "phases"
    const std::string model_path = vm["model"].as<std::string>();
    const eval::Protocol* protocol = nullptr;
    try {
        protocol = &eval::find_protocol(vm["protocol"].as<std::string>());
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--protocol: ") + e.what());
    }
    std::vector<std::string> applied;
    try {
        applied = apply_protocol(*protocol, desc, vm);
    } catch (const po::error& e) {
        throw UsageError(std::string("--protocol ") + protocol->name + ": " + e.what());
    }
    // The protocol names the learned locator; a model without a meta-trained hypernetwork runs the rest.
    const bool methods_from_protocol = std::any_of(applied.begin(), applied.end(), [](const std::string& w) {
        return w.rfind("--locator=", 0) == 0 || w.rfind("--baseline=", 0) == 0;
    });
    const bool have_hypernet = has_hypernet(model_path);

    eval::BenchmarkFolders folders;
    if (vm.count("bench")) {
        try {
            folders = eval::benchmark_folders(vm["bench"].as<std::string>());
        } catch (const std::runtime_error& e) {
            throw UsageError(e.what());
        }
    }
    if (vm.count("groups")) folders.groups = vm["groups"].as<std::string>();
    if (vm.count("locality")) folders.typical = vm["locality"].as<std::string>();
    if (vm.count("locality-sensitive")) folders.sensitive = vm["locality-sensitive"].as<std::string>();
    if (folders.groups.empty() || folders.typical.empty() || folders.sensitive.empty())
        throw UsageError("give --bench DIR, or --groups DIR, --locality DIR and --locality-sensitive DIR");
    for (const char* key : {"json", "plot"})
        if (vm.count(key) && !fs::is_directory(fs::absolute(vm[key].as<std::string>()).parent_path()))
            throw UsageError(std::string("--") + key + ": the output directory does not exist");

    const ModelFile model = phases.time("load", [&] { return load_model(model_path); });
    const VitConfig& cfg = model.config;
    const PluginSpec editor_spec = parse_plugin_spec(vm.count("editor") ? vm["editor"].as<std::string>() : kDefaultEditor, "--editor");
    const std::vector<int> blocks = vm.count("edit-blocks") ? parse_blocks(vm["edit-blocks"].as<std::string>()) : default_edit_blocks(cfg.depth);
    SweepAxis sweep;
    if (vm.count("sweep")) sweep = parse_sweep(vm["sweep"].as<std::string>());
    const std::vector<std::string> penalties = vm.count("penalty") ? split_list(vm["penalty"].as<std::string>()) : std::vector<std::string>{};
    const uint64_t seed = vm["seed"].as<uint64_t>();

    // The runs — every method at every point of its sweep. Every plugin is created (and its
    // options checked) before any work.
    Registry& reg = registry(vm);
    std::vector<eval::BenchRun> runs;
    std::vector<std::string> methods, notes;
    auto add_method = [&](std::string name, const std::vector<eval::BenchRun>& points) {
        while (std::find(methods.begin(), methods.end(), name) != methods.end()) name += "'";
        methods.push_back(name);
        for (auto r : points) {
            r.method = name;
            if (!r.locator.options.count("seed")) r.locator.options["seed"] = std::to_string(seed);
            LocatorInstance check_l(reg, r.locator);
            EditorInstance check_e(reg, r.editor);
            r.sparsity = check_l.sparsity();
            runs.push_back(r);
        }
    };
    std::vector<std::string> locator_texts;
    if (vm.count("locator")) locator_texts = vm["locator"].as<std::vector<std::string>>();
    else if (!vm.count("baseline")) locator_texts.push_back(default_locator());
    for (const auto& text : locator_texts) {
        const PluginSpec l = parse_plugin_spec(text, "--locator");
        if (l.name == "hypernet" && methods_from_protocol && !have_hypernet) {
            notes.push_back("the model has no meta-trained hypernetwork (" + companion_path(model_path, ".hypernet.safetensors") +
                            "): the protocol's hypernet method is left out");
            continue;
        }
        std::vector<eval::BenchRun> points;
        // `all` keeps every neuron: a sweep of the budget does not change it.
        const bool sweeps = !sweep.values.empty() && !(l.name == "all" && sweep.target == "locator" && sweep.key == "sparsity");
        for (size_t i = 0; i < (sweeps ? sweep.values.size() : 1); ++i) {
            eval::BenchRun r{"", l, editor_spec, "", "", 0.0};
            if (sweeps) {
                (sweep.target == "locator" ? r.locator : r.editor).options[sweep.key] = sweep.values[i];
                r.sweep_key = sweep.key, r.sweep_value = sweep.values[i];
            }
            points.push_back(r);
        }
        add_method(l.name, points);
    }
    if (vm.count("baseline"))
        for (const auto& text : vm["baseline"].as<std::vector<std::string>>()) {
            const PluginSpec b = parse_plugin_spec(text, "--baseline");
            std::vector<eval::BenchRun> points;
            for (size_t i = 0; i < std::max<size_t>(1, penalties.size()); ++i) {
                eval::BenchRun r{"", PluginSpec{"all", {}}, baseline_editor(b, editor_spec), "", "", 0.0};
                if (!penalties.empty()) r.editor.options["c"] = penalties[i], r.sweep_key = "c", r.sweep_value = penalties[i];
                points.push_back(r);
            }
            add_method(b.name, points);
        }
    if (runs.empty()) throw UsageError("no method to run (give --locator or --baseline)");
    std::vector<std::pair<std::string, std::string>> compare;
    if (vm.count("compare"))
        for (const auto& c : vm["compare"].as<std::vector<std::string>>()) {
            const auto ab = split_list(c);
            if (ab.size() != 2) throw UsageError("--compare '" + c + "': expected A,B (two method names)");
            for (const auto& m : ab)
                if (std::find(methods.begin(), methods.end(), m) == methods.end())
                    throw UsageError("--compare: no method '" + m + "' in this run (methods: " +
                                     [&] { std::string s; for (const auto& x : methods) s += (s.empty() ? "" : ", ") + x; return s; }() + ")");
            compare.push_back({ab[0], ab[1]});
        }

    std::vector<eval::FailureGroup> groups = eval::load_failure_groups(folders.groups, cfg);
    if (vm.count("group")) {
        const auto wanted = vm["group"].as<std::vector<std::string>>();
        for (const auto& w : wanted)
            if (std::none_of(groups.begin(), groups.end(), [&](const eval::FailureGroup& g) { return g.name == w; }))
                throw UsageError("--group " + w + ": no such group in " + folders.groups);
        groups.erase(std::remove_if(groups.begin(), groups.end(), [&](const eval::FailureGroup& g) {
                         return std::find(wanted.begin(), wanted.end(), g.name) == wanted.end();
                     }), groups.end());
    }
    const eval::ModelImages typical = eval::load_model_images(folders.typical, cfg);
    const eval::ModelImages sensitive = eval::load_model_images(folders.sensitive, cfg);

    auto backend = create_rank_backend(reg, vm["backend"].as<std::string>(), backend_config(vm));
    check_precision(vm, *backend);
    Vit vit(backend, cfg, model.tensors);
    const std::string model_id = phases.time("hash", [&] { return tensors_hash(model.tensors); });
    phases.begin("prefix");
    if (vm["edit-images"].as<int>() < 1) throw UsageError("--edit-images must be at least 1");
    eval::Benchmark::Options bo;
    bo.blocks = blocks;
    bo.max_edits_per_group = vm["max-edits-per-group"].as<int>();
    bo.edit_set_size = vm["edit-images"].as<int>();
    bo.seed = seed;
    bo.cache_budget_bytes = cache_budget_bytes(vm);
    bo.model_id = model_id;
    bo.model_path = model_path;
    ReplayChoice replay = replay_choice(vm, model, seed);
    bo.replay = std::move(replay.images);
    bo.replay_weight = replay.weight;
    eval::Benchmark bench(vit, std::move(groups), typical, sensitive, bo);
    if (world.root()) {
        std::cerr << "bench: protocol " << protocol->name;
        for (const auto& w : applied) std::cerr << " " << w;
        std::cerr << "\n";
        for (const auto& n : notes) std::cerr << "bench: " << n << "\n";
        if (bench.replay_size() > 0)
            std::cerr << "bench: replay anchor: " << replay.note << ", weight " << bo.replay_weight << "\n";
        if (bench.edit_set_size() > 1) std::cerr << "bench: edit sets of " << bench.edit_set_size() << " images\n";
        report_cache("evaluation images", bench.cached_images(), bench.evaluation_images(), vm);
        std::cerr << "bench: " << bench.groups().size() << " groups, " << bench.edits_per_run() << " edits per run, " << runs.size()
                  << " runs of " << methods.size() << " methods, locality sets " << bench.typical_size() << " typical + "
                  << bench.sensitive_size() << " sensitive images, backend " << backend->name()
                  << (world.size() > 1 ? ", shared by " + std::to_string(world.size()) + " MPI ranks" : std::string()) << "\n";
    }

    phases.begin("edits");
    const std::vector<eval::BenchJob> jobs = bench.jobs(runs.size());
    const size_t stride = static_cast<size_t>(world.size());
    Progress progress(world.size() > 1 ? "bench (rank 0 of " + std::to_string(world.size()) + ")" : "bench",
                      static_cast<int64_t>((jobs.size() + stride - 1) / stride));
    std::vector<eval::EditRecord> mine;
    const auto scored = eval::run_jobs(bench, reg, runs, jobs, static_cast<size_t>(world.rank()), stride,
                                       [&](int64_t done, const eval::EditRecord& rec, const eval::BenchRun& run) {
                                           mine.push_back(rec);
                                           const eval::Summary cur = eval::summarize(mine);
                                           progress.update(done, {{"SR", cur.sr}, {"GR", cur.gr}, {"LR", cur.lr}, {"LRs", cur.lr_sensitive}},
                                                           run.method + (run.sweep_value.empty() ? "" : " " + run_label(run)));
                                       });
    progress.finish();
    phases.end();
    nlohmann::json sent = nlohmann::json::array();
    for (const auto& [j, rec] : scored) sent.push_back({j, eval::to_json(rec)});
    const std::vector<std::string> gathered = world.gather(sent.dump());
    if (!world.root()) return 0;
    std::vector<eval::EditRecord> records(jobs.size());
    for (const auto& text : gathered)
        for (const auto& e : nlohmann::json::parse(text)) {
            const size_t j = e[0].get<size_t>();
            if (j >= jobs.size()) throw Error("bench: a rank returned job " + std::to_string(j) + " of " + std::to_string(jobs.size()));
            records[j] = eval::record_from_json(e[1]);
        }

    // Per method, the edits of each sweep point, and the run each point is (runs_of).
    std::vector<eval::MethodSweep> sweeps;
    for (const auto& m : methods) sweeps.push_back({m, {}});
    std::vector<std::vector<size_t>> runs_of(methods.size());
    auto method_index = [&](const std::string& name) {
        return static_cast<size_t>(std::find(methods.begin(), methods.end(), name) - methods.begin());
    };
    std::vector<std::vector<eval::EditRecord>> of_run(runs.size());
    for (size_t j = 0; j < jobs.size(); ++j) of_run[jobs[j].run].push_back(records[j]);
    for (size_t ri = 0; ri < runs.size(); ++ri) {
        const size_t m = method_index(runs[ri].method);
        sweeps[m].points.push_back(of_run[ri]);
        runs_of[m].push_back(ri);
    }
    const double min_sr = vm["min-sr"].as<double>();
    eval::BootstrapOptions bopt;
    bopt.replicates = vm["bootstrap"].as<int>();
    bopt.seed = seed;
    bopt.min_sr = min_sr;
    const eval::PairedBootstrap bootstrap(bench.groups().size(), bopt);
    const Axis axes[] = {Axis::typical, Axis::sensitive};

    nlohmann::json out_runs = nlohmann::json::array();
    for (size_t ri = 0; ri < runs.size(); ++ri) {
        const eval::BenchRun& run = runs[ri];
        nlohmann::json j = eval::to_json(eval::summarize(of_run[ri]));
        j["method"] = run.method;
        j["locator"] = run.locator.name;
        j["editor"] = run.editor.name;
        nlohmann::json params = nlohmann::json::object();
        for (const auto& [k, v] : run.locator.options) params["locator." + k] = v;
        for (const auto& [k, v] : run.editor.options) params["editor." + k] = v;
        params["locator.sparsity"] = std::to_string(run.sparsity);  // the budget in effect, default or not
        j["params"] = params;
        if (!run.sweep_value.empty()) j["sweep"] = {{"key", run.sweep_key}, {"value", run.sweep_value}};
        nlohmann::json per_group = nlohmann::json::object();
        for (size_t gi = 0; gi < bench.groups().size(); ++gi) {
            std::vector<eval::EditRecord> g;
            for (const auto& r : of_run[ri])
                if (r.group == gi) g.push_back(r);
            per_group[bench.groups()[gi].name] = eval::to_json(eval::summarize(g));
        }
        j["groups"] = per_group;
        nlohmann::json recs = nlohmann::json::array();
        for (const auto& r : of_run[ri]) recs.push_back(eval::to_json(r));
        j["records"] = recs;
        out_runs.push_back(j);
    }

    // Table.
    std::cout << std::left << std::setw(12) << "method" << std::setw(10) << "editor" << std::setw(16) << "point" << std::right
              << std::setw(7) << "SR" << std::setw(7) << "GR" << std::setw(7) << "LR" << std::setw(8) << "LR_s" << std::setw(7)
              << "edits" << std::setw(9) << "s/edit" << std::setw(8) << "eval_s" << std::setw(7) << "steps" << "\n";
    std::cout << std::fixed;
    for (size_t ri = 0; ri < runs.size(); ++ri) {
        const auto& j = out_runs[ri];
        std::cout << std::left << std::setw(12) << runs[ri].method << std::setw(10) << runs[ri].editor.name << std::setw(16)
                  << run_label(runs[ri]) << std::right << std::setprecision(3) << std::setw(7) << j["SR"].get<double>() << std::setw(7)
                  << j["GR"].get<double>() << std::setw(7) << j["LR"].get<double>() << std::setw(8) << j["LR_sensitive"].get<double>()
                  << std::setw(7) << j["edits"].get<int>() << std::setw(9) << std::setprecision(2) << j["time_s"].get<double>()
                  << std::setw(8) << j["eval_s"].get<double>() << std::setw(7) << std::setprecision(1) << j["steps"].get<double>() << "\n";
    }

    // Best points under the floors, and the fronts.
    const std::pair<Axis, double> floors[] = {{Axis::typical, vm["min-lr"].as<double>()}, {Axis::sensitive, vm["min-lr-sensitive"].as<double>()}};
    nlohmann::json best = nlohmann::json::array(), fronts = nlohmann::json::object();
    std::cout << "best GR with SR >= " << std::setprecision(2) << min_sr << ":\n";
    for (size_t m = 0; m < sweeps.size(); ++m) {
        const eval::MethodSweep& ms = sweeps[m];
        nlohmann::json b = {{"method", ms.name}};
        std::cout << "  " << std::left << std::setw(12) << ms.name << std::right;
        for (const auto& [axis, floor] : floors) {
            std::vector<eval::SweepPoint> pts;
            for (const auto& p : ms.points) {
                const eval::Summary s = eval::summarize(p);
                pts.push_back({s.locality(axis), s.gr, s.sr});
            }
            const auto i = eval::best_point(pts, floor, min_sr);
            nlohmann::json e = {{"axis", eval::axis_name(axis)}, {"min", floor}, {"GR", nullptr}};
            std::cout << "  " << eval::axis_name(axis) << " >= " << std::setprecision(2) << floor << ": ";
            if (i) {
                const size_t ri = runs_of[m][*i];
                e["GR"] = pts[*i].gr, e["locality"] = pts[*i].lr, e["SR"] = pts[*i].sr, e["point"] = run_label(runs[ri]);
                std::cout << "GR " << std::setprecision(3) << pts[*i].gr << " (" << std::setprecision(3) << pts[*i].lr
                          << (run_label(runs[ri]).empty() ? "" : ", " + run_label(runs[ri])) << ")";
            } else {
                std::cout << "none";
            }
            b[eval::axis_name(axis)] = e;
        }
        std::cout << "\n";
        best.push_back(b);
        nlohmann::json f = nlohmann::json::object();
        for (Axis axis : axes) {
            nlohmann::json pts = nlohmann::json::array();
            for (const auto& p : eval::front_of(ms, axis, min_sr).points) pts.push_back({p.lr, p.gr});
            f[eval::axis_name(axis)] = pts;
        }
        fronts[ms.name] = f;
    }

    // ΔGR at matched locality: every ordered pair in the JSON, the asked ones printed.
    auto delta_json = [](const eval::DeltaGr& d) {
        nlohmann::json j = {{"delta", d.delta ? nlohmann::json(*d.delta) : nlohmann::json(nullptr)},
                            {"ci95", d.lo ? nlohmann::json({*d.lo, *d.hi}) : nlohmann::json(nullptr)},
                            {"replicates", d.replicates}, {"defined", d.defined}, {"significant", d.significant()}};
        if (d.delta) j["lr_range"] = {d.lr_lo, d.lr_hi};
        return j;
    };
    nlohmann::json comparisons = nlohmann::json::array();
    for (size_t a = 0; a < sweeps.size(); ++a)
        for (size_t b = 0; b < sweeps.size(); ++b) {
            if (a == b) continue;
            nlohmann::json c = {{"a", sweeps[a].name}, {"b", sweeps[b].name}};
            for (Axis axis : axes) c[eval::axis_name(axis)] = delta_json(bootstrap.delta_gr(sweeps[a], sweeps[b], axis));
            comparisons.push_back(c);
        }
    for (const auto& [a, b] : compare) {
        const eval::MethodSweep& ma = sweeps[method_index(a)];
        const eval::MethodSweep& mb = sweeps[method_index(b)];
        for (Axis axis : axes) {
            const eval::DeltaGr d = bootstrap.delta_gr(ma, mb, axis);
            std::cout << "ΔGR " << a << " - " << b << " at matched " << eval::axis_name(axis) << ": ";
            if (!d.delta) {
                std::cout << "undefined (the fronts share no " << eval::axis_name(axis) << " range)\n";
                continue;
            }
            std::cout << fmt(d.delta) << " [" << fmt(d.lo) << ", " << fmt(d.hi) << "] over " << eval::axis_name(axis) << " "
                      << std::noshowpos << std::setprecision(3) << d.lr_lo << ".." << d.lr_hi << " ("
                      << (d.significant() ? (*d.delta > 0 ? a + " ahead" : b + " ahead") : std::string("a tie: the interval holds 0"))
                      << "; " << d.defined << "/" << d.replicates << " replicates)\n";
        }
    }

    // Where the edits' time went, summed over every rank's edits (with N ranks the "edits" phase
    // lasts about their sum / N): locate + edit, and scoring on the group and locality sets.
    double edit_sum = 0, eval_sum = 0;
    for (const auto& r : records) edit_sum += r.time_s, eval_sum += r.eval_s;
    const nlohmann::json timing = {{"edit_s", edit_sum}, {"eval_s", eval_sum}, {"ranks", world.size()}, {"edits", records.size()}};
    std::cerr << std::fixed << std::setprecision(1) << "bench: time: " << phases.summary() << "; " << records.size() << " edits on "
              << world.size() << " rank(s): locate + edit " << edit_sum << " s, scoring " << eval_sum << " s (summed)\n";
    if (vm.count("json")) {
        nlohmann::json group_names = nlohmann::json::array();
        for (const auto& g : bench.groups()) group_names.push_back({{"name", g.name}, {"size", g.images.n}});
        nlohmann::json doc = {{"model", model_path}, {"model_hash", model_id}, {"seed", seed},
                              {"protocol", {{"name", protocol->name}, {"applied", applied}}},
                              {"groups", group_names}, {"edit_sets", bench.edit_sets()}, {"edit_set_size", bench.edit_set_size()},
                              {"replay", {{"images", bench.replay_size()}, {"weight", bo.replay_weight}}},
                              {"locality", {{"typical", bench.typical_size()}, {"sensitive", bench.sensitive_size()}}},
                              {"runs", out_runs}, {"best", best}, {"fronts", fronts},
                              {"comparisons", comparisons}, {"bootstrap", {{"replicates", bopt.replicates}, {"seed", bopt.seed}, {"min_SR", min_sr}}},
                              {"cached_images", bench.cached_images()}, {"evaluation_images", bench.evaluation_images()},
                              {"phases", phases_json(phases)}, {"time", timing}, {"peak_rss_mb", peak_rss_mb()}};
        write_file_atomic(vm["json"].as<std::string>(), doc.dump(1) + "\n");
    }
    if (vm.count("plot")) {
        std::vector<Panel> panels;
        for (Axis axis : axes) {
            Panel panel{std::string(eval::axis_name(axis)) + (axis == Axis::typical ? " (typical locality set)" : " (narrow-margin set)"), {}};
            for (size_t m = 0; m < sweeps.size(); ++m) {
                const eval::MethodSweep& ms = sweeps[m];
                Series s{ms.name, {}, {}, {}, {}, {}, {}};
                for (size_t k = 0; k < ms.points.size(); ++k) {
                    const size_t ri = runs_of[m][k];
                    const eval::Summary sum = eval::summarize(ms.points[k]);
                    s.x.push_back(sum.locality(axis)), s.y.push_back(sum.gr), s.fixed.push_back(sum.sr >= min_sr);
                    // budgets bare, the baselines' penalties as c=...: the two sweeps share a panel
                    s.labels.push_back(runs[ri].sweep_key == "sparsity" ? runs[ri].sweep_value : run_label(runs[ri]));
                }
                for (const auto& p : eval::front_of(ms, axis, min_sr).points) s.front_x.push_back(p.lr), s.front_y.push_back(p.gr);
                panel.series.push_back(s);
            }
            panels.push_back(panel);
        }
        write_file_atomic(vm["plot"].as<std::string>(),
                          svg_front_plot("generalization vs locality (protocol " + protocol->name + ", " + editor_spec.name + ")",
                                         "GR (generalization rate)", panels));
    }
    return 0;
}

}  // namespace vitedit::cli

// vitedit bench-data — builds the editing benchmark (docs/benchmark.md) for a model, deterministically:
//   groups/<label>_<class>_<kind>/   failures: held-out subpopulations the model gets wrong
//                                    (natural shift) and synthetic renderings it gets wrong
//   locality-typical/<label>/        correct test images drawn at random (seeded), outside the held-out
//                                    subpopulations and the groups' sources: LR
//   locality-sensitive/<label>/      correct test images with the smallest top-1/top-2 margin: LR_sensitive
//   manifest.json                    every group and image with its source, the model hash, seed
// Every saved image is re-read and re-classified: a failure image is misclassified and a locality
// image classified correctly exactly as `vitedit predict` sees the PNG.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include <boost/filesystem.hpp>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "vitedit/predict.hpp"
#include "renderings.hpp"
#include "vitedit/dataset.hpp"
#include "vitedit/eval/locality_sets.hpp"
#include "vitedit/hash.hpp"
#include "vitedit/holdout.hpp"
#include "vitedit/model.hpp"

namespace vitedit::cli {

namespace {
namespace fs = boost::filesystem;

std::string slug(const std::string& s) {
    std::string o;
    for (char c : s) o += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
    return o;
}

struct Pending {
    std::string dir, kind, rendering;
    int label = 0;
    std::vector<int64_t> sources;
    std::vector<Image> images;
};
}  // namespace

int cmd_bench_data(const std::vector<std::string>& args) {
    po::options_description desc("options");
    desc.add_options()
        ("model", po::value<std::string>()->required(), "the model the benchmark is for (with held-out subpopulations recorded by `vitedit train`)")
        ("out", po::value<std::string>()->required(), "output folder (created; must be empty or absent)")
        ("data", po::value<std::string>()->default_value("fmnist:test"), "images to draw failures and the locality set from")
        ("seed", po::value<uint64_t>()->default_value(0), "seed for renderings and subsampling")
        ("min-group", po::value<int>()->default_value(5), "drop groups with fewer failures")
        ("max-group", po::value<int>()->default_value(30), "keep at most this many failures per group (seeded choice)")
        ("typical", po::value<int>()->default_value(2000), "size of the typical locality set (random correct predictions)")
        ("sensitive", po::value<int>()->default_value(300), "size of the sensitive locality set (the narrowest-margin correct predictions)")
        ("renderings", po::value<std::string>()->default_value("inverted,textured,sketch"), "synthetic renderings to use: inverted, textured, sketch, upside-down, noisy, blurred")
        ("no-natural", po::bool_switch(), "no natural-shift groups (only the renderings)");
    add_backend_option(desc);
    add_plugin_options(desc);
    po::variables_map vm;
    if (!parse("bench-data", "--model M --out DIR [options]", desc, args, vm)) return 0;
    const fs::path out = vm["out"].as<std::string>();
    if (fs::exists(out) && !fs::is_empty(out)) throw UsageError(out.string() + " exists and is not empty");
    const fs::path parent = fs::absolute(out).parent_path();
    if (!fs::is_directory(parent)) throw UsageError("the folder " + parent.string() + " (where --out goes) does not exist");
    const uint64_t seed = vm["seed"].as<uint64_t>();
    const int min_group = vm["min-group"].as<int>(), max_group = vm["max-group"].as<int>(), n_loc = vm["sensitive"].as<int>(),
              n_typical = vm["typical"].as<int>();
    if (n_loc < 0 || n_typical < 0) throw UsageError("--typical and --sensitive must not be negative");

    const ModelFile model = load_model(vm["model"].as<std::string>());
    const VitConfig& cfg = model.config;
    const Dataset data = load_dataset(vm["data"].as<std::string>());
    std::vector<bool> held(data.size(), false);
    auto meta = model.metadata.find("vitedit.holdout");
    if (meta != model.metadata.end()) held = Holdout::from_json(meta->second).membership(data);
    else std::cerr << "bench-data: the model records no held-out subpopulations: only synthetic groups\n";
    std::vector<std::string> renderings;
    {
        std::stringstream ss(vm["renderings"].as<std::string>());
        std::string r;
        while (std::getline(ss, r, ','))
            if (!r.empty()) renderings.push_back(r);
    }
    auto class_name = [&](int l) { return l < static_cast<int>(cfg.classes.size()) ? slug(cfg.classes[l]) : std::to_string(l); };

    auto backend = create_backend(vm);
    Vit vit(backend, cfg, model.tensors);
    std::cerr << "bench-data: classifying " << data.size() << " images of " << data.spec << "\n";
    const Predictions all = predict(vit, data, 256, true);
    const std::vector<int32_t>& pred = all.labels;
    const std::vector<float>& logits = all.logits;
    const int K = cfg.num_classes;

    std::vector<Pending> groups;
    std::mt19937_64 rng(seed);
    // Natural shift: held-out subpopulation images the model gets wrong, one group per class.
    std::map<int, Pending> natural;
    for (size_t i = 0; i < data.size(); ++i)
        if (held[i] && pred[i] != data.labels[i] && !vm["no-natural"].as<bool>()) {
            Pending& g = natural[data.labels[i]];
            g.label = data.labels[i];
            g.kind = "natural";
            g.sources.push_back(static_cast<int64_t>(i));
            g.images.push_back(data.images[i]);
        }
    for (auto& [label, g] : natural) {
        g.dir = std::to_string(label) + "_" + class_name(label) + "_heldout";
        groups.push_back(std::move(g));
    }
    // Synthetic shift: renderings of the other test images, per class and rendering.
    for (size_t r = 0; r < renderings.size(); ++r) {
        Dataset rendered;
        std::vector<int64_t> src;
        for (size_t i = 0; i < data.size(); ++i) {
            if (held[i]) continue;
            rendered.images.push_back(render(data.images[i], renderings[r], seed * 1000003 + i));
            rendered.labels.push_back(data.labels[i]);
            src.push_back(static_cast<int64_t>(i));
        }
        std::cerr << "bench-data: classifying " << rendered.size() << " " << renderings[r] << " renderings\n";
        const std::vector<int32_t> rp = predict(vit, rendered).labels;
        std::map<int, Pending> by_class;
        for (size_t j = 0; j < rendered.size(); ++j)
            if (rp[j] != rendered.labels[j]) {
                Pending& g = by_class[rendered.labels[j]];
                g.label = rendered.labels[j];
                g.kind = "synthetic";
                g.rendering = renderings[r];
                g.sources.push_back(src[j]);
                g.images.push_back(rendered.images[j]);
            }
        for (auto& [label, g] : by_class) {
            g.dir = std::to_string(label) + "_" + class_name(label) + "_" + renderings[r];
            groups.push_back(std::move(g));
        }
    }
    // Size limits: drop small groups, subsample big ones (seeded, kept in source order).
    std::vector<Pending> kept;
    for (auto& g : groups) {
        if (static_cast<int>(g.sources.size()) < min_group) continue;
        if (max_group > 0 && static_cast<int>(g.sources.size()) > max_group) {
            std::vector<size_t> idx(g.sources.size());
            std::iota(idx.begin(), idx.end(), 0);
            std::shuffle(idx.begin(), idx.end(), rng);
            idx.resize(static_cast<size_t>(max_group));
            std::sort(idx.begin(), idx.end());
            Pending s = g;
            s.sources.clear(), s.images.clear();
            for (size_t k : idx) s.sources.push_back(g.sources[k]), s.images.push_back(g.images[k]);
            g = std::move(s);
        }
        kept.push_back(std::move(g));
    }
    // Locality. Sensitive: correct, not held out, smallest margin between the top two
    // probabilities. Typical: a seeded random draw of the correct predictions that are neither
    // held out nor the source of a failure image — what a user means by "the rest of my model".
    std::vector<bool> not_typical = held;
    for (const auto& g : kept)
        for (int64_t i : g.sources) not_typical[static_cast<size_t>(i)] = true;
    std::vector<double> margins;
    const std::vector<int64_t> loc_src =
        eval::pick_sensitive_set({&pred, &data.labels, &held}, logits, K, static_cast<size_t>(n_loc), &margins);
    const std::vector<int64_t> typical = eval::draw_typical_set({&pred, &data.labels, &not_typical}, static_cast<size_t>(n_typical), seed);
    if (typical.size() < static_cast<size_t>(n_typical))
        std::cerr << "bench-data: warning: only " << typical.size() << " images qualify for the typical locality set of "
                  << n_typical << "\n";

    // Write into a temporary folder next to OUT, then re-read every file and re-check it as
    // `vitedit predict` would; only a complete, checked benchmark is renamed to OUT, so a failed
    // run leaves nothing behind.
    const fs::path dir = parent / ("." + fs::absolute(out).filename().string() + ".tmp-" + std::to_string(::getpid()));
    struct RemoveUnlessKept {
        fs::path path;
        bool keep = false;
        ~RemoveUnlessKept() {
            boost::system::error_code ec;
            if (!keep) fs::remove_all(path, ec);
        }
    } staging{dir};
    fs::remove_all(dir);
    fs::create_directories(dir / "groups");
    nlohmann::json manifest = {{"model", vm["model"].as<std::string>()}, {"model_hash", tensors_hash(model.tensors)},
                               {"data", data.spec}, {"seed", seed}, {"min_group", min_group}, {"max_group", max_group}};
    Dataset check;
    std::vector<std::string> files;
    std::vector<bool> must_be_wrong;
    manifest["groups"] = nlohmann::json::array();
    size_t failures = 0;
    for (const auto& g : kept) {
        fs::create_directories(dir / "groups" / g.dir);
        nlohmann::json jg = {{"dir", "groups/" + g.dir}, {"label", g.label}, {"kind", g.kind}, {"size", g.sources.size()},
                             {"sources", g.sources}};
        if (!g.rendering.empty()) jg["rendering"] = g.rendering;
        for (size_t k = 0; k < g.sources.size(); ++k) {
            const std::string f = (dir / "groups" / g.dir / ("t" + std::to_string(g.sources[k]) + ".png")).string();
            save_png(f, g.images[k]);
            files.push_back(f), check.labels.push_back(g.label), must_be_wrong.push_back(true);
        }
        failures += g.sources.size();
        manifest["groups"].push_back(jg);
    }
    auto write_locality = [&](const std::string& name, const std::vector<int64_t>& sources) {
        fs::create_directories(dir / name);
        for (int64_t i : sources) {
            const int label = data.labels[static_cast<size_t>(i)];
            fs::create_directories(dir / name / std::to_string(label));
            const std::string f = (dir / name / std::to_string(label) / ("t" + std::to_string(i) + ".png")).string();
            save_png(f, data.images[static_cast<size_t>(i)]);
            files.push_back(f), check.labels.push_back(label), must_be_wrong.push_back(false);
        }
    };
    write_locality("locality-sensitive", loc_src);
    write_locality("locality-typical", typical);
    manifest["locality_sensitive"] = {{"dir", "locality-sensitive"}, {"size", loc_src.size()}, {"sources", loc_src},
                                      {"max_margin", margins.empty() ? 0.0 : margins.back()}};
    manifest["locality_typical"] = {{"dir", "locality-typical"}, {"size", typical.size()}, {"sources", typical},
                                    {"excludes", "held-out subpopulations, the groups' sources, misclassified images"}};
    for (const auto& f : files) check.images.push_back(load_image(f));
    const std::vector<int32_t> again = predict(vit, check).labels;
    for (size_t k = 0; k < files.size(); ++k)
        if ((again[k] != check.labels[k]) != must_be_wrong[k])
            throw Error("invariant violated: " + files[k] + " is classified " + std::to_string(again[k]) + " after saving");
    manifest["failures"] = failures;
    write_file_atomic((dir / "manifest.json").string(), manifest.dump(2) + "\n");
    if (fs::exists(out)) fs::remove(out);  // an empty folder (checked above)
    fs::rename(dir, out);
    staging.keep = true;
    std::cout << "wrote " << kept.size() << " failure groups (" << failures << " images), a typical locality set of "
              << typical.size() << " images and a sensitive one of " << loc_src.size() << " to " << out.string() << "\n";
    for (const auto& g : kept) std::cout << "  " << g.dir << ": " << g.sources.size() << "\n";
    if (kept.size() < 8 || failures < 80)
        std::cerr << "bench-data: warning: fewer than 8 groups or 80 failures; the benchmark is small\n";
    return 0;
}

}  // namespace vitedit::cli

// The bundled benchmarks' locality sets, recomputed: classify the test set with the bundled model,
// take its held-out subpopulations from the model's metadata and the groups' sources from the
// manifest, and check that the typical set is exactly the seeded draw of correct images outside
// both, and the sensitive set the narrowest correct margins. Exit 0 ok, 1 a violation, 77 skipped.
// usage: check_locality_sets PLUGIN_DIR MODEL BENCH_DIR...
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <set>

#include <nlohmann/json.hpp>

#include "vitedit/dataset.hpp"
#include "vitedit/eval/locality_sets.hpp"
#include "vitedit/holdout.hpp"
#include "vitedit/image.hpp"
#include "vitedit/image_set.hpp"
#include "vitedit/model.hpp"
#include "vitedit/registry.hpp"

int main(int argc, char** argv) try {
    if (argc < 4) {
        std::cerr << "usage: check_locality_sets PLUGIN_DIR MODEL BENCH_DIR...\n";
        return 2;
    }
    const vitedit::ModelFile model = vitedit::load_model(argv[2]);
    vitedit::Dataset data;
    try {
        data = vitedit::load_dataset("fmnist:test");
    } catch (const std::exception& e) {
        std::printf("SKIPPED: %s\n", e.what());
        return 77;
    }
    vitedit::Registry reg;
    reg.scan({argv[1]});
    vitedit::Vit vit(reg.create_backend("onednn"), model.config, model.tensors);
    std::vector<float> chw;
    for (const auto& img : data.images) {
        const auto x = vitedit::to_model_input(img, model.config);
        chw.insert(chw.end(), x.begin(), x.end());
    }
    const std::vector<int32_t> pred = vitedit::ImageSet(vit, chw, static_cast<int64_t>(data.size()), 0).predict();
    const std::vector<bool> held = vitedit::Holdout::from_json(model.metadata.at("vitedit.holdout")).membership(data);
    int bad = 0;
    auto fail = [&](const std::string& what) { std::cout << "FAIL: " << what << "\n", ++bad; };
    for (int b = 3; b < argc; ++b) {
        const std::string dir = argv[b];
        std::ifstream in(dir + "/manifest.json");
        if (!in) return fail(dir + "/manifest.json: cannot open"), 1;
        const nlohmann::json m = nlohmann::json::parse(in);
        std::vector<bool> excluded = held;
        for (const auto& g : m.at("groups"))
            for (int64_t i : g.at("sources").get<std::vector<int64_t>>()) excluded[static_cast<size_t>(i)] = true;
        const auto typical = m.at("locality_typical").at("sources").get<std::vector<int64_t>>();
        for (int64_t i : typical) {
            const size_t k = static_cast<size_t>(i);
            if (pred[k] != data.labels[k]) fail(dir + ": typical image " + std::to_string(i) + " is misclassified");
            if (held[k]) fail(dir + ": typical image " + std::to_string(i) + " is in a held-out subpopulation");
            else if (excluded[k]) fail(dir + ": typical image " + std::to_string(i) + " is a failure group's source");
        }
        const auto drawn = vitedit::eval::draw_typical_set({&pred, &data.labels, &excluded}, typical.size(), m.at("seed").get<uint64_t>());
        if (drawn != typical) fail(dir + ": the typical set is not the seeded draw (seed " + m.at("seed").dump() + ")");
        const auto sensitive = m.at("locality_sensitive").at("sources").get<std::vector<int64_t>>();
        for (int64_t i : sensitive)
            if (pred[static_cast<size_t>(i)] != data.labels[static_cast<size_t>(i)] || held[static_cast<size_t>(i)])
                fail(dir + ": sensitive image " + std::to_string(i) + " is misclassified or held out");
        std::cout << dir << ": typical set " << typical.size() << " images (correct, outside " << std::count(excluded.begin(), excluded.end(), true)
                  << " held-out or group-source images, the seeded draw), sensitive set " << sensitive.size() << "\n";
    }
    return bad ? 1 : 0;
} catch (const std::exception& e) {
    std::cout << "FAIL: " << e.what() << "\n";
    return 1;
}

// vitedit host — the training pool and the replay draw.
#include "training_pool.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "cli.hpp"
#include "vitedit/backend.hpp"
#include "vitedit/holdout.hpp"
#include "vitedit/image.hpp"

namespace vitedit {

std::vector<size_t> training_pool(const ModelFile& model, const Dataset& data, std::string* note) {
    std::vector<bool> held(data.size(), false);
    std::string how_note = "the model records no held-out subpopulations";
    if (auto it = model.metadata.find("vitedit.holdout"); it != model.metadata.end()) {
        std::string how;
        held = Holdout::from_json(it->second).membership(data, &how);
        size_t n = 0;
        for (bool h : held) n += h;
        how_note = std::to_string(n) + " held-out images skipped (membership by " + how + ")";
    }
    std::vector<size_t> pool;
    for (size_t i = 0; i < data.size(); ++i)
        if (!held[i]) {
            if (data.labels[i] >= model.config.num_classes)
                throw Error(data.spec + ": label " + std::to_string(data.labels[i]) + " is beyond the model's classes");
            pool.push_back(i);
        }
    if (note) *note = how_note;
    return pool;
}

eval::ModelImages draw_replay_images(const ModelFile& model, const std::string& data_spec, int64_t count, uint64_t seed,
                                     std::string* note) {
    if (count < 1) throw Error("the replay batch needs at least one image, got " + std::to_string(count));
    const Dataset data = load_dataset(data_spec);
    std::string held;
    std::vector<size_t> pool = training_pool(model, data, &held);
    if (static_cast<int64_t>(pool.size()) < count)
        throw Error(data_spec + ": " + std::to_string(pool.size()) + " training images, fewer than the replay batch's " +
                    std::to_string(count));
    // A seeded partial shuffle: the first `count` of a permutation, in data order.
    std::mt19937_64 rng(seed ^ 0x7265706c6179ull);  // "replay": apart from the other seeded draws
    for (int64_t i = 0; i < count; ++i) {
        std::uniform_int_distribution<size_t> pick(static_cast<size_t>(i), pool.size() - 1);
        std::swap(pool[static_cast<size_t>(i)], pool[pick(rng)]);
    }
    pool.resize(static_cast<size_t>(count));
    std::sort(pool.begin(), pool.end());
    eval::ModelImages out;
    for (size_t i : pool) {
        const auto x = to_model_input(data.images[i], model.config);
        out.chw.insert(out.chw.end(), x.begin(), x.end());
        out.labels.push_back(data.labels[i]);
        ++out.n;
    }
    if (note) *note = std::to_string(count) + " replay images from " + data_spec + " (" + held + ")";
    return out;
}

void add_replay_options(boost::program_options::options_description& desc) {
    namespace po = boost::program_options;
    desc.add_options()
        ("replay", po::value<int64_t>()->default_value(0), "replay anchor: keep the original predictions on N training images "
                                                           "(KL to the original model, weight --replay-weight) while editing")
        ("replay-weight", po::value<double>()->default_value(1.0), "β of the replay anchor")
        ("replay-data", po::value<std::string>()->default_value("fmnist:train"),
         "where the replay images come from (the model's held-out subpopulations skipped)");
}

ReplayChoice replay_choice(const boost::program_options::variables_map& vm, const ModelFile& model, uint64_t seed) {
    const int64_t n = vm["replay"].as<int64_t>();
    const double w = vm["replay-weight"].as<double>();
    if (n < 0 || !(w >= 0) || !std::isfinite(w)) throw cli::UsageError("--replay and --replay-weight must be non-negative");
    ReplayChoice c;
    if (n == 0 || w == 0) return c;
    c.images = draw_replay_images(model, vm["replay-data"].as<std::string>(), n, seed, &c.note);
    c.weight = static_cast<float>(w);
    return c;
}

}  // namespace vitedit

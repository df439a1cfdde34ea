// vitedit host — the training images a command may draw from: every image of a data set except
// the held-out subpopulations the model records (the failures the benchmark edits), and a seeded
// draw from them for the replay anchor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/program_options.hpp>

#include "vitedit/dataset.hpp"
#include "vitedit/eval/benchmark.hpp"
#include "vitedit/model.hpp"

namespace vitedit {

// Indices of `data` outside the model's recorded held-out subpopulations; `note` says how many
// were skipped and how membership was decided. Throws on a label beyond the model's classes.
std::vector<size_t> training_pool(const ModelFile& model, const Dataset& data, std::string* note);

// `count` images drawn without replacement from the training pool of `data_spec` (seeded),
// converted for the model: the replay anchor's batch.
eval::ModelImages draw_replay_images(const ModelFile& model, const std::string& data_spec, int64_t count, uint64_t seed,
                                     std::string* note);

// --replay N, --replay-weight β, --replay-data SPEC (edit and bench).
void add_replay_options(boost::program_options::options_description& desc);
struct ReplayChoice {
    eval::ModelImages images;  // none when --replay is 0
    float weight = 0.0f;
    std::string note;          // what was drawn, for the log
};
// Checks the options (UsageError) and draws the images.
ReplayChoice replay_choice(const boost::program_options::variables_map& vm, const ModelFile& model, uint64_t seed);

}  // namespace vitedit

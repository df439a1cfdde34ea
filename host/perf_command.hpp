// vitedit perf's whole-command figure: `vitedit edit ... --patch` from a cold process against the
// same edit done by the Python PyTorch eager peer as one script, also from a cold process.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "vitedit/model.hpp"

namespace vitedit::cli {

struct CommandRace {
    std::string vitedit;  // the vitedit program
    std::string python;   // the peer's command line up to its arguments ("/usr/bin/python3 'script'")
    std::string backend;
    int runs = 3;         // each side, alternately, so both see the same phases of a shared machine
    int steps = 8;
    double lr = 2e-5, sparsity = 0.1;
    int threads = 2;
};

// Writes the model (when it is not a file yet) and a noise image of its input size into a
// temporary folder, runs both commands `runs` times each, alternately, and returns per side the
// median wall time, every run's, the phases and peak RSS its median run reported, and the ratio
// python / vitedit of the medians. Both edits: saliency at `sparsity` of the default sites, then
// `steps` RMSprop steps with no early stop, the changed neurons saved.
nlohmann::json race_edit_command(const ModelFile& model, const CommandRace& race, bool quiet);

}  // namespace vitedit::cli

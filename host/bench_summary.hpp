// vitedit host — the one-line answer a sweep is run for: per locator, the best generalization
// among the sweep points that keep locality and success above the user's floors.
#pragma once

#include <ostream>

#include <nlohmann/json.hpp>

namespace vitedit::cli {

struct Floors {
    double min_lr = 0.95;  // keep at least this share of locality predictions
    double min_sr = 0.99;  // fix at least this share of edit images
};

// `runs` are bench's result objects (locator, SR, GR, LR, optional sweep). Returns one object per
// locator, in first-seen order: {"locator", "floors": {LR, SR}, "best": run summary or null}.
nlohmann::json best_under_floors(const nlohmann::json& runs, const Floors& floors);
void print_best(std::ostream& out, const nlohmann::json& best);

}  // namespace vitedit::cli

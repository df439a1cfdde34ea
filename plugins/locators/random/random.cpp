// Locator `random`: a uniformly random set of units at the sparsity budget, from the run's seed.
#include <random>

#include "vitedit/plugin_author.hpp"

namespace {
struct RandomLocator : vitedit::author::Locator {
    explicit RandomLocator(vitedit::author::Options&) {}
    void locate(vitedit::author::Session& s, Scores& scores, bool& binary) override {
        // Random scores; the host's global top-k at the budget turns them into a random mask.
        std::mt19937_64 rng(s.seed() ^ 0x9e3779b97f4a7c15ull);
        std::uniform_real_distribution<float> u(0.0f, 1.0f);
        for (auto& site : scores)
            for (auto& v : site) v = u(rng);
        binary = false;
    }
};
}  // namespace
VITEDIT_DEFINE_LOCATOR(RandomLocator, "random", "random neurons at the sparsity budget (seeded)", "1.0")

// Locator `all`: every unit of every site (plain fine-tuning of the site matrices: the FT baseline).
#include "vitedit/plugin_author.hpp"

namespace {
struct AllLocator : vitedit::author::Locator {
    explicit AllLocator(vitedit::author::Options&) {}
    void locate(vitedit::author::Session&, Scores& scores, bool& binary) override {
        for (auto& s : scores) std::fill(s.begin(), s.end(), 1.0f);
        binary = true;  // the sparsity budget does not apply
    }
};
}  // namespace
VITEDIT_DEFINE_LOCATOR(AllLocator, "all", "every neuron of the edit sites (the FT baseline)", "1.0")

// Locator `saliency`: a training-free baseline. A unit's score is sum |g * W| over its row (fc1)
// or column (fc2) from one gradient of the edit images' loss, normalized per site by its mean
// (vitedit/saliency_scores.hpp).
#include "vitedit/plugin_author.hpp"
#include "vitedit/saliency_scores.hpp"

namespace {
struct SaliencyLocator : vitedit::author::Locator {
    explicit SaliencyLocator(vitedit::author::Options& o) : normalize_(o.integer("normalize", 1, 0, 1) != 0) {}
    void locate(vitedit::author::Session& s, Scores& scores, bool& binary) override {
        vitedit::author::saliency_scores(s, scores, normalize_);
        binary = false;
    }
    bool normalize_;
};
}  // namespace
VITEDIT_DEFINE_LOCATOR(SaliencyLocator, "saliency", "neurons ranked by |gradient x weight| of the edit loss (option: normalize)", "1.0")

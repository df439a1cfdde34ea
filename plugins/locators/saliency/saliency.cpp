// Locator `saliency`: a training-free baseline. A unit's score is sum |g * W| over its row (fc1)
// or column (fc2), the first-order estimate of how much zeroing it would change the edit loss,
// computed from one gradient of the edit images' loss. Scores are normalized per site by their
// mean so that sites of different scale compete fairly in the global top-k.
#include <cmath>

#include "vitedit/plugin_author.hpp"

namespace {
struct SaliencyLocator : vitedit::author::Locator {
    explicit SaliencyLocator(vitedit::author::Options& o) : normalize_(o.integer("normalize", 1, 0, 1) != 0) {}
    void locate(vitedit::author::Session& s, Scores& scores, bool& binary) override {
        s.evaluate(true);
        for (int i = 0; i < s.num_sites(); ++i) {
            const ve_site site = s.site(i);
            const std::vector<float> w = s.weight(i).download(), g = s.grad(i).download();
            auto& sc = scores[i];
            std::fill(sc.begin(), sc.end(), 0.0f);
            for (int64_t r = 0; r < site.rows; ++r)
                for (int64_t c = 0; c < site.cols; ++c) {
                    const size_t k = static_cast<size_t>(r * site.cols + c);
                    sc[site.unit == VE_UNIT_COL ? c : r] += std::abs(w[k] * g[k]);
                }
            if (normalize_) {
                double mean = 0;
                for (float v : sc) mean += v / sc.size();
                if (mean > 0)
                    for (float& v : sc) v = static_cast<float>(v / mean);
            }
        }
        binary = false;
    }
    bool normalize_;
};
}  // namespace
VITEDIT_DEFINE_LOCATOR(SaliencyLocator, "saliency", "neurons ranked by |gradient x weight| of the edit loss (option: normalize)", "1.0")

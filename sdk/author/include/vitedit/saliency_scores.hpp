// vitedit author layer — saliency scores, shared by the locators that use them (`saliency`, and
// `hypernet`'s blend): a unit's score is sum |g * W| over its row (fc1) or column (fc2), the
// first-order estimate of how much zeroing it would change the edit loss, from one gradient of the
// edit images' loss. Normalized per site by the mean so sites of different scale compete fairly in
// the host's global top-k.
#pragma once

#include <cmath>
#include <vector>

#include "vitedit/plugin_author.hpp"

namespace vitedit::author {

inline void saliency_scores(Session& s, std::vector<std::vector<float>>& scores, bool normalize) {
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
        if (normalize) {
            double mean = 0;
            for (float v : sc) mean += v / sc.size();
            if (mean > 0)
                for (float& v : sc) v = static_cast<float>(v / mean);
        }
    }
}

}  // namespace vitedit::author

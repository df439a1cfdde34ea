// Locator `relgrad` — the sample of docs/writing-a-locator.md, built out of tree against the
// installed SDK (samples/custom-locator/CMakeLists.txt).
//
// A neuron's score is how far the edit loss pulls it relative to its size: the norm of the
// loss gradient over the neuron's weights (its fc1 row or fc2 column) divided by the norm of
// those weights, the per-unit "trust ratio" of LARS. Unlike the built-in `saliency`
// (sum |g * w|, which favors large weights), it is scale-free: a neuron ranks high when one
// gradient step would change it by a large fraction of itself, whatever its magnitude. The host
// keeps the top `sparsity` fraction across all sites, then the editor changes only those.
//
//   vitedit edit --plugin-dir <this build> --locator relgrad:sparsity=0.05,eps=1e-6 ...
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "vitedit/plugin_author.hpp"

namespace {

struct RelGradLocator : vitedit::author::Locator {
    // Options are read (and range-checked) here; an unknown key fails create() with this list.
    explicit RelGradLocator(vitedit::author::Options& o) : eps_(o.number("eps", 1e-6, 0.0, 1.0)) {}

    void locate(vitedit::author::Session& s, Scores& scores, bool& binary) override {
        s.evaluate(true);  // forward + backward on the edit images: fills every site's gradient
        for (int i = 0; i < s.num_sites(); ++i) {
            const ve_site site = s.site(i);
            if (site.unit != VE_UNIT_ROW && site.unit != VE_UNIT_COL)
                throw std::runtime_error(std::string("relgrad scores neuron rows and columns; site ") + site.name +
                                         " has another kind of unit");
            const std::vector<float> w = s.weight(i).download(), g = s.grad(i).download();
            std::vector<double> g2(static_cast<size_t>(site.units), 0.0), w2(static_cast<size_t>(site.units), 0.0);
            for (int64_t r = 0; r < site.rows; ++r)
                for (int64_t c = 0; c < site.cols; ++c) {
                    const size_t k = static_cast<size_t>(r * site.cols + c);
                    const size_t u = static_cast<size_t>(site.unit == VE_UNIT_COL ? c : r);
                    g2[u] += static_cast<double>(g[k]) * g[k];
                    w2[u] += static_cast<double>(w[k]) * w[k];
                }
            for (size_t u = 0; u < g2.size(); ++u)
                scores[i][u] = static_cast<float>(std::sqrt(g2[u]) / (std::sqrt(w2[u]) + eps_));
        }
        binary = false;  // scores, not a mask: the host binarizes them with a global top-k
    }

    double eps_;
};

}  // namespace

VITEDIT_DEFINE_LOCATOR(RelGradLocator, "relgrad",
                       "neurons ranked by ||gradient|| / ||weight|| of the edit loss (option: eps)", "1.0")

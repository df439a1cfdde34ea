// vitedit evaluation — choosing the locality sets.
#include "vitedit/eval/locality_sets.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>

namespace vitedit::eval {

namespace {
std::vector<int64_t> candidates(const LocalityCandidates& c) {
    if (!c.predicted || !c.labels || !c.excluded || c.predicted->size() != c.labels->size() || c.excluded->size() != c.labels->size())
        throw std::invalid_argument("locality candidates: predictions, labels and exclusions must be given, one per image");
    std::vector<int64_t> out;
    for (size_t i = 0; i < c.labels->size(); ++i)
        if (!(*c.excluded)[i] && (*c.predicted)[i] == (*c.labels)[i]) out.push_back(static_cast<int64_t>(i));
    return out;
}
}  // namespace

std::vector<int64_t> draw_typical_set(const LocalityCandidates& c, size_t n, uint64_t seed) {
    std::vector<int64_t> pool = candidates(c);
    // A partial Fisher–Yates shuffle on mt19937_64's raw output (fixed by the standard, unlike
    // std::shuffle's use of it), so the draw is the same with every standard library.
    std::mt19937_64 rng(seed);
    const size_t k = std::min(n, pool.size());
    for (size_t i = 0; i < k; ++i) std::swap(pool[i], pool[i + rng() % (pool.size() - i)]);
    pool.resize(k);
    std::sort(pool.begin(), pool.end());
    return pool;
}

std::vector<int64_t> pick_sensitive_set(const LocalityCandidates& c, const std::vector<float>& logits, int classes, size_t n,
                                        std::vector<double>* margins) {
    const std::vector<int64_t> pool = candidates(c);
    if (classes < 2 || logits.size() != c.labels->size() * static_cast<size_t>(classes))
        throw std::invalid_argument("pick_sensitive_set: logits must be [images, classes] with at least two classes");
    std::vector<std::pair<double, int64_t>> m;
    std::vector<double> p(static_cast<size_t>(classes));
    for (int64_t i : pool) {
        const float* l = &logits[static_cast<size_t>(i) * classes];
        const double mx = *std::max_element(l, l + classes);
        double z = 0;
        for (int k = 0; k < classes; ++k) z += p[k] = std::exp(static_cast<double>(l[k]) - mx);
        std::partial_sort(p.begin(), p.begin() + 2, p.end(), std::greater<double>());
        m.push_back({(p[0] - p[1]) / z, i});
    }
    std::sort(m.begin(), m.end());
    m.resize(std::min(m.size(), n));
    std::vector<int64_t> out;
    if (margins) margins->clear();
    for (const auto& [margin, i] : m) {
        out.push_back(i);
        if (margins) margins->push_back(margin);
    }
    return out;
}

}  // namespace vitedit::eval

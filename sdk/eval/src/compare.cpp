// vitedit evaluation — paired bootstrap of ΔGR over failure groups.
#include "vitedit/eval/compare.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace vitedit::eval {

namespace {

Front front_from(const std::vector<Summary>& points, Axis axis, double min_sr) {
    std::vector<SweepPoint> p;
    for (const auto& s : points)
        if (s.edits > 0) p.push_back({s.locality(axis), s.gr, s.sr});
    return build_front(p, min_sr);
}

// The q-quantile of sorted values, linear between order statistics.
double quantile(const std::vector<double>& sorted, double q) {
    const double pos = q * static_cast<double>(sorted.size() - 1);
    const size_t i = static_cast<size_t>(std::floor(pos));
    if (i + 1 >= sorted.size()) return sorted.back();
    return sorted[i] + (pos - static_cast<double>(i)) * (sorted[i + 1] - sorted[i]);
}

}  // namespace

Front front_of(const MethodSweep& m, Axis axis, double min_sr) {
    std::vector<Summary> s;
    for (const auto& edits : m.points) s.push_back(summarize(edits));
    return front_from(s, axis, min_sr);
}

PairedBootstrap::PairedBootstrap(size_t groups, const BootstrapOptions& options) : groups_(groups), options_(options) {
    if (groups == 0) throw std::invalid_argument("PairedBootstrap: no groups");
    if (options.replicates < 1) throw std::invalid_argument("PairedBootstrap: replicates must be at least 1");
    if (!(options.level > 0 && options.level < 1)) throw std::invalid_argument("PairedBootstrap: level must be in (0, 1)");
    // mt19937_64's output sequence is fixed by the standard (its distributions are not): the draws
    // are the same on every platform for a seed.
    std::mt19937_64 rng(options.seed);
    weights_.assign(static_cast<size_t>(options.replicates), std::vector<double>(groups, 0.0));
    for (auto& w : weights_)
        for (size_t k = 0; k < groups; ++k) w[rng() % groups] += 1;
}

DeltaGr PairedBootstrap::delta_gr(const MethodSweep& a, const MethodSweep& b, Axis axis) const {
    DeltaGr out;
    const Front fa = front_of(a, axis, options_.min_sr), fb = front_of(b, axis, options_.min_sr);
    out.delta = eval::delta_gr(fa, fb);
    if (out.delta) out.lr_lo = std::max(fa.lr_min(), fb.lr_min()), out.lr_hi = std::min(fa.lr_max(), fb.lr_max());
    std::vector<GroupSums> sa, sb;
    for (const auto& p : a.points) sa.emplace_back(p, groups_);
    for (const auto& p : b.points) sb.emplace_back(p, groups_);
    std::vector<double> deltas;
    deltas.reserve(weights_.size());
    std::vector<Summary> pa(sa.size()), pb(sb.size());
    for (const auto& w : weights_) {
        for (size_t i = 0; i < sa.size(); ++i) pa[i] = sa[i].weighted(w);
        for (size_t i = 0; i < sb.size(); ++i) pb[i] = sb[i].weighted(w);
        if (auto d = eval::delta_gr(front_from(pa, axis, options_.min_sr), front_from(pb, axis, options_.min_sr)))
            deltas.push_back(*d);
    }
    out.replicates = static_cast<int>(weights_.size());
    out.defined = static_cast<int>(deltas.size());
    if (!deltas.empty()) {
        std::sort(deltas.begin(), deltas.end());
        const double tail = (1 - options_.level) / 2;
        out.lo = quantile(deltas, tail);
        out.hi = quantile(deltas, 1 - tail);
    }
    return out;
}

}  // namespace vitedit::eval

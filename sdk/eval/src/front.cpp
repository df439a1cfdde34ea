// vitedit evaluation — fronts and ΔGR at matched locality.
#include "vitedit/eval/front.hpp"

#include <algorithm>
#include <stdexcept>

namespace vitedit::eval {

double Front::gr_at(double lr) const {
    if (points.empty() || lr < lr_min() || lr > lr_max()) throw std::out_of_range("Front::gr_at: LR outside the front");
    auto hi = std::lower_bound(points.begin(), points.end(), lr, [](const SweepPoint& p, double l) { return p.lr < l; });
    if (hi->lr == lr || hi == points.begin()) return hi->gr;
    const auto lo = hi - 1;
    const double t = (lr - lo->lr) / (hi->lr - lo->lr);
    return lo->gr + t * (hi->gr - lo->gr);
}

Front build_front(const std::vector<SweepPoint>& points, double min_sr) {
    std::vector<SweepPoint> ok;
    for (const auto& p : points)
        if (p.sr >= min_sr) ok.push_back(p);
    // Highest LR first (ties: highest GR first); a point joins the front when its GR beats every
    // point of higher or equal LR: nothing else is at least as local and generalizes as far.
    std::sort(ok.begin(), ok.end(), [](const SweepPoint& a, const SweepPoint& b) {
        return a.lr != b.lr ? a.lr > b.lr : a.gr > b.gr;
    });
    Front f;
    for (const auto& p : ok)
        if (f.points.empty() || p.gr > f.points.back().gr) f.points.push_back(p);
    std::reverse(f.points.begin(), f.points.end());
    return f;
}

std::optional<double> delta_gr(const Front& a, const Front& b) {
    if (a.empty() || b.empty()) return std::nullopt;
    const double lo = std::max(a.lr_min(), b.lr_min()), hi = std::min(a.lr_max(), b.lr_max());
    if (lo > hi) return std::nullopt;
    if (lo == hi) return a.gr_at(lo) - b.gr_at(lo);
    // Both fronts are linear between their breakpoints, so their difference is linear between the
    // union of the breakpoints: the trapezoid rule over them is exact.
    std::vector<double> xs{lo, hi};
    for (const Front* f : {&a, &b})
        for (const auto& p : f->points)
            if (p.lr > lo && p.lr < hi) xs.push_back(p.lr);
    std::sort(xs.begin(), xs.end());
    double area = 0;
    for (size_t i = 1; i < xs.size(); ++i) {
        const double d0 = a.gr_at(xs[i - 1]) - b.gr_at(xs[i - 1]), d1 = a.gr_at(xs[i]) - b.gr_at(xs[i]);
        area += 0.5 * (d0 + d1) * (xs[i] - xs[i - 1]);
    }
    return area / (hi - lo);
}

std::optional<size_t> best_point(const std::vector<SweepPoint>& points, double min_lr, double min_sr) {
    std::optional<size_t> best;
    for (size_t i = 0; i < points.size(); ++i)
        if (points[i].lr >= min_lr && points[i].sr >= min_sr && (!best || points[i].gr > points[*best].gr)) best = i;
    return best;
}

}  // namespace vitedit::eval

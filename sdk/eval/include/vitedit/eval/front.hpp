// vitedit evaluation — a method's generalization–locality front, and the difference of two
// fronts at matched locality (ΔGR).
//
// A sweep (of the sparsity budget, or of a baseline's penalty) gives a method one (LR, GR, SR)
// point per setting. Its front is the upper envelope of the points that fix the edit images
// (SR ≥ min_sr): the points no other such point beats on both LR and GR, joined by straight
// lines. Method A beats B when A's front lies above B's over the LR range both cover.
#pragma once

#include <optional>
#include <vector>

namespace vitedit::eval {

struct SweepPoint {
    double lr = 0;  // locality on the chosen axis
    double gr = 0;
    double sr = 0;
};

// The front as a piecewise-linear GR(LR): points sorted by LR ascending, GR strictly descending.
struct Front {
    std::vector<SweepPoint> points;
    bool empty() const { return points.empty(); }
    double lr_min() const { return points.front().lr; }
    double lr_max() const { return points.back().lr; }
    // GR at `lr` by linear interpolation; `lr` must lie in [lr_min, lr_max].
    double gr_at(double lr) const;
};

Front build_front(const std::vector<SweepPoint>& points, double min_sr = 0.99);

// The mean of GR_a(L) − GR_b(L) over the LR range both fronts cover (exact for the
// piecewise-linear fronts; at a single shared LR, the difference there). Empty when either front
// is empty or their LR ranges do not meet.
std::optional<double> delta_gr(const Front& a, const Front& b);

// The point with the best GR among those with LR ≥ min_lr and SR ≥ min_sr (ties: the first);
// empty when none meets both floors.
std::optional<size_t> best_point(const std::vector<SweepPoint>& points, double min_lr, double min_sr = 0.99);

}  // namespace vitedit::eval

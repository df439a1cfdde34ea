// vitedit evaluation — is method A better than B? ΔGR at matched locality with a 95 % interval
// from a paired bootstrap over failure groups.
//
// Edits of one group are not independent (same kind of failure), so the unit of resampling is
// the group: a replicate draws as many groups as the benchmark has, with replacement, recomputes
// every sweep point of both methods on them (the same draw for both: paired), rebuilds both fronts
// and takes their ΔGR. The interval is the replicates' 2.5 and 97.5 percentiles.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vitedit/eval/front.hpp"
#include "vitedit/eval/records.hpp"

namespace vitedit::eval {

// A method's sweep: the edits at each of its sweep points.
struct MethodSweep {
    std::string name;
    std::vector<std::vector<EditRecord>> points;
};

struct BootstrapOptions {
    int replicates = 2000;
    uint64_t seed = 0;
    double min_sr = 0.99;  // the front's success floor
    double level = 0.95;
};

struct DeltaGr {
    std::optional<double> delta;   // on the benchmark's groups; empty: the fronts do not meet
    std::optional<double> lo, hi;  // the interval; empty when no replicate's fronts met
    double lr_lo = 0, lr_hi = 0;   // the common LR range of the two fronts (when they meet)
    int replicates = 0;            // drawn
    int defined = 0;               // of which the fronts met (the interval is over these)
    // A lead is "real" when the whole interval lies on one side of 0.
    bool significant() const { return lo && hi && (*lo > 0 || *hi < 0); }
};

// The method's front on one locality axis, from all its edits.
Front front_of(const MethodSweep& m, Axis axis, double min_sr = 0.99);

class PairedBootstrap {
public:
    // Draws the resamples once, so every pair of methods is compared on the same draws.
    PairedBootstrap(size_t groups, const BootstrapOptions& options = {});
    DeltaGr delta_gr(const MethodSweep& a, const MethodSweep& b, Axis axis) const;
    const BootstrapOptions& options() const { return options_; }

private:
    size_t groups_;
    BootstrapOptions options_;
    std::vector<std::vector<double>> weights_;  // [replicate][group]: times drawn
};

}  // namespace vitedit::eval

// vitedit evaluation — what one benchmark edit measured, and the means over many.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vitedit::eval {

// The two locality axes: LR on the typical set (random correct predictions: "did the edit break
// my model?") and LR_sensitive on the narrow-margin set (the paper's stress test).
enum class Axis { typical, sensitive };
const char* axis_name(Axis a);  // "LR", "LR_sensitive"

// One edit: an image of a failure group edited from the original model, then scored.
struct EditRecord {
    size_t group = 0;           // the group's index in the benchmark
    int64_t image = 0;          // the (first) edit image's index within its group
    std::vector<int64_t> images;  // every edit image's index (several when edits use sets)
    double sr = 0;              // share of the edit images fixed
    double gr = 0;              // accuracy on the group's other images (has_gr: the group has some)
    bool has_gr = false;
    double lr = 0;              // typical locality set: share of predictions unchanged
    double lr_sensitive = 0;    // sensitive locality set: likewise
    double time_s = 0;          // locate + edit
    double eval_s = 0;          // scoring it: the group and both locality sets
    int steps = 0;
    double locality(Axis a) const { return a == Axis::typical ? lr : lr_sensitive; }
};

// Means over a set of edits (GR over those with a GR).
struct Summary {
    double sr = 0, gr = 0, lr = 0, lr_sensitive = 0, time_s = 0, eval_s = 0, steps = 0;
    int edits = 0;
    double locality(Axis a) const { return a == Axis::typical ? lr : lr_sensitive; }
};
Summary summarize(const std::vector<EditRecord>& edits);

// Per-group sums of one sweep point's edits, so a resample of the groups (a weight per group:
// how often it was drawn) is summarized without revisiting the edits.
class GroupSums {
public:
    GroupSums(const std::vector<EditRecord>& edits, size_t groups);
    // The weighted means of SR, GR and the axis' LR; weights[g] multiplies group g's edits.
    Summary weighted(const std::vector<double>& weights) const;
private:
    struct Sums { double n = 0, sr = 0, gr = 0, gr_n = 0, lr = 0, lr_sensitive = 0; };
    std::vector<Sums> by_group_;
};

}  // namespace vitedit::eval

// vitedit evaluation — means of edit records, plain and per resampled group.
#include "vitedit/eval/records.hpp"

#include <stdexcept>
#include <string>

namespace vitedit::eval {

const char* axis_name(Axis a) { return a == Axis::typical ? "LR" : "LR_sensitive"; }

Summary summarize(const std::vector<EditRecord>& edits) {
    Summary s;
    int gr_n = 0;
    for (const auto& e : edits) {
        s.sr += e.sr, s.lr += e.lr, s.lr_sensitive += e.lr_sensitive, s.time_s += e.time_s, s.eval_s += e.eval_s, s.steps += e.steps;
        if (e.has_gr) s.gr += e.gr, ++gr_n;
        ++s.edits;
    }
    if (s.edits) {
        const double n = s.edits;
        s.sr /= n, s.lr /= n, s.lr_sensitive /= n, s.time_s /= n, s.eval_s /= n, s.steps /= n;
    }
    if (gr_n) s.gr /= gr_n;
    return s;
}

GroupSums::GroupSums(const std::vector<EditRecord>& edits, size_t groups) : by_group_(groups) {
    for (const auto& e : edits) {
        if (e.group >= groups) throw std::out_of_range("GroupSums: edit of group " + std::to_string(e.group) + " of " + std::to_string(groups));
        Sums& s = by_group_[e.group];
        s.n += 1, s.sr += e.sr, s.lr += e.lr, s.lr_sensitive += e.lr_sensitive;
        if (e.has_gr) s.gr += e.gr, s.gr_n += 1;
    }
}

Summary GroupSums::weighted(const std::vector<double>& weights) const {
    Sums t;
    for (size_t g = 0; g < by_group_.size(); ++g) {
        const double w = weights[g];
        if (w == 0) continue;
        const Sums& s = by_group_[g];
        t.n += w * s.n, t.sr += w * s.sr, t.gr += w * s.gr, t.gr_n += w * s.gr_n, t.lr += w * s.lr,
            t.lr_sensitive += w * s.lr_sensitive;
    }
    Summary out;
    out.edits = static_cast<int>(t.n);
    if (t.n > 0) out.sr = t.sr / t.n, out.lr = t.lr / t.n, out.lr_sensitive = t.lr_sensitive / t.n;
    if (t.gr_n > 0) out.gr = t.gr / t.gr_n;
    return out;
}

}  // namespace vitedit::eval

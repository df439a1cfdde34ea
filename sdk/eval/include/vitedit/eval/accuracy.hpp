// vitedit — a classifier's accuracy on labelled data: overall, per class, and its confusion
// matrix (what `eval` prints and `train` validates with).
#pragma once

#include <cstdint>
#include <vector>

namespace vitedit::eval {

struct Accuracy {
    int64_t n = 0, correct = 0;
    int classes = 0;
    std::vector<int64_t> per_class_n, per_class_correct;
    std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
    double accuracy() const { return n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0; }
};

// Scores predictions against labels; `include` (optional) selects which images count. Labels or
// predictions outside [0, classes) count in n (and as correct when equal) but in no class.
Accuracy score(const std::vector<int32_t>& predictions, const std::vector<int32_t>& labels, int classes,
               const std::vector<bool>* include = nullptr);

}  // namespace vitedit::eval

// vitedit — accuracy, per class and confusion.
#include "vitedit/eval/accuracy.hpp"

#include <cstddef>

namespace vitedit::eval {

Accuracy score(const std::vector<int32_t>& pred, const std::vector<int32_t>& labels, int classes,
               const std::vector<bool>* include) {
    Accuracy s;
    s.classes = classes;
    s.per_class_n.assign(classes, 0);
    s.per_class_correct.assign(classes, 0);
    s.confusion.assign(classes, std::vector<int64_t>(classes, 0));
    for (std::size_t i = 0; i < pred.size() && i < labels.size(); ++i) {
        if (include && !(*include)[i]) continue;
        const int t = labels[i], p = pred[i];
        ++s.n;
        if (t >= 0 && t < classes) {
            ++s.per_class_n[t];
            if (p >= 0 && p < classes) ++s.confusion[t][p];
        }
        if (t == p) {
            ++s.correct;
            if (t >= 0 && t < classes) ++s.per_class_correct[t];
        }
    }
    return s;
}

}  // namespace vitedit::eval

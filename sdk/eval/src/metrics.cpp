// vitedit evaluation — the metric definitions.
#include "vitedit/eval/metrics.hpp"

#include <algorithm>
#include <stdexcept>

namespace vitedit::eval {

namespace {
void same_size(size_t a, size_t b, const char* what) {
    if (a != b) throw std::invalid_argument(std::string(what) + ": " + std::to_string(a) + " predictions for " + std::to_string(b) + " references");
}
}  // namespace

double accuracy(const std::vector<int32_t>& predicted, const std::vector<int32_t>& labels) {
    same_size(predicted.size(), labels.size(), "accuracy");
    if (predicted.empty()) return 0;
    size_t hit = 0;
    for (size_t i = 0; i < predicted.size(); ++i) hit += predicted[i] == labels[i];
    return static_cast<double>(hit) / static_cast<double>(predicted.size());
}

double success_rate(const std::vector<int32_t>& predicted, const std::vector<int32_t>& labels) {
    return accuracy(predicted, labels);
}

double generalization_rate(const std::vector<int32_t>& predicted, int32_t label, const std::vector<int64_t>& exclude) {
    size_t n = 0, hit = 0;
    for (size_t i = 0; i < predicted.size(); ++i) {
        if (std::find(exclude.begin(), exclude.end(), static_cast<int64_t>(i)) != exclude.end()) continue;
        ++n, hit += predicted[i] == label;
    }
    return n ? static_cast<double>(hit) / static_cast<double>(n) : -1.0;
}

double locality_rate(const std::vector<int32_t>& after, const std::vector<int32_t>& before) {
    same_size(after.size(), before.size(), "locality_rate");
    return after.empty() ? 1.0 : accuracy(after, before);  // the share agreeing with the predictions before
}

}  // namespace vitedit::eval

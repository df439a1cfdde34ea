// vitedit evaluation — SR, GR, LR and drawdown, defined once for `edit`, `bench` and embedders.
#pragma once

#include <cstdint>
#include <vector>

namespace vitedit::eval {

// Share of the edit images predicted as their labels.
double success_rate(const std::vector<int32_t>& predicted, const std::vector<int32_t>& labels);
// Share of a failure group's images, the edit images excluded, predicted as the group's label.
// `exclude` lists the edit images' positions in `predicted`; returns < 0 when nothing is left.
double generalization_rate(const std::vector<int32_t>& predicted, int32_t label, const std::vector<int64_t>& exclude = {});
// Share of a locality set whose predicted class the edit left unchanged (1 for an empty set).
double locality_rate(const std::vector<int32_t>& after, const std::vector<int32_t>& before);
// Accuracy against labels.
double accuracy(const std::vector<int32_t>& predicted, const std::vector<int32_t>& labels);

}  // namespace vitedit::eval

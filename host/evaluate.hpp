// vitedit host — classifying a whole data set and scoring it (shared by train, eval, bench-data).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vitedit/dataset.hpp"
#include "vitedit/vit.hpp"

namespace vitedit::cli {

// Forward passes over every image of `data` (converted with to_model_input) in batches; returns
// the predicted class of each. `logits` (optional) receives all logits, row-major [N, classes].
// `on_batch(done)` (optional) is called after each batch.
std::vector<int32_t> predict_dataset(const Vit& vit, const Dataset& data, int batch = 256,
                                     std::vector<float>* logits = nullptr,
                                     const std::function<void(size_t)>& on_batch = {});

struct Scores {
    int64_t n = 0, correct = 0;
    int classes = 0;
    std::vector<int64_t> per_class_n, per_class_correct;
    std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
    double accuracy() const { return n ? static_cast<double>(correct) / n : 0.0; }
};
// Scores predictions against labels; `include` (optional) selects which images count.
Scores score(const std::vector<int32_t>& predictions, const std::vector<int32_t>& labels, int classes,
             const std::vector<bool>* include = nullptr);

}  // namespace vitedit::cli

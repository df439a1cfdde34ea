// vitedit — classifying many images through the whole model, in batches: the one predict loop
// behind `predict`, `eval`, `train`'s validation and `bench-data`.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "vitedit/dataset.hpp"
#include "vitedit/vit.hpp"

namespace vitedit {

struct Predictions {
    std::vector<int32_t> labels;  // top-1 class of each image
    std::vector<float> logits;    // [N, classes] row-major when asked for, else empty
};

// Writes image i's model input ([C, H, W] floats, normalized as to_model_input does) to dst.
using ModelInputFn = std::function<void(size_t i, float* dst)>;
// Called after each batch with the number of images classified so far.
using BatchDoneFn = std::function<void(size_t done)>;

// Classifies images 0..n-1 in batches of `batch`; keeps the logits when keep_logits.
Predictions predict(const Vit& vit, size_t n, const ModelInputFn& input, int64_t batch = 256, bool keep_logits = false,
                    const BatchDoneFn& on_batch = {});
// Every image of `data`, converted with to_model_input one batch at a time.
Predictions predict(const Vit& vit, const Dataset& data, int64_t batch = 256, bool keep_logits = false,
                    const BatchDoneFn& on_batch = {});

// The index of the largest of `classes` logits (ties: the first).
int32_t top1(const float* logits, int classes);

}  // namespace vitedit

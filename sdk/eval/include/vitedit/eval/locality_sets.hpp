// vitedit evaluation — which images make a benchmark's two locality sets (`vitedit bench-data`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vitedit::eval {

// Candidates are the correctly classified images that are not held out (excluded[i] false).
struct LocalityCandidates {
    const std::vector<int32_t>* predicted = nullptr;
    const std::vector<int32_t>* labels = nullptr;
    const std::vector<bool>* excluded = nullptr;  // held-out subpopulations, failure-group sources
};

// The typical set: n candidates drawn at random with `seed`, returned in index order (fewer when
// fewer qualify). The same inputs and seed give the same set on every platform.
std::vector<int64_t> draw_typical_set(const LocalityCandidates& c, size_t n, uint64_t seed);

// The sensitive set: the n candidates with the smallest margin between their top two softmax
// probabilities (logits row-major [N, classes]), narrowest first; `margins` (optional) gets each
// chosen image's margin.
std::vector<int64_t> pick_sensitive_set(const LocalityCandidates& c, const std::vector<float>& logits, int classes, size_t n,
                                        std::vector<double>* margins = nullptr);

}  // namespace vitedit::eval

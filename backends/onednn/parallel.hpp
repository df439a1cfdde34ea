// When a loop is worth splitting across OpenMP threads (oneDNN uses the same OpenMP runtime).
#pragma once

#include <cstdint>

namespace vitedit::onednn {

// Elements below which a loop stays on the calling thread (thread start-up costs more).
constexpr int64_t kParallelGrain = 1 << 15;

inline bool worth_parallel(int64_t work) { return work >= kParallelGrain; }

}  // namespace vitedit::onednn

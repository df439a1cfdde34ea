// vitedit — per-op timing of a backend, as a decorator over its C table.
//
// The host wraps every backend it creates (Registry::create_backend): the wrapper's table
// forwards each op to the backend's own and, while profiling is enabled, times it from the call
// to a synchronize after it (so a device backend's time lands on the op that issued the work).
// Because plugins are handed the wrapped table too, an editor's optimizer steps are timed with
// the engine's ops — no plugin links anything for it (`vitedit perf --profile`).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "vitedit/backend.h"

namespace vitedit::op_profile {

struct OpTime {
    int64_t calls = 0;
    double seconds = 0;
    double flops = 0;  // products (gemm, linear_fwd) only
};

// A table forwarding every op and extension of `inner`; destroying it destroys `inner`.
ve_backend wrap(const ve_backend& inner);

void set_enabled(bool on);
void reset();
// Time per op since reset(); products are keyed by kind, transpositions and M x K x N.
std::map<std::string, OpTime> snapshot();

}  // namespace vitedit::op_profile

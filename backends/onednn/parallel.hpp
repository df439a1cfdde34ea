// When work is worth splitting across OpenMP threads (oneDNN uses the same OpenMP runtime).
#pragma once

#include <algorithm>
#include <cstdint>

#include <omp.h>

namespace vitedit::onednn {

// Elements below which a loop stays on the calling thread (thread start-up costs more).
constexpr int64_t kParallelGrain = 1 << 15;

// A GEMM runs on the calling thread below this many multiply-adds, if its operands also fit in
// one core's cache. Waking the pool costs a futex round trip per parallel region (~10-30 us with
// OMP_WAIT_POLICY=PASSIVE, which main() sets), more than a product this small gains from a
// second core; the bundled model's edit step is made of such products (2.0-2.1 -> 1.45 ms per
// step on the 2-core machine). A matrix-vector product over a large weight (ViT-B/16's CLS-only
// last block) is bound by memory bandwidth instead, which two cores do double: hence the bytes.
constexpr int64_t kGemmParallelGrain = 1 << 22;
constexpr int64_t kSerialMaxBytes = 1 << 21;

inline bool worth_parallel(int64_t work) { return work >= kParallelGrain; }

// fn(lo, hi) over [0, n) in one contiguous span per OpenMP thread (one span when n is small), for
// loops written as span kernels (below).
template <class Fn>
void for_spans(int64_t n, Fn&& fn) {
    if (!worth_parallel(n)) return fn(int64_t{0}, n);
#pragma omp parallel
    {
        const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t per = (n + nt - 1) / nt, lo = std::min(n, t * per), hi = std::min(n, lo + per);
        if (lo < hi) fn(lo, hi);
    }
}

// fn(r0, r1) over the rows [0, R) of an [R, C] matrix in whole-row spans, split as for_spans
// splits its R * C elements (so as many threads join as for a flat loop of that size).
template <class Fn>
void for_row_spans(int64_t R, int64_t C, Fn&& fn) {
    if (C == 0) return;
    for_spans(R * C, [&](int64_t lo, int64_t hi) {
        const int64_t r0 = (lo + C - 1) / C, r1 = (hi + C - 1) / C;  // lo, hi rounded up to rows
        if (r0 < r1) fn(r0, r1);
    });
}

// The library is built for plain x86-64 (SSE2), which leaves the element-wise loops a quarter of
// what AVX-512 does with them; kernels marked VE_SIMD_CLONES are also compiled for x86-64-v3
// (AVX2) and -v4 (AVX-512), and the loader picks the best the CPU runs (GCC function clones).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VE_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define VE_SIMD_CLONES
#endif

// Keeps the oneDNN primitives created and run inside its lifetime on the calling thread when
// `serial` (the work is small). oneDNN reads omp_get_max_threads() both when it creates a
// primitive (some kernels fix their thread split then) and when it runs one, so the scope has to
// cover both; the thread count depends on the problem's size only, so a cached primitive is
// always run under the count it was made for.
class SerialIfSmall {
public:
    explicit SerialIfSmall(bool serial) : saved_(serial ? omp_get_max_threads() : 0) {
        if (saved_ > 1) omp_set_num_threads(1);
    }
    ~SerialIfSmall() {
        if (saved_ > 1) omp_set_num_threads(saved_);
    }
    SerialIfSmall(const SerialIfSmall&) = delete;
    SerialIfSmall& operator=(const SerialIfSmall&) = delete;

private:
    int saved_;
};

}  // namespace vitedit::onednn

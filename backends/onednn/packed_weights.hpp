// Packed copies of GEMM weight operands that have not changed since they were packed.
//
// oneDNN's matmul runs fastest on weights reordered into its own blocked layout (and, in bf16
// precision, converted to bf16); a plain row-major [K, N] operand runs ~35 % slower here
// (`vitedit perf --profile`). Model weights are read by many GEMMs between writes — every frozen
// weight in every step of an edit, every weight in an evaluation — so the GEMM planner keeps a
// packed copy of an operand from its second read on, and this cache drops a copy as soon as any
// op of this backend writes a byte it was made from (OnednnBackend::output_view, upload, free).
// Nothing else can write backend memory, so a copy is never stale. A tensor written between
// every pair of reads (activations, the weights being edited) is never packed: it costs one
// lookup per GEMM.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include <dnnl.hpp>

namespace vitedit::onednn {

class PackedWeights {
public:
    explicit PackedWeights(size_t budget_bytes) : budget_(budget_bytes) {}

    // The packed copy of the operand at [lo, hi) (`user`, laid out as `user_desc`) in the layout
    // `desc`, or an empty memory. On the second read with no write in between, the operand is
    // reordered into `desc` (when the budget allows) and the copy returned. Returned by value (a
    // shared handle): an upload or free on another thread may drop the entry meanwhile, never
    // the memory the caller is reading.
    // first_read: pack already on the first read (an operand whose in-place GEMM is much slower
    // than a reorder plus the packed GEMM).
    dnnl::memory get(uintptr_t lo, uintptr_t hi, const dnnl::memory::desc& user_desc, void* user,
                     const dnnl::memory::desc& desc, const dnnl::engine& engine, dnnl::stream& stream,
                     bool first_read = false);
    // Some op wrote bytes [lo, hi): drop every copy (and every first-read note) made from them.
    void written(uintptr_t lo, uintptr_t hi);
    size_t bytes() const { return used_; }

private:
    struct Entry {
        uintptr_t lo, hi;
        dnnl::memory::desc user_desc, desc;
        dnnl::memory packed;  // empty: read once, not packed yet
        size_t bytes = 0;
    };
    std::mutex mutex_;  // upload/free may come from other threads than the ops
    std::vector<Entry> entries_;  // a few hundred at most (one per weight matrix and layout)
    size_t budget_, used_ = 0;
};

}  // namespace vitedit::onednn

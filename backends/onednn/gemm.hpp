// Strided, batched GEMM on oneDNN matmul primitives, with a cache of execution plans.
//
// A plan is made once per (trans, shapes, strides, alpha, beta) and reused: it holds the
// matmul primitive (alpha as output scales, beta as a sum post-op) and how to feed it. oneDNN's
// fast kernels need one unit stride in each matrix and a unit column stride in the output, and
// no zero batch strides; the plan gets there by
//   - computing C^T = op(B)^T op(A)^T when C is column-major,
//   - packing an operand whose matrix dims have no unit stride into dense scratch,
//   - looping over the batch with a 2-D primitive when the batched one would be the reference.
// In bf16 precision (the backend's `precision=bf16`), the 2-D products (linear layers and their
// gradients) run in bf16 with f32 accumulation into the f32 output: B from the packed cache
// (converted once) or converted per call into dense bf16 scratch, A converted per call; batched
// products (attention) stay f32. The weights stay f32 (the master copy the optimizers update).
// With a PackedWeights cache, a 2-D B operand (the weights, in y = x W^T and dx = dy W) that is
// read again unchanged runs from a copy in oneDNN's blocked layout (bf16 there in bf16 precision):
// no per-call conversion, and the faster kernels.
// A product of fewer than `serial_below` multiply-adds is planned and run on the calling thread
// (see SerialIfSmall): for the bundled model's 50-row products, waking the OpenMP pool costs more
// than the second core gains.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "packed_weights.hpp"
#include "parallel.hpp"
#include "tensor_view.hpp"

namespace vitedit::onednn {

// What a product's output gets before it is stored (linear_fwd): a bias per column, then GELU —
// fused into the kernel's write of each tile instead of extra passes over the output.
struct Epilogue {
    const float* bias = nullptr;  // [N], or none
    bool gelu = false;            // exact (erf) GELU after the bias
    bool any() const { return bias || gelu; }
};

// The planner's settings (the backend's config keys in parentheses).
struct GemmSettings {
    size_t max_plans = 512;                      // plans kept (max_gemm_plans)
    bool bf16 = false;                           // 2-D products in bf16 (precision=bf16)
    PackedWeights* packed = nullptr;             // packed-weights cache; null: never pack
    int64_t min_packed = 64 * 1024;              // smallest B worth packing (weight_cache_min)
    bool pack_first_read = true;                 // pack wide row-major B at once (pack_first_read)
    int64_t serial_below = kGemmParallelGrain;   // see SerialIfSmall (gemm_serial_below)
};

class GemmPlanner {
public:
    GemmPlanner(const dnnl::engine& engine, dnnl::stream& stream, const GemmSettings& settings);
    ~GemmPlanner();
    GemmPlanner(const GemmPlanner&) = delete;
    GemmPlanner& operator=(const GemmPlanner&) = delete;

    // c = alpha * op(a) @ op(b) + beta * c over the last two dims; ndim 2..4, equal batch dims.
    // An epilogue needs a 2-D product with a row-major C of more than one column.
    void run(bool trans_a, bool trans_b, float alpha, const View& a, const View& b, float beta,
             const View& c, const Epilogue& epilogue = {});

    size_t cached_plans() const { return plans_.size(); }
    // Implementation oneDNN chose for the most recent call ("gemm:jit", "brg:avx512_core", ...).
    const char* last_impl() const;

    struct Plan;

private:
    // What a plan depends on: transposes, rank, shapes and strides of A, B, C, alpha, beta, the
    // epilogue; unused tail entries zero. Fixed size: looking a plan up allocates nothing.
    using Key = std::array<int64_t, 3 + 6 * VE_MAX_DIMS + 3>;
    struct KeyHash {
        size_t operator()(const Key& k) const noexcept;
    };

    Plan& plan_for(bool trans_a, bool trans_b, float alpha, const View& a, const View& b,
                   float beta, const View& c, const Epilogue& epilogue);
    void execute(Plan& plan, const View& a, const View& b, float beta, const View& c, const Epilogue& epilogue);
    float* aligned_scratch(int64_t floats);  // the scratch, grown to `floats`, 64-byte aligned

    dnnl::engine engine_;
    dnnl::stream& stream_;
    size_t max_plans_;
    bool bf16_;
    PackedWeights* packed_;  // may be null: never pack
    int64_t min_packed_;     // smallest B (elements) worth a packed copy
    bool pack_first_read_;
    int64_t serial_below_;   // multiply-adds below which a product runs on the calling thread
    std::unordered_map<Key, std::unique_ptr<Plan>, KeyHash> plans_;
    std::vector<float> scratch_;
    const Plan* last_ = nullptr;
};

}  // namespace vitedit::onednn

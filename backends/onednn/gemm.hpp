// Strided, batched GEMM on oneDNN matmul primitives, with a cache of execution plans.
//
// A plan is made once per (trans, shapes, strides, alpha, beta) and reused: it holds the
// matmul primitive (alpha as output scales, beta as a sum post-op) and how to feed it. oneDNN's
// fast kernels need one unit stride in each matrix and a unit column stride in the output, and
// no zero batch strides; the plan gets there by
//   - computing C^T = op(B)^T op(A)^T when C is column-major,
//   - packing an operand whose matrix dims have no unit stride into dense scratch,
//   - looping over the batch with a 2-D primitive when the batched one would be the reference.
// In bf16 precision (the backend's `precision=bf16`), A and B are always converted into dense
// bf16 scratch and multiplied with f32 accumulation into the f32 output: the weights stay f32
// (the master copy the optimizers update); only the products run in bf16.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include <dnnl.hpp>

#include "tensor_view.hpp"

namespace vitedit::onednn {

class GemmPlanner {
public:
    GemmPlanner(const dnnl::engine& engine, dnnl::stream& stream, size_t max_plans, bool bf16 = false);
    ~GemmPlanner();
    GemmPlanner(const GemmPlanner&) = delete;
    GemmPlanner& operator=(const GemmPlanner&) = delete;

    // c = alpha * op(a) @ op(b) + beta * c over the last two dims; ndim 2..4, equal batch dims.
    void run(bool trans_a, bool trans_b, float alpha, const View& a, const View& b, float beta,
             const View& c);

    size_t cached_plans() const { return plans_.size(); }
    // Implementation oneDNN chose for the most recent call ("gemm:jit", "brg:avx512_core", ...).
    const char* last_impl() const;

    struct Plan;

private:
    struct KeyHash {
        size_t operator()(const std::vector<int64_t>& k) const noexcept;
    };

    Plan& plan_for(bool trans_a, bool trans_b, float alpha, const View& a, const View& b,
                   float beta, const View& c);
    void execute(Plan& plan, const View& a, const View& b, float beta, const View& c);

    dnnl::engine engine_;
    dnnl::stream& stream_;
    size_t max_plans_;
    bool bf16_;
    std::unordered_map<std::vector<int64_t>, std::unique_ptr<Plan>, KeyHash> plans_;
    std::vector<float> scratch_;
    const Plan* last_ = nullptr;
};

}  // namespace vitedit::onednn

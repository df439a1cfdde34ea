// vitedit — oracle masks for meta-training the hypernetwork (docs/method.md, meta-training step 2).
//
// For each sample i (a CutMix image with a soft target), mask logits u_i over every unit of every
// edit site are learned by outer RMSprop steps on KL_i + lambda * mean(m_i), m_i = sigmoid(10 u_i),
// where KL_i = T^2 KL(target_i || softmax(f(x_i) / T)) is measured after an inner edit: from
// delta = 0, inner_steps times, evaluate at W + delta (.) m_i (the unit's mask broadcast over its
// row of fc1 / column of fc2), g = dKL/dW_eff, delta -= edit_lr * g. The outer gradient reaches
// m_i only through the final W + delta (.) m_i (delta constant: first-order):
//   dL/dm_i[unit] = sum over the unit's row/column of (dKL/dW_eff (.) delta) + lambda / #units.
//
// The samples of a batch share nothing but the base weights, so they run as ONE batch: every
// edit site gets per-sample weights [B, H, D] (BlockParams with per-sample FFN weights), every
// pass runs only the blocks from the lowest site up, from the frozen prefix the caller computed
// once (Vit::forward_prefix), and backward stops at the lowest site. When the last block holds no
// site it runs for the CLS row only (block_forward_cls). The model's own weights are never written.
#pragma once

#include <cstdint>
#include <vector>

#include "vitedit/edit_session.hpp"
#include "vitedit/vit.hpp"

namespace vitedit {

struct OracleOptions {
    int inner_steps = 5;       // S_in
    int outer_steps = 10;      // S_out
    float edit_lr = 1e-3f;     // eta
    float mask_lr = 0.1f;      // RMSprop lr on u (alpha 0.99, eps 1e-8)
    float lambda = 1.0f;       // sparsity weight
    float temperature = 5.0f;  // T
};

struct OracleTiming {
    double inner_s = 0;   // inner edit passes
    double outer_s = 0;   // the outer pass, the host reduction and the mask update
    int64_t passes = 0;   // batched forward+backward passes
};

class OracleMasker {
public:
    OracleMasker(const Vit& vit, std::vector<EditSite> sites, OracleOptions options);

    const std::vector<EditSite>& sites() const { return sites_; }
    int lowest_block() const { return lowest_; }
    int64_t units_per_sample() const { return units_; }
    const OracleOptions& options() const { return opt_; }
    const OracleTiming& timing() const { return timing_; }

    // tokens: [B, T, D] entering lowest_block() (Vit::forward_prefix of the B images);
    // targets: [B, K] probabilities on the same backend. u: [B * units_per_sample()] mask logits,
    // sample-major, sites in order, units in order; updated in place by outer_steps RMSprop steps
    // (state from zero). Returns KL_i after the inner edit at the last outer step.
    std::vector<float> optimize(const Tensor& tokens, const Tensor& targets, std::vector<float>& u);

    // One outer gradient at u: grad = d/du [KL_i(after the inner edit) + lambda * mean(m_i)] for
    // every sample (same layout as u). Returns KL_i after the inner edit.
    std::vector<float> outer_gradient(const Tensor& tokens, const Tensor& targets, const std::vector<float>& u,
                                      std::vector<float>& grad);

    // sigmoid(k * u), element-wise (the oracle mask with k = 10, the label mask with k = 3).
    static std::vector<float> sigmoid(const std::vector<float>& u, float k);

private:
    void ensure(int64_t batch);
    // Weff = W, delta = 0 for every site.
    void reset_effective();
    // After a pass: delta -= eta g and Weff -= eta g (.) m (so Weff = W + delta (.) m throughout).
    void inner_update(const std::vector<Tensor>& g);
    std::vector<float> outer_gradient(const Tensor& tokens, const Tensor& targets, const std::vector<float>& u,
                                      std::vector<float>& grad, bool reuse_first);
    // Forward from the prefix at the effective weights, KL per sample, and dKL/dWeff per site.
    std::vector<float> pass(const Tensor& tokens, const Tensor& targets);

    const Vit& vit_;
    std::vector<EditSite> sites_;
    OracleOptions opt_;
    int lowest_ = 0;
    bool cls_top_ = false;              // the last block holds no site: run it for the CLS row only
    int64_t units_ = 0;
    BlockShape shape_;
    std::vector<BlockParams> blocks_;   // base params of blocks lowest_..depth-1
    std::vector<Tensor> base_um_;       // per site: the base weight, unit-major [H, D]
    int64_t batch_ = 0;
    std::vector<Tensor> rep_, weff_, delta_, grad_, mask_;  // per site, [B, H, D] unit-major / [B*H]
    std::vector<Tensor> g0_;  // the base-weight gradient, reused across one optimize()'s outer steps
    OracleTiming timing_;
};

}  // namespace vitedit

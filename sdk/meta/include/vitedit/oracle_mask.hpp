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
// The locality term (OracleOptions::locality = mu > 0, given an Anchor of R unrelated images)
// adds mu * mean_r KL(p0_r || softmax(f_{W + delta (.) m_i}(z_r))) (T = 1, p0 = the original
// model's prediction) to sample i's outer objective: a mask is rewarded for neurons whose edit
// leaves other images' predictions where they were. Its gradient reaches m_i the same
// first-order way; the R images run once per sample, in one batch of B * R rows whose site
// weights are each sample's edited ones repeated R times.
//
// Pseudo-groups (an OracleGroup of G other hosts per sample: the same CutMix paste on other
// images of the sample's class) move the outer KL off the edited image: sample i's outer objective
// takes mean_g T^2 KL(target_ig || softmax(f_{W + delta (.) m_i}(x_ig) / T)) over its G hosts
// instead of KL_i, while the inner edit still runs on sample i alone — a mask is rewarded for
// fixing the failure's kind, not the one image (what GR measures). Same first-order chain, one
// batch of B * G rows.
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
    float locality = 0.0f;     // mu: weight of the locality KL on the Anchor images (0: off)
};

// Unrelated images for the locality term: their tokens entering the lowest site block [R, T, D]
// and the original model's softmax on them [R, K] (temperature 1).
struct OracleAnchor {
    Tensor tokens, targets;
};

// Pseudo-groups: the G other hosts of every sample, sample-major: their tokens entering the lowest
// site block [B * G, T, D] and their soft targets [B * G, K] (temperature T, like the samples').
struct OracleGroup {
    Tensor tokens, targets;
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
    // With options().locality > 0 the locality term on `anchor` joins the objective; with a
    // `group` the outer KL is its hosts' mean instead of the sample's own.
    std::vector<float> optimize(const Tensor& tokens, const Tensor& targets, std::vector<float>& u,
                                const OracleAnchor* anchor = nullptr, const OracleGroup* group = nullptr);

    // One outer gradient at u: grad = d/du [KL_i(after the inner edit) + lambda * mean(m_i)
    // (+ mu * mean_r locality KL_ir)] for every sample (same layout as u), KL_i replaced by
    // mean_g KL_ig with a group. Returns that outer KL per sample.
    std::vector<float> outer_gradient(const Tensor& tokens, const Tensor& targets, const std::vector<float>& u,
                                      std::vector<float>& grad, const OracleAnchor* anchor = nullptr,
                                      const OracleGroup* group = nullptr);
    // Per sample, mean_r KL_ir of the last outer gradient that had the locality term (else empty).
    const std::vector<float>& last_locality() const { return locality_kl_; }

    // sigmoid(k * u), element-wise (the oracle mask with k = 10, the label mask with k = 3).
    static std::vector<float> sigmoid(const std::vector<float>& u, float k);

private:
    void ensure(int64_t batch);
    // Weff = W, delta = 0 for every site.
    void reset_effective();
    // After a pass: delta -= eta g and Weff -= eta g (.) m (so Weff = W + delta (.) m throughout).
    void inner_update(const std::vector<Tensor>& g);
    std::vector<float> outer_gradient(const Tensor& tokens, const Tensor& targets, const std::vector<float>& u,
                                      std::vector<float>& grad, bool reuse_first, const OracleAnchor* anchor,
                                      const OracleGroup* group);
    // Forward from the prefix (tokens [N, T, D]) at per-row site weights `weff` ([N, H, D] unit-
    // major), T^2 KL per row at temperature T, and grad_scale * dKL/dWeff per site into `grad`.
    std::vector<float> pass(const Tensor& tokens, const Tensor& targets, float T, const std::vector<Tensor>& weff,
                            const std::vector<Tensor>& grad, float grad_scale);
    // Rows that each sample's edited weights evaluate: R per sample, sample-major.
    struct SampleRows {
        Tensor tokens, targets;                // [B * R, T, D], [B * R, K]
        std::vector<Tensor> weff, grad;        // per site [B * R, H, D]
        int64_t per_sample = 0;                // R
    };
    void shape_rows(SampleRows& rows, int64_t per_sample);
    // weight * mean over each sample's rows of T^2 KL at its edited weights W + delta_i (.) m_i:
    // the first-order gradient of each sample's mask added into `grad`; returns the per-sample mean KL.
    std::vector<float> add_rows_term(SampleRows& rows, float temperature, float weight, std::vector<float>& grad);
    // The first-order chain to the masks: per sample, sum over each unit's row of (the sum of its
    // per_sample rows' dKL/dWeff in g_eff) (.) delta, added into `grad`.
    void chain_to_masks(const std::vector<Tensor>& g_eff, int64_t per_sample, std::vector<float>& grad) const;
    // The locality term's first-order gradient of each sample's mask, added into `grad`.
    void add_locality(const OracleAnchor& anchor, std::vector<float>& grad);

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
    SampleRows loc_;                           // the anchor repeated B times
    const OracleAnchor* loc_for_ = nullptr;    // the anchor loc_ holds (within one optimize)
    SampleRows group_;                         // the pseudo-groups' hosts
    std::vector<float> locality_kl_;
    OracleTiming timing_;
};

}  // namespace vitedit

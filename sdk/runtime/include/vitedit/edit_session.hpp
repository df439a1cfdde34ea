// vitedit — one edit: the sites, the edit images and labels, and the services plugins call.
//
// The session edits the engine's site weights in place, keeps their originals for restore(),
// and exposes everything to plugins as a ve_edit_session C table. Blocks below the lowest edit
// site never change during an edit, so their output (the tokens entering the lowest site block)
// is computed once per session and every evaluate() runs only the blocks from there up.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vitedit/plugin.h"
#include "vitedit/vit.hpp"

namespace vitedit {

struct EditSite {
    std::string name;   // "blocks.7.mlp.fc1.weight"
    int block = 0;
    int unit = VE_UNIT_ROW;
    int64_t rows = 0, cols = 0, units = 0;
};

// Models of at most kShallowDepth blocks: their last two (4,5 for 6 blocks: measured best on
// the bundled model). Deeper ones: the paper's three consecutive blocks from floor(7*depth/12),
// moved down so at least one block follows them (7,8,9 for 12 blocks; not measured here).
constexpr int kShallowDepth = 8;
std::vector<int> default_edit_blocks(int depth);
// fc1 (neuron rows) and fc2 (neuron columns) of each block: the paper's sites.
std::vector<EditSite> ffn_sites(const VitConfig& cfg, const std::vector<int>& blocks);

// Keeps the top `sparsity` fraction of all units across sites (at least one unit); ties go to
// the lower site/unit index so the result is deterministic.
std::vector<std::vector<float>> binarize_top_fraction(const std::vector<std::vector<float>>& scores,
                                                      double sparsity);

// Images whose original predictions the edit should keep: the session's loss becomes
// CE(edit images) + weight * mean over these images of KL(original ‖ edited) (softmax at T = 1),
// so an editor descending it fixes the edit images while it anchors the model's answers here.
// Plugins never see these images: num_images, labels, logits and features are the edit images'.
struct ReplayAnchor {
    Tensor images;        // [R, C, H, W] on the model's backend; undefined: no anchor
    float weight = 0.0f;  // β >= 0; 0 turns the anchor off
    bool active() const { return images.defined() && images.dim(0) > 0 && weight > 0.0f; }
};

class EditSession {
public:
    // images: [N, C, H, W] on vit's backend. use_prefix_cache = false recomputes every block on
    // every evaluate (the reference behaviour, for measuring what the cache buys).
    EditSession(Vit& vit, std::vector<EditSite> sites, Tensor images, std::vector<int32_t> labels,
                uint64_t seed, std::string model_id, bool use_prefix_cache = true, std::string model_path = "",
                ReplayAnchor replay = {});
    ~EditSession();
    EditSession(const EditSession&) = delete;
    EditSession& operator=(const EditSession&) = delete;

    const ve_edit_session* c_session() const { return &table_; }
    const std::vector<EditSite>& sites() const { return sites_; }
    Vit& vit() { return vit_; }

    ve_edit_eval evaluate(bool want_grads);
    std::vector<float> last_logits() const { return logits_; }
    // What evaluate(false) gives before any edit, and its logits, from the forward the session
    // made when it began (for the original features): a report's "before" without running the
    // blocks from the sites up once more.
    const ve_edit_eval& initial_eval() const { return initial_; }
    const std::vector<float>& initial_logits() const { return initial_logits_; }
    const std::vector<float>& original_features() const { return features_; }

    // Masks the editor sees (host values, one vector per site, each of `units` entries).
    void set_masks(const std::vector<std::vector<float>>& masks);
    // Back to no masks (zero), whole gradients and no compact unit gradients: what a locator
    // sees. run_edit calls it first, so a session edited again locates on whole gradients.
    void clear_masks();
    // Site weights back to their values when the session began.
    void restore();
    // Throws vitedit::Error naming the site when a site weight changed outside its masked units
    // since set_masks, which the editor ABI forbids: the edit would not be the sparse edit its
    // mask reports, and the session relies on it (once masks are set, the lowest edit block's MLP
    // runs its masked units only, MlpUnits, keeping the other units' share of its output from
    // when they were set). run_edit checks after every edit.
    void check_outside_masks() const;
    // True when any site weight or the loss went non-finite.
    bool weights_finite() const;
    // Site i's gradient in compact form (its masked units only) from now on, instead of the whole
    // gradient (ve_edit_session.select_grad_form VE_GRAD_UNITS); false where the engine cannot.
    bool select_unit_grad(int i);
    // Site i back to the whole gradient (VE_GRAD_FULL).
    void select_full_grad(int i);
    // The compact gradient of a site selected so; undefined otherwise.
    Tensor unit_grad(int i) const;

private:
    struct CTable;
    // The loss (CE over the edit images' rows, plus the replay anchor over the rows after them)
    // and the edit images' correct count of `logits` (their rows also kept as last_logits), and
    // d loss / d logits into `dlogits` (every row) when it is given.
    ve_edit_eval score(const Tensor& logits, Tensor* dlogits);

    Vit& vit_;
    std::vector<EditSite> sites_;
    Tensor images_;                   // the edit images, then the replay images (one batch)
    std::vector<int32_t> labels_;     // the edit images' labels (N = labels_.size())
    int64_t replay_rows_ = 0;         // R replay images after the N edit images
    float replay_weight_ = 0.0f;
    Tensor replay_target_;            // [R, K]: the original model's softmax on the replay images
    int lowest_;
    bool use_cache_;
    bool cls_last_ = true;            // no site in the last block: it runs for the CLS row only
    ve_edit_eval initial_{};
    std::vector<float> initial_logits_;
    Tensor prefix_;                   // tokens entering block lowest_
    Vit::MlpInput mlp_in_;            // or, when its sites are all in its MLP, what that MLP reads
    // Block lowest_'s MLP for its masked units only (built at the first evaluate after set_masks,
    // where units_ok_).
    bool units_ok_ = false;
    std::unique_ptr<MlpUnits> mlp_units_;
    void prepare_mlp_units();
    std::vector<uint64_t> outside_hash_;  // per site, of its weights outside its mask at set_masks
    uint64_t outside_mask_hash(size_t site) const;
    std::map<std::string, std::vector<int32_t>> units_;  // masked units per site, once masks are set
    std::vector<Tensor> weights_, originals_, grads_, masks_;
    std::map<std::string, Tensor> unit_grads_;  // sites whose editor reads compact unit gradients
    std::vector<float> logits_, features_;
    std::string model_id_, model_path_;
    ve_edit_session table_{};
};

}  // namespace vitedit

// vitedit — one iteration of meta-training the hypernetwork locator (docs/method.md):
// CutMix pseudo-failures on the patch grid, the base model's soft targets on the unmixed images,
// oracle masks (OracleMasker), then distillation into the hypernetwork with BCE.
//
// Determinism: every random draw comes from std::mt19937_64 seeded by std::seed_seq from
// (seed, purpose, iteration), sampled by hand (no implementation-defined distributions), so an
// iteration is a pure function of (seed, iteration, the hypernetwork's state): a run resumed from
// a checkpoint draws exactly what the uninterrupted one would.
//
// Data parallelism: given a Collective of N processes, every process draws the same whole batch
// (it depends on the seed, never on N), computes the oracle masks of its RowShare of it only, and
// the distillation gradients are summed across processes before the same RMSprop step everywhere
// (Hypernet::train_step). The hypernetwork thus follows the single-process run up to float
// summation order, and a checkpoint holds no per-process state: resume with any N.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "vitedit/collective.hpp"
#include "vitedit/hypernet.hpp"
#include "vitedit/oracle_mask.hpp"

namespace vitedit {

struct MetaTrainOptions {
    int batch = 8;             // B: pseudo-failures per iteration (2B images drawn)
    OracleOptions oracle;
    int cutmix_min = 2;        // rectangle sides, in patches
    int cutmix_max = 4;
    int locality_images = 8;   // R: unrelated images of the locality term (oracle.locality > 0)
    int pseudo_group = 0;      // G >= 2: each pseudo-failure's paste also lands on G - 1 other images
                               // of its class, where the outer KL is taken (0 or 1: off)
    int distill_steps = 3;     // hypernetwork steps per batch
    double lr = 1e-4;          // hypernetwork RMSprop peak lr (cosine schedule to 0)
    int64_t iterations = 1000; // the schedule's length
    uint64_t seed = 0;
};

// A rectangle of whole patches: rows [y, y + h), columns [x, x + w) of the patch grid.
struct PatchRect {
    int y = 0, x = 0, h = 0, w = 0;
};
// Pastes rectangle r of src onto dst (both [C, H, W] images, patch size p).
void cutmix_paste(float* dst, const float* src, int channels, int height, int width, int patch, const PatchRect& r);

struct MetaIterationStats {
    double kl_before = 0;  // mean T^2 KL of the CutMix images before any edit
    double kl_after = 0;   // ... after the inner edit at the final oracle masks' last outer step
    double bce = 0;        // distillation loss before this batch's first hypernetwork step
    double bce_after = 0;  // ... before its last step
    double mean_mask = 0;  // mean oracle mask sigmoid(10 u)
    double locality_kl = 0;  // mean KL(original || edited) on the locality images, last outer step (0: term off)
    double lr = 0;         // hypernetwork lr of the last step
};

struct MetaTiming {
    double prefix_s = 0;   // sampling, CutMix, targets, frozen prefix, base features
    double inner_s = 0;    // inner edit passes
    double outer_s = 0;    // outer passes, mask gradients and updates
    double distill_s = 0;  // hypernetwork steps
    int64_t passes = 0;    // batched forward+backward passes through the edit blocks
};

// The pseudo-failures of one iteration (exposed for tests and inspection).
struct MetaBatch {
    std::vector<size_t> images;        // 2B indices into the pool's index space (image i, then its donor i+B)
    std::vector<PatchRect> rects;      // B rectangles
    std::vector<float> mixed, clean;   // [B, C, H, W] model inputs
    std::vector<float> u0;             // initial mask logits [B * units], U[-1, 1]
    std::vector<size_t> locality;      // R images of the locality term (when it is on), shared by all rows
    std::vector<float> locality_x;     // [R, C, H, W] their model inputs
    // Pseudo-groups (pseudo_group = G >= 2): G - 1 further hosts of each image i's class, sample-
    // major, each with image i's rectangle pasted from the same donor.
    std::vector<size_t> group;          // [B * (G - 1)] indices
    std::vector<float> group_mixed, group_clean;  // [B * (G - 1), C, H, W]
};

class MetaTrainer {
public:
    // image(k): the model input ([C, H, W], normalized) of image k; pool: the indices allowed
    // (held-out images already removed by the caller). The hypernetwork's sites must be `sites`.
    // across: the processes sharing each batch (null: this one alone); each needs a row, so
    // options.batch >= across->size(). label(k): the class of image k (needed by pseudo-groups).
    MetaTrainer(const Vit& vit, std::vector<EditSite> sites, Hypernet& hypernet, MetaTrainOptions options,
                std::function<std::vector<float>(size_t)> image, std::vector<size_t> pool, Collective* across = nullptr,
                std::function<int64_t(size_t)> label = nullptr);

    const MetaTrainOptions& options() const { return opt_; }
    const OracleMasker& masker() const { return masker_; }
    MetaTiming timing() const;

    MetaBatch draw(int64_t iteration) const;
    // Runs iteration `iteration` (0-based) and trains the hypernetwork on it. The statistics are
    // those of the whole batch on every process.
    MetaIterationStats step(int64_t iteration);
    // Hypernetwork lr at distillation step t of the whole run (cosine from lr to 0).
    double lr_at(int64_t t) const;

    // The pieces of step(), for tests: soft targets softmax(f(x)/T) of the clean images [B, K],
    // the CLS features [B, D] of the mixed images, and the label masks per site [B * H_s]
    // (B: the batch's rows, batch.rects.size()).
    struct Prepared {
        Tensor tokens, targets;
        std::vector<float> features, kl_before;
        OracleAnchor anchor;  // the locality images' tokens and original softmax (term on)
        OracleGroup group;    // the pseudo-groups' other hosts (pseudo_group >= 2)
    };
    Prepared prepare(const MetaBatch& batch);
    std::vector<std::vector<float>> label_masks(const std::vector<float>& u, int64_t batch) const;

private:
    const Vit& vit_;
    std::vector<EditSite> sites_;
    Hypernet& hyper_;
    MetaTrainOptions opt_;
    std::function<std::vector<float>(size_t)> image_;
    std::vector<size_t> pool_;
    Collective* across_;
    std::function<int64_t(size_t)> label_of_;
    std::vector<std::vector<size_t>> by_class_;  // the pool per class (pseudo-groups)
    OracleMasker masker_;
    MetaTiming timing_;
};

}  // namespace vitedit

// vitedit — a fixed set of images evaluated again and again while only upper blocks change.
//
// Evaluating an edit (generalization over its failure group, locality over hundreds of images)
// repeats the same frozen computation below the edit sites for every edit. An ImageSet runs it
// once: it keeps the tokens entering block `from` and predicts by running only the blocks above.
#pragma once

#include <vector>

#include "vitedit/vit.hpp"

namespace vitedit {

class ImageSet {
public:
    // What may change: every block from `from` on, or (mlp_of_from) only the MLP weights of block
    // `from` and anything above, so its attention half is frozen too (edits of FFN sites).
    enum class Frozen { below_from, below_mlp_of_from };
    // chw: n images [C, H, W] back to back, normalized. from: the lowest block that may change
    // (0 disables the cache: every predict() runs the whole model). cache_budget_bytes (< 0: no
    // limit): batches whose cached tokens would pass it keep their images on the host instead and
    // run the whole model at every predict() (slower, never out of memory). below_mlp_of_from
    // caches what block `from`'s MLP reads (twice the tokens' bytes) and skips its attention.
    ImageSet(const Vit& vit, const std::vector<float>& chw, int64_t n, int from, int64_t batch = 128,
             int64_t cache_budget_bytes = -1, Frozen frozen = Frozen::below_from);
    int64_t size() const { return n_; }
    // Images whose tokens are cached (the rest are recomputed from the image).
    int64_t cached_images() const { return cached_n_; }
    int64_t cached_bytes() const { return cached_bytes_; }
    // Top-1 class of every image under the model's current weights.
    std::vector<int32_t> predict() const;

private:
    const Vit& vit_;
    int64_t n_, batch_;
    int from_;
    std::vector<Tensor> tokens_;  // per batch: tokens entering block from_ (or the images)
    std::vector<Vit::MlpInput> mlp_in_;     // per batch, below_mlp_of_from: what block from_'s MLP reads
    std::vector<std::vector<float>> host_;  // per batch beyond the budget: its images (else empty)
    std::vector<int64_t> counts_;           // images per batch
    int64_t cached_n_ = 0, cached_bytes_ = 0;
};

}  // namespace vitedit

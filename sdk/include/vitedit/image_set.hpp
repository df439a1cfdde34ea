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
    // chw: n images [C, H, W] back to back, normalized. from: the lowest block that may change
    // (0 disables the cache: every predict() runs the whole model).
    ImageSet(const Vit& vit, const std::vector<float>& chw, int64_t n, int from, int64_t batch = 128);
    int64_t size() const { return n_; }
    // Top-1 class of every image under the model's current weights.
    std::vector<int32_t> predict() const;

private:
    const Vit& vit_;
    int64_t n_, batch_;
    int from_;
    std::vector<Tensor> tokens_;  // per batch: tokens entering block from_ (or the images)
};

}  // namespace vitedit

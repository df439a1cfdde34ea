// vitedit — cached evaluation of fixed image sets.
#include "vitedit/image_set.hpp"

#include <algorithm>

namespace vitedit {

ImageSet::ImageSet(const Vit& vit, const std::vector<float>& chw, int64_t n, int from, int64_t batch,
                   int64_t cache_budget_bytes, Frozen frozen)
    : vit_(vit), n_(n), batch_(batch), from_(from) {
    const bool mlp = frozen == Frozen::below_mlp_of_from && from_ > 0;
    const VitConfig& c = vit.config();
    const int64_t per = static_cast<int64_t>(c.in_chans) * c.image_h() * c.image_w();
    if (static_cast<int64_t>(chw.size()) != n * per)
        throw Error("image set: " + std::to_string(chw.size()) + " values for " + std::to_string(n) + " images");
    for (int64_t s = 0; s < n; s += batch_) {
        const int64_t m = std::min(batch_, n - s);
        std::vector<float> part(chw.begin() + s * per, chw.begin() + (s + m) * per);
        counts_.push_back(m);
        const int64_t bytes = (mlp ? 2 : 1) * m * c.tokens() * c.dim * static_cast<int64_t>(sizeof(float));
        if (from_ > 0 && cache_budget_bytes >= 0 && cached_bytes_ + bytes > cache_budget_bytes) {
            tokens_.emplace_back();
            mlp_in_.emplace_back();
            host_.push_back(std::move(part));
            continue;
        }
        Tensor images = vit.upload_images(part, m);
        if (mlp) {
            mlp_in_.push_back(vit.forward_attention(vit.forward_prefix(images, from_), from_));
            tokens_.push_back(mlp_in_.back().x_mid);
        } else {
            mlp_in_.emplace_back();
            tokens_.push_back(from_ > 0 ? vit.forward_prefix(images, from_) : images);
        }
        host_.emplace_back();
        if (from_ > 0) cached_n_ += m, cached_bytes_ += bytes;
    }
}

std::vector<int32_t> ImageSet::predict() const {
    std::vector<int32_t> out;
    out.reserve(static_cast<size_t>(n_));
    const int K = vit_.config().num_classes;
    for (size_t b = 0; b < tokens_.size(); ++b) {
        const Tensor& t = tokens_[b];
        const std::vector<float> logits =
            (!t.defined()                 ? vit_.forward(vit_.upload_images(host_[b], counts_[b]))
             : mlp_in_[b].x_mid.defined() ? vit_.forward_from_mlp(mlp_in_[b], from_)
             : from_ > 0                  ? vit_.forward_suffix(t, from_)
                                          : vit_.forward(t))
                .logits.download();
        for (size_t i = 0; i < logits.size() / K; ++i) {
            const float* l = &logits[i * K];
            out.push_back(static_cast<int32_t>(std::max_element(l, l + K) - l));
        }
    }
    return out;
}

}  // namespace vitedit

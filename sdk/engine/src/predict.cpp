// vitedit — batched classification through the whole model.
#include "vitedit/predict.hpp"

#include <algorithm>

#include "vitedit/image.hpp"

namespace vitedit {

int32_t top1(const float* logits, int classes) {
    return static_cast<int32_t>(std::max_element(logits, logits + classes) - logits);
}

Predictions predict(const Vit& vit, size_t n, const ModelInputFn& input, int64_t batch, bool keep_logits,
                    const BatchDoneFn& on_batch) {
    const VitConfig& cfg = vit.config();
    const int K = cfg.num_classes;
    const size_t per = static_cast<size_t>(cfg.in_chans) * cfg.image_h() * cfg.image_w();
    const size_t B = static_cast<size_t>(std::max<int64_t>(1, batch));
    Predictions out;
    out.labels.resize(n);
    if (keep_logits) out.logits.resize(n * K);
    std::vector<float> chw;
    for (size_t start = 0; start < n; start += B) {
        const size_t m = std::min(B, n - start);
        chw.resize(m * per);
        for (size_t i = 0; i < m; ++i) input(start + i, &chw[i * per]);
        const std::vector<float> l = vit.forward(vit.upload_images(chw, static_cast<int64_t>(m))).logits.download();
        for (size_t i = 0; i < m; ++i) out.labels[start + i] = top1(&l[i * K], K);
        if (keep_logits) std::copy(l.begin(), l.end(), out.logits.begin() + static_cast<std::ptrdiff_t>(start * K));
        if (on_batch) on_batch(start + m);
    }
    return out;
}

Predictions predict(const Vit& vit, const Dataset& data, int64_t batch, bool keep_logits, const BatchDoneFn& on_batch) {
    const VitConfig& cfg = vit.config();
    return predict(
        vit, data.size(),
        [&](size_t i, float* dst) {
            const std::vector<float> x = to_model_input(data.images[i], cfg);
            std::copy(x.begin(), x.end(), dst);
        },
        batch, keep_logits, on_batch);
}

}  // namespace vitedit

// vitedit host — batched classification of a data set, and its scores.
#include "evaluate.hpp"

#include <algorithm>

namespace vitedit::cli {

std::vector<int32_t> predict_dataset(const Vit& vit, const Dataset& data, int batch, std::vector<float>* logits_out,
                                     const std::function<void(size_t)>& on_batch) {
    const VitConfig& cfg = vit.config();
    const int K = cfg.num_classes;
    const size_t per = static_cast<size_t>(cfg.in_chans) * cfg.image_h() * cfg.image_w();
    std::vector<int32_t> pred(data.size());
    if (logits_out) logits_out->assign(data.size() * K, 0.0f);
    const size_t B = static_cast<size_t>(std::max(1, batch));
    std::vector<float> chw;
    for (size_t start = 0; start < data.size(); start += B) {
        const size_t n = std::min(B, data.size() - start);
        chw.resize(n * per);
        for (size_t i = 0; i < n; ++i) {
            const std::vector<float> x = to_model_input(data.images[start + i], cfg);
            std::copy(x.begin(), x.end(), chw.begin() + i * per);
        }
        const std::vector<float> l = vit.forward(vit.upload_images(chw, static_cast<int64_t>(n))).logits.download();
        for (size_t i = 0; i < n; ++i) {
            const float* r = &l[i * K];
            pred[start + i] = static_cast<int32_t>(std::max_element(r, r + K) - r);
        }
        if (logits_out) std::copy(l.begin(), l.end(), logits_out->begin() + start * K);
        if (on_batch) on_batch(start + n);
    }
    return pred;
}

Scores score(const std::vector<int32_t>& pred, const std::vector<int32_t>& labels, int classes,
             const std::vector<bool>* include) {
    Scores s;
    s.classes = classes;
    s.per_class_n.assign(classes, 0);
    s.per_class_correct.assign(classes, 0);
    s.confusion.assign(classes, std::vector<int64_t>(classes, 0));
    for (size_t i = 0; i < pred.size() && i < labels.size(); ++i) {
        if (include && !(*include)[i]) continue;
        const int t = labels[i], p = pred[i];
        ++s.n;
        if (t >= 0 && t < classes) {
            ++s.per_class_n[t];
            if (p >= 0 && p < classes) ++s.confusion[t][p];
        }
        if (t == p) {
            ++s.correct;
            if (t >= 0 && t < classes) ++s.per_class_correct[t];
        }
    }
    return s;
}

}  // namespace vitedit::cli

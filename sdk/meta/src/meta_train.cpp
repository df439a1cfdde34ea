// vitedit — one meta-training iteration: CutMix, soft targets, oracle masks, distillation.
#include "vitedit/meta_train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <set>

namespace vitedit {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

enum : uint32_t { kSample = 1, kCutmix = 2, kMaskInit = 3, kLocality = 4, kGroup = 5 };
std::mt19937_64 make_rng(uint64_t seed, uint32_t purpose, uint64_t counter) {
    std::seed_seq ss{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), purpose, static_cast<uint32_t>(counter),
                     static_cast<uint32_t>(counter >> 32), 0x6d657461u /* "meta" */};
    return std::mt19937_64(ss);
}
double uniform01(std::mt19937_64& r) { return static_cast<double>(r() >> 11) * (1.0 / 9007199254740992.0); }
uint64_t below(std::mt19937_64& r, uint64_t n) { return n ? r() % n : 0; }

// Rows [s.begin, s.end) of a batch: one process's share under data parallelism.
MetaBatch rows_of(const MetaBatch& mb, RowShare s, size_t per_image, size_t units, size_t others) {
    const size_t B = mb.rects.size(), lo = static_cast<size_t>(s.begin), hi = static_cast<size_t>(s.end);
    MetaBatch out;
    for (size_t i = lo; i < hi; ++i) out.images.push_back(mb.images[i]);
    for (size_t i = lo; i < hi; ++i) out.images.push_back(mb.images[i + B]);
    out.rects.assign(mb.rects.begin() + lo, mb.rects.begin() + hi);
    out.mixed.assign(mb.mixed.begin() + lo * per_image, mb.mixed.begin() + hi * per_image);
    out.clean.assign(mb.clean.begin() + lo * per_image, mb.clean.begin() + hi * per_image);
    out.u0.assign(mb.u0.begin() + lo * units, mb.u0.begin() + hi * units);
    out.locality = mb.locality;
    out.locality_x = mb.locality_x;
    out.group.assign(mb.group.begin() + lo * others, mb.group.begin() + hi * others);
    out.group_mixed.assign(mb.group_mixed.begin() + lo * others * per_image, mb.group_mixed.begin() + hi * others * per_image);
    out.group_clean.assign(mb.group_clean.begin() + lo * others * per_image, mb.group_clean.begin() + hi * others * per_image);
    return out;
}

// softmax(logits / temperature) per row, in double on the host (the targets are few), back on the
// logits' backend.
Tensor soft_targets(Backend& be, const Tensor& logits, double temperature) {
    const int64_t n = logits.dim(0), K = logits.dim(1);
    std::vector<float> p = logits.download();
    const double invT = 1.0 / temperature;
    for (int64_t i = 0; i < n; ++i) {
        float* l = &p[i * K];
        const double mx = *std::max_element(l, l + K);
        double z = 0;
        for (int64_t k = 0; k < K; ++k) z += std::exp((l[k] - mx) * invT);
        for (int64_t k = 0; k < K; ++k) l[k] = static_cast<float>(std::exp((l[k] - mx) * invT) / z);
    }
    return be.from_host({n, K}, p);
}

}  // namespace

void cutmix_paste(float* dst, const float* src, int channels, int height, int width, int patch, const PatchRect& r) {
    const int y0 = r.y * patch, y1 = std::min(height, (r.y + r.h) * patch);
    const int x0 = r.x * patch, x1 = std::min(width, (r.x + r.w) * patch);
    for (int c = 0; c < channels; ++c)
        for (int y = y0; y < y1; ++y) {
            const size_t row = (static_cast<size_t>(c) * height + y) * width;
            std::copy(src + row + x0, src + row + x1, dst + row + x0);
        }
}

MetaTrainer::MetaTrainer(const Vit& vit, std::vector<EditSite> sites, Hypernet& hypernet, MetaTrainOptions options,
                         std::function<std::vector<float>(size_t)> image, std::vector<size_t> pool, Collective* across,
                         std::function<int64_t(size_t)> label)
    : vit_(vit), sites_(sites), hyper_(hypernet), opt_(options), image_(std::move(image)), pool_(std::move(pool)),
      across_(across), label_of_(std::move(label)), masker_(vit, std::move(sites), options.oracle) {
    const VitConfig& cfg = vit_.config();
    if (opt_.batch < 1) throw Error("meta-training: the batch must be at least 1");
    if (across_ && opt_.batch < across_->size())
        throw Error("meta-training: a batch of " + std::to_string(opt_.batch) + " cannot be shared by " +
                    std::to_string(across_->size()) + " processes (each needs at least one pseudo-failure)");
    if (pool_.size() < 2 * static_cast<size_t>(opt_.batch))
        throw Error("meta-training needs at least " + std::to_string(2 * opt_.batch) + " images, the pool has " +
                    std::to_string(pool_.size()));
    if (opt_.cutmix_min < 1 || opt_.cutmix_max < opt_.cutmix_min)
        throw Error("meta-training: CutMix sides must satisfy 1 <= min <= max");
    if (opt_.cutmix_min > std::min(cfg.grid_h, cfg.grid_w))
        throw Error("meta-training: CutMix rectangles of " + std::to_string(opt_.cutmix_min) + " patches do not fit the " +
                    std::to_string(cfg.grid_h) + "x" + std::to_string(cfg.grid_w) + " patch grid");
    if (opt_.distill_steps < 1 || opt_.iterations < 1) throw Error("meta-training: iterations and distillation steps must be positive");
    if (hyper_.config().dim != cfg.dim) throw Error("meta-training: the hypernetwork's width differs from the model's");
    if (opt_.pseudo_group < 0) throw Error("meta-training: the pseudo-group size must be non-negative");
    if (opt_.pseudo_group >= 2) {
        if (!label_of_) throw Error("meta-training: pseudo-groups need the images' labels");
        for (size_t k : pool_) {
            const int64_t c = label_of_(k);
            if (c < 0 || c >= cfg.num_classes)
                throw Error("meta-training: image " + std::to_string(k) + " has label " + std::to_string(c) + ", the model has " +
                            std::to_string(cfg.num_classes) + " classes");
            if (by_class_.size() <= static_cast<size_t>(c)) by_class_.resize(static_cast<size_t>(c) + 1);
            by_class_[static_cast<size_t>(c)].push_back(k);
        }
        for (const auto& members : by_class_)
            if (!members.empty() && members.size() < static_cast<size_t>(opt_.pseudo_group))
                throw Error("meta-training: a class has " + std::to_string(members.size()) + " images, fewer than a pseudo-group of " +
                            std::to_string(opt_.pseudo_group));
    }
    const auto& hs = hyper_.config().sites;
    if (hs.size() != sites_.size()) throw Error("meta-training: the hypernetwork has other sites than the edit");
    for (size_t s = 0; s < hs.size(); ++s)
        if (hs[s].name != sites_[s].name || hs[s].units != sites_[s].units)
            throw Error("meta-training: the hypernetwork's site " + std::to_string(s) + " is " + hs[s].name + ", the edit's " + sites_[s].name);
}

MetaTiming MetaTrainer::timing() const {
    MetaTiming t = timing_;
    t.inner_s = masker_.timing().inner_s;
    t.outer_s = masker_.timing().outer_s;
    t.passes = masker_.timing().passes;
    return t;
}

double MetaTrainer::lr_at(int64_t t) const {
    const double total = static_cast<double>(opt_.iterations * opt_.distill_steps);
    const double p = std::min(1.0, static_cast<double>(t) / total);
    return opt_.lr * 0.5 * (1.0 + std::cos(M_PI * p));
}

MetaBatch MetaTrainer::draw(int64_t iteration) const {
    const VitConfig& cfg = vit_.config();
    const int B = opt_.batch;
    MetaBatch mb;
    {
        auto r = make_rng(opt_.seed, kSample, static_cast<uint64_t>(iteration));
        std::set<size_t> seen;
        while (mb.images.size() < 2 * static_cast<size_t>(B)) {
            const size_t k = pool_[below(r, pool_.size())];
            if (seen.insert(k).second) mb.images.push_back(k);
        }
    }
    {
        auto r = make_rng(opt_.seed, kCutmix, static_cast<uint64_t>(iteration));
        for (int i = 0; i < B; ++i) {
            PatchRect rect;
            const int span = opt_.cutmix_max - opt_.cutmix_min + 1;
            rect.h = std::min(cfg.grid_h, opt_.cutmix_min + static_cast<int>(below(r, span)));
            rect.w = std::min(cfg.grid_w, opt_.cutmix_min + static_cast<int>(below(r, span)));
            rect.y = static_cast<int>(below(r, cfg.grid_h - rect.h + 1));
            rect.x = static_cast<int>(below(r, cfg.grid_w - rect.w + 1));
            mb.rects.push_back(rect);
        }
    }
    const size_t per = static_cast<size_t>(cfg.in_chans) * cfg.image_h() * cfg.image_w();
    mb.clean.resize(per * B);
    mb.mixed.resize(per * B);
    std::vector<std::vector<float>> donors;  // kept for the pseudo-groups' pastes
    for (int i = 0; i < B; ++i) {
        const std::vector<float> a = image_(mb.images[i]);
        std::vector<float> b = image_(mb.images[i + B]);
        if (a.size() != per || b.size() != per) throw Error("meta-training: an image input has the wrong size");
        std::copy(a.begin(), a.end(), mb.clean.begin() + i * per);
        std::copy(a.begin(), a.end(), mb.mixed.begin() + i * per);
        cutmix_paste(&mb.mixed[i * per], b.data(), cfg.in_chans, cfg.image_h(), cfg.image_w(), cfg.patch, mb.rects[i]);
        if (opt_.pseudo_group >= 2) donors.push_back(std::move(b));
    }
    {
        auto r = make_rng(opt_.seed, kMaskInit, static_cast<uint64_t>(iteration));
        mb.u0.resize(static_cast<size_t>(B * masker_.units_per_sample()));
        for (float& v : mb.u0) v = static_cast<float>(2.0 * uniform01(r) - 1.0);
    }
    if (opt_.pseudo_group >= 2) {
        // G - 1 other images of each host's class (a draw of its own, so the batch is the same with
        // pseudo-groups on or off), each with the host's rectangle of the same donor pasted.
        auto r = make_rng(opt_.seed, kGroup, static_cast<uint64_t>(iteration));
        const size_t others = static_cast<size_t>(opt_.pseudo_group - 1);
        for (int i = 0; i < B; ++i) {
            const size_t host = mb.images[i], donor = mb.images[i + B];
            const auto& same = by_class_.at(static_cast<size_t>(label_of_(host)));
            std::set<size_t> seen{host, donor};
            const std::vector<float>& d = donors[static_cast<size_t>(i)];
            size_t got = 0;
            for (int tries = 0; got < others && tries < 64 * opt_.pseudo_group; ++tries) {
                const size_t k = same[below(r, same.size())];
                if (!seen.insert(k).second) continue;
                const std::vector<float> x = image_(k);
                if (x.size() != per) throw Error("meta-training: an image input has the wrong size");
                mb.group.push_back(k);
                mb.group_clean.insert(mb.group_clean.end(), x.begin(), x.end());
                mb.group_mixed.insert(mb.group_mixed.end(), x.begin(), x.end());
                cutmix_paste(&mb.group_mixed[mb.group_mixed.size() - per], d.data(), cfg.in_chans, cfg.image_h(), cfg.image_w(),
                             cfg.patch, mb.rects[i]);
                ++got;
            }
            if (got < others) throw Error("meta-training: could not draw a pseudo-group for image " + std::to_string(host));
        }
    }
    if (opt_.oracle.locality > 0) {
        // Unrelated images: any R of the pool (a draw of its own, so the batch is the same with
        // the term on or off).
        auto r = make_rng(opt_.seed, kLocality, static_cast<uint64_t>(iteration));
        std::set<size_t> seen;
        const size_t R = std::min(static_cast<size_t>(opt_.locality_images), pool_.size());
        while (mb.locality.size() < R) {
            const size_t k = pool_[below(r, pool_.size())];
            if (seen.insert(k).second) mb.locality.push_back(k);
        }
        for (size_t k : mb.locality) {
            const std::vector<float> x = image_(k);
            if (x.size() != per) throw Error("meta-training: an image input has the wrong size");
            mb.locality_x.insert(mb.locality_x.end(), x.begin(), x.end());
        }
    }
    return mb;
}

MetaTrainer::Prepared MetaTrainer::prepare(const MetaBatch& mb) {
    Backend& be = vit_.backend();
    const int64_t B = static_cast<int64_t>(mb.rects.size());
    Prepared p;
    // Soft targets on the unmixed images, at temperature T.
    p.targets = soft_targets(be, vit_.forward(vit_.upload_images(mb.clean, B)).logits, opt_.oracle.temperature);
    // The frozen prefix of the mixed images, and their base features and loss.
    p.tokens = vit_.forward_prefix(vit_.upload_images(mb.mixed, B), masker_.lowest_block());
    const Vit::Output o = vit_.forward_suffix(p.tokens, masker_.lowest_block());
    p.features = o.features.download();
    p.kl_before = be.kl_div(o.logits, p.targets, opt_.oracle.temperature, nullptr, 1.0f);
    if (!mb.group.empty()) {
        const int64_t n = static_cast<int64_t>(mb.group.size());
        p.group.targets = soft_targets(be, vit_.forward(vit_.upload_images(mb.group_clean, n)).logits, opt_.oracle.temperature);
        p.group.tokens = vit_.forward_prefix(vit_.upload_images(mb.group_mixed, n), masker_.lowest_block());
    }
    if (!mb.locality.empty()) {
        const int64_t R = static_cast<int64_t>(mb.locality.size());
        p.anchor.tokens = vit_.forward_prefix(vit_.upload_images(mb.locality_x, R), masker_.lowest_block());
        p.anchor.targets = soft_targets(be, vit_.forward_suffix(p.anchor.tokens, masker_.lowest_block()).logits, 1.0);
    }
    return p;
}

std::vector<std::vector<float>> MetaTrainer::label_masks(const std::vector<float>& u, int64_t batch) const {
    const std::vector<float> y = OracleMasker::sigmoid(u, 3.0f);
    const int64_t U = masker_.units_per_sample();
    std::vector<std::vector<float>> labels(sites_.size());
    int64_t off = 0;
    for (size_t s = 0; s < sites_.size(); ++s) {
        const int64_t H = sites_[s].units;
        labels[s].resize(static_cast<size_t>(batch * H));
        for (int64_t i = 0; i < batch; ++i)
            std::copy(y.begin() + i * U + off, y.begin() + i * U + off + H, labels[s].begin() + i * H);
        off += H;
    }
    return labels;
}

MetaIterationStats MetaTrainer::step(int64_t iteration) {
    const int64_t B = opt_.batch;
    MetaIterationStats st;
    auto t0 = Clock::now();
    MetaBatch mb = draw(iteration);
    if (across_) {
        const size_t per = static_cast<size_t>(vit_.config().in_chans) * vit_.config().image_h() * vit_.config().image_w();
        mb = rows_of(mb, RowShare::of(B, across_->rank(), across_->size()), per, static_cast<size_t>(masker_.units_per_sample()),
                     static_cast<size_t>(std::max(0, opt_.pseudo_group - 1)));
    }
    const int64_t rows = static_cast<int64_t>(mb.rects.size());
    const Prepared p = prepare(mb);
    timing_.prefix_s += since(t0);

    std::vector<float> u = mb.u0;
    const std::vector<float> kl = masker_.optimize(p.tokens, p.targets, u, p.anchor.tokens.defined() ? &p.anchor : nullptr,
                                                   p.group.tokens.defined() ? &p.group : nullptr);
    // Means over the whole batch: this process's sums, then (data-parallel) the sum of them all.
    double sums[4] = {0, 0, 0, 0};
    for (float v : p.kl_before) sums[0] += v;
    for (float v : kl) sums[1] += v;
    for (float v : OracleMasker::sigmoid(u, 10.0f)) sums[2] += v;
    if (p.anchor.tokens.defined())
        for (float v : masker_.last_locality()) sums[3] += v;
    if (across_) across_->sum(sums, 4);
    st.kl_before = sums[0] / B;
    st.kl_after = sums[1] / B;
    st.mean_mask = sums[2] / static_cast<double>(B * masker_.units_per_sample());
    st.locality_kl = sums[3] / B;

    t0 = Clock::now();
    const auto labels = label_masks(u, rows);
    for (int k = 0; k < opt_.distill_steps; ++k) {
        st.lr = lr_at(iteration * opt_.distill_steps + k);
        const double loss = hyper_.train_step(p.features, rows, labels, static_cast<float>(st.lr), across_, B);
        if (k == 0) st.bce = loss;
        st.bce_after = loss;
    }
    timing_.distill_s += since(t0);
    return st;
}

}  // namespace vitedit

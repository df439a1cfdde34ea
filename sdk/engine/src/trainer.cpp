// vitedit — the training loop (see trainer.hpp for what makes it deterministic).
#include "vitedit/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <random>

#include "vitedit/safetensors.hpp"
#include "vitedit/vit_config.hpp"

namespace vitedit {

namespace {

// Seeded generators, one per purpose: a pure function of (seed, purpose, counter).
enum : uint32_t { kInit = 1, kShuffle = 2, kAugment = 3 };
std::mt19937_64 make_rng(uint64_t seed, uint32_t purpose, uint64_t counter) {
    std::seed_seq ss{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), purpose,
                     static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32)};
    return std::mt19937_64(ss);
}
double uniform01(std::mt19937_64& r) { return static_cast<double>(r() >> 11) * (1.0 / 9007199254740992.0); }
uint64_t below(std::mt19937_64& r, uint64_t n) { return n ? r() % n : 0; }  // bias < 2^-40 for our n

// Truncated normal (|x| <= 2 std) by rejection, Box-Muller from our own uniforms.
float trunc_normal(std::mt19937_64& r, double std) {
    for (;;) {
        const double u1 = 1.0 - uniform01(r), u2 = uniform01(r);
        const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
        if (std::fabs(z) <= 2.0) return static_cast<float>(z * std);
    }
}

bool decays(const std::string& name, const Shape& shape) {
    return shape.size() >= 2 && name != "pos_embed" && name != "cls_token";
}

// One training sample drawn into the batch: shifted by (dy, dx), padded with `pad`, optionally
// mirrored left-right.
void augment_into(const std::vector<float>& src, const VitConfig& cfg, const std::vector<float>& pad, int dy, int dx,
                  bool flip, float* dst) {
    const int C = cfg.in_chans, H = cfg.image_h(), W = cfg.image_w();
    for (int c = 0; c < C; ++c) {
        const float* s = &src[static_cast<size_t>(c) * H * W];
        float* d = dst + static_cast<size_t>(c) * H * W;
        for (int y = 0; y < H; ++y) {
            const int sy = y - dy;
            for (int x = 0; x < W; ++x) {
                int sx = x - dx;
                if (flip) sx = W - 1 - sx;
                d[y * W + x] = (sy >= 0 && sy < H && sx >= 0 && sx < W) ? s[sy * W + sx] : pad[c];
            }
        }
    }
}

constexpr const char* kStateKey = "vitedit.checkpoint";

}  // namespace

std::map<std::string, HostTensor> init_vit_params(const VitConfig& cfg, uint64_t seed) {
    std::map<std::string, HostTensor> t;
    auto rng = make_rng(seed, kInit, 0);
    for (const auto& [name, shape] : expected_shapes(cfg)) {
        HostTensor h;
        h.shape = shape;
        const size_t n = static_cast<size_t>(h.numel());
        const bool is_norm = name.find("norm") != std::string::npos;
        const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
        h.data = FloatBuffer::filled(n, is_norm && !is_bias ? 1.0f : 0.0f);
        if (!is_norm && !is_bias) {
            float* v = h.data.mutable_data();
            for (size_t i = 0; i < n; ++i) v[i] = trunc_normal(rng, 0.02);
        }
        t[name] = std::move(h);
    }
    return t;
}

double learning_rate_at(int64_t step, int64_t warmup, int64_t total, double lr, double final_lr) {
    if (step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
    const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
    const double p = std::min(1.0, static_cast<double>(step - warmup) / span);
    return final_lr + 0.5 * (lr - final_lr) * (1.0 + std::cos(M_PI * p));
}

void write_train_checkpoint(const std::string& path, const VitConfig& cfg, TrainCheckpoint c) {
    SafeTensorsFile f;
    for (auto& [name, t] : c.params) f.tensors["param." + name] = std::move(t);
    for (auto& [name, t] : c.adam_m) f.tensors["adam_m." + name] = std::move(t);
    for (auto& [name, t] : c.adam_v) f.tensors["adam_v." + name] = std::move(t);
    f.metadata = config_metadata(cfg);
    f.metadata[kStateKey] = c.state;
    write_safetensors(path, f);
}

TrainCheckpoint read_train_checkpoint(const std::string& path) {
    SafeTensorsFile f = read_safetensors(path);
    auto it = f.metadata.find(kStateKey);
    if (it == f.metadata.end()) throw Error(path + ": not a vitedit training checkpoint (no " + kStateKey + " metadata)");
    TrainCheckpoint c;
    c.state = it->second;
    for (auto& [name, t] : f.tensors) {
        if (name.rfind("param.", 0) == 0) c.params[name.substr(6)] = std::move(t);
        else if (name.rfind("adam_m.", 0) == 0) c.adam_m[name.substr(7)] = std::move(t);
        else if (name.rfind("adam_v.", 0) == 0) c.adam_v[name.substr(7)] = std::move(t);
    }
    return c;
}

Trainer::Trainer(std::shared_ptr<Backend> backend, const VitConfig& config, const TrainOptions& options,
                 std::vector<std::vector<float>> inputs, std::vector<int32_t> labels, std::vector<size_t> pool,
                 const std::map<std::string, HostTensor>& params)
    : backend_(std::move(backend)),
      config_(config),
      options_(options),
      inputs_(std::move(inputs)),
      labels_(std::move(labels)),
      pool_(std::move(pool)),
      vit_(backend_, config_, params) {
    if (pool_.empty()) throw Error("no training images");
    if (options_.epochs < 1 || options_.batch < 1) throw Error("training needs at least one epoch and a batch of one");
    const size_t per = static_cast<size_t>(config_.in_chans) * config_.image_h() * config_.image_w();
    for (size_t i : pool_)
        if (i >= inputs_.size() || i >= labels_.size() || inputs_[i].size() != per)
            throw Error("training image " + std::to_string(i) + " has no model input of " + std::to_string(per) + " values");
    for (int c = 0; c < config_.in_chans; ++c) pad_.push_back((0.0f - config_.mean[c]) / config_.std[c]);
    steps_per_epoch_ = (static_cast<int64_t>(pool_.size()) + options_.batch - 1) / options_.batch;
    warmup_steps_ = static_cast<int64_t>(std::llround(options_.warmup_epochs * static_cast<double>(steps_per_epoch_)));
    grads_ = vit_.make_grads(vit_.param_names());
    for (const auto& n : vit_.param_names()) {
        adam_m_[n] = backend_->zeros(vit_.param(n).shape());
        adam_v_[n] = backend_->zeros(vit_.param(n).shape());
    }
}

int64_t Trainer::parameter_count() const {
    int64_t n = 0;
    for (const auto& name : vit_.param_names()) n += vit_.param(name).numel();
    return n;
}

void Trainer::resume(int64_t step, const TrainCheckpoint& c) {
    if (step < 0 || step > total_steps()) throw Error("checkpoint step " + std::to_string(step) + " is outside the run");
    for (const auto& n : vit_.param_names()) {
        const Shape s = vit_.param(n).shape();
        auto fm = c.adam_m.find(n), fv = c.adam_v.find(n);
        if (fm == c.adam_m.end() || fv == c.adam_v.end() || fm->second.shape != s || fv->second.shape != s)
            throw Error("checkpoint: optimizer state for '" + n + "' is missing or mis-shaped");
        adam_m_[n] = backend_->from_host(s, fm->second.data.data());
        adam_v_[n] = backend_->from_host(s, fv->second.data.data());
    }
    step_ = step;
}

TrainStep Trainer::run_step() {
    const int64_t epoch = step_ / steps_per_epoch_, b = step_ % steps_per_epoch_;
    if (perm_epoch_ != epoch) {
        perm_ = pool_;
        auto r = make_rng(options_.seed, kShuffle, static_cast<uint64_t>(epoch));
        for (size_t i = perm_.size(); i > 1; --i) std::swap(perm_[i - 1], perm_[below(r, i)]);  // Fisher-Yates
        perm_epoch_ = epoch;
    }
    const size_t per = static_cast<size_t>(config_.in_chans) * config_.image_h() * config_.image_w();
    const size_t begin = static_cast<size_t>(b) * static_cast<size_t>(options_.batch);
    const size_t n = std::min(static_cast<size_t>(options_.batch), perm_.size() - begin);
    std::vector<float> chw(n * per);
    std::vector<int32_t> labels(n);
    const int shift = options_.shift;
    auto aug = make_rng(options_.seed, kAugment, static_cast<uint64_t>(step_));
    for (size_t i = 0; i < n; ++i) {
        const size_t idx = perm_[begin + i];
        const int dy = shift ? static_cast<int>(below(aug, 2 * shift + 1)) - shift : 0;
        const int dx = shift ? static_cast<int>(below(aug, 2 * shift + 1)) - shift : 0;
        const bool f = options_.flip && (aug() >> 63);
        augment_into(inputs_[idx], config_, pad_, dy, dx, f, &chw[i * per]);
        labels[i] = labels_[idx];
    }

    Vit::Activations acts;
    const Vit::Output o = vit_.forward(vit_.upload_images(chw, static_cast<int64_t>(n)), &acts);
    acts.first_block = -1;  // a full forward keeps the embedding activations too (Vit::forward records 0)
    Tensor dlogits = backend_->empty(o.logits.shape());
    const std::vector<float> losses = backend_->cross_entropy(
        o.logits, labels, static_cast<float>(options_.label_smoothing), &dlogits, 1.0f / static_cast<float>(n));
    const std::vector<float> logits = o.logits.download();
    vit_.backward(acts, dlogits, grads_, 0.0f);
    acts = Vit::Activations();

    TrainStep s;
    s.lr = learning_rate_at(step_, warmup_steps_, total_steps(), options_.lr, options_.final_lr);
    const float lr = static_cast<float>(s.lr);
    for (const auto& name : vit_.param_names()) {
        const Tensor& w = vit_.param(name);
        const float wd = decays(name, w.shape()) ? static_cast<float>(options_.weight_decay) : 0.0f;
        backend_->adam_step(w, grads_.at(name), adam_m_.at(name), adam_v_.at(name), nullptr, 0, lr, 0.9f, 0.999f, 1e-8f,
                            wd, step_ + 1);
    }
    const int K = config_.num_classes;
    for (size_t i = 0; i < n; ++i) {
        const float* r = &logits[i * K];
        s.correct += (std::max_element(r, r + K) - r) == labels[i];
        s.loss_sum += losses[i];
    }
    s.images = static_cast<int64_t>(n);
    ++step_;
    return s;
}

TrainCheckpoint Trainer::checkpoint(std::string state) const {
    TrainCheckpoint c;
    c.params = vit_.download_params();
    for (const auto& [name, t] : adam_m_) c.adam_m[name] = HostTensor{t.shape(), t.download()};
    for (const auto& [name, t] : adam_v_) c.adam_v[name] = HostTensor{t.shape(), t.download()};
    c.state = std::move(state);
    return c;
}

}  // namespace vitedit

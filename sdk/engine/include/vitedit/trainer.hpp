// vitedit — training a ViT classifier from scratch on a backend: full backward, AdamW (decay on
// matrices only), linear warm-up then cosine, shift/flip augmentation, label smoothing.
//
// Determinism: every random draw comes from a std::mt19937_64 seeded by std::seed_seq from
// (seed, purpose, epoch or step), with hand-written sampling (no implementation-defined
// distributions). The generator state at any step is a function of (seed, step), so a run resumed
// from a checkpoint at step s draws exactly what the uninterrupted run would, and (on the same
// backend and thread count) ends bitwise equal to it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vitedit/host_tensor.hpp"
#include "vitedit/vit.hpp"

namespace vitedit {

struct TrainOptions {
    int64_t epochs = 20, batch = 128;
    double lr = 1e-3;             // peak learning rate
    double final_lr = 1e-5;       // at the end of the cosine
    double weight_decay = 0.05;   // AdamW, matrices only (not biases, LayerNorm, pos_embed, cls_token)
    double warmup_epochs = 1.0;   // linear warm-up length
    double label_smoothing = 0.1;
    uint64_t seed = 0;            // initialization, shuffling, augmentation
    int shift = 2;                // random shift by up to this many pixels (zero padded); 0: none
    bool flip = true;             // random horizontal flips
};

// timm-style initialization drawn from `seed`: trunc-normal(0.02) for weights, pos_embed and
// cls_token; zeros for biases; ones for LayerNorm weights; tensors in name order.
std::map<std::string, HostTensor> init_vit_params(const VitConfig& config, uint64_t seed);

// Learning rate at (0-based) step: linear warm-up to `lr` over `warmup` steps, then cosine down
// to `final_lr` at `total`.
double learning_rate_at(int64_t step, int64_t warmup, int64_t total, double lr, double final_lr);

// What one step saw: summed loss, correct top-1 predictions (before the update), images.
struct TrainStep {
    double loss_sum = 0;
    int64_t correct = 0, images = 0;
    double lr = 0;
};

// The saved state of a run: weights, Adam moments, and the caller's own state text (JSON in
// `vitedit train`), written as one safetensors file with the model's config metadata.
struct TrainCheckpoint {
    std::map<std::string, HostTensor> params, adam_m, adam_v;
    std::string state;
};
void write_train_checkpoint(const std::string& path, const VitConfig& config, TrainCheckpoint checkpoint);  // atomic
TrainCheckpoint read_train_checkpoint(const std::string& path);  // Error if not a checkpoint

class Trainer {
public:
    // inputs[i]: the normalized model input of training image i ([C, H, W]; only images in `pool`
    // are read), labels[i] its class; pool: the images trained on (each epoch shuffles it).
    // params: the starting weights (init_vit_params, or a checkpoint's).
    Trainer(std::shared_ptr<Backend> backend, const VitConfig& config, const TrainOptions& options,
            std::vector<std::vector<float>> inputs, std::vector<int32_t> labels, std::vector<size_t> pool,
            const std::map<std::string, HostTensor>& params);

    int64_t steps_per_epoch() const { return steps_per_epoch_; }
    int64_t total_steps() const { return steps_per_epoch_ * options_.epochs; }
    int64_t warmup_steps() const { return warmup_steps_; }
    int64_t step() const { return step_; }  // steps done
    const Vit& vit() const { return vit_; }
    int64_t parameter_count() const;

    // Continues from a checkpoint taken at `step` (its params were given to the constructor);
    // Error when a moment is missing or mis-shaped.
    void resume(int64_t step, const TrainCheckpoint& checkpoint);
    // One optimizer step on the next batch.
    TrainStep run_step();
    // The weights and moments now, with `state` (the caller's).
    TrainCheckpoint checkpoint(std::string state) const;

private:
    std::shared_ptr<Backend> backend_;
    VitConfig config_;
    TrainOptions options_;
    std::vector<std::vector<float>> inputs_;
    std::vector<int32_t> labels_;
    std::vector<size_t> pool_, perm_;
    int64_t perm_epoch_ = -1;
    std::vector<float> pad_;  // per channel: what a black pixel normalizes to
    Vit vit_;
    std::map<std::string, Tensor> grads_, adam_m_, adam_v_;
    int64_t steps_per_epoch_ = 0, warmup_steps_ = 0, step_ = 0;
};

}  // namespace vitedit

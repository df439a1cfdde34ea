// vitedit — the hypernetwork locator's network (docs/method.md), forward, training step and its
// self-describing checkpoint.
//
// Input: the base model's final CLS feature [N, D] as one token, after S learned query tokens (one
// per edit site). B pre-LN transformer blocks (the ViT's block, LayerNorm eps 1e-6) run over the
// S + 1 tokens; query token s then goes through its own linear D -> H_s, and site s's mask score
// is sigmoid(3 z) clamped to [1e-7, 1 - 1e-7]. Training: binary cross-entropy against label masks
// (mean over every score), RMSprop (alpha 0.99, eps 1e-8) on every parameter.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vitedit/backend.hpp"
#include "vitedit/collective.hpp"
#include "vitedit/safetensors.hpp"
#include "vitedit/transformer_block.hpp"

namespace vitedit {

struct HypernetSite {
    std::string name;   // the edit site's parameter, e.g. "blocks.2.mlp.fc1.weight"
    int64_t units = 0;  // H_s: neurons of the site
    bool operator==(const HypernetSite& o) const { return name == o.name && units == o.units; }
};

struct HypernetConfig {
    int dim = 0;        // D: the base model's width (the feature token's width)
    int heads = 0;      // 0: default_heads(dim)
    int depth = 3;      // B: transformer blocks
    int mlp = 0;        // MLP width; 0: dim
    float ln_eps = 1e-6f;
    std::vector<HypernetSite> sites;
    // 6 when it divides D (the reference), else the largest divisor of D below 6 that keeps a
    // head at least 8 wide, else 1.
    static int default_heads(int dim);
    // Fills defaults and validates; throws vitedit::Error.
    HypernetConfig resolved() const;
};

// What a checkpoint says beyond the architecture: which model and sites it was made for.
struct HypernetProvenance {
    std::string model_hash;        // tensors_hash of the base model
    std::vector<int> edit_blocks;  // the blocks of the sites
    std::string training;          // JSON: the options and facts of the meta-training run
};

class Hypernet {
public:
    // Random initialization (trunc-normal 0.02 matrices and queries, zero biases, unit
    // LayerNorm weights), drawn from std::mt19937_64 seeded by (seed, "hypernet").
    Hypernet(std::shared_ptr<Backend> backend, const HypernetConfig& config, uint64_t seed);
    // From named tensors (a checkpoint's); shapes must match the config.
    Hypernet(std::shared_ptr<Backend> backend, const HypernetConfig& config,
             const std::map<std::string, HostTensor>& params);

    const HypernetConfig& config() const { return cfg_; }
    Backend& backend() const { return *be_; }
    int num_sites() const { return static_cast<int>(cfg_.sites.size()); }
    int64_t total_units() const;
    int64_t num_parameters() const;

    // Mask scores of N feature rows: per site, [N * H_s] (row-major [N, H_s]).
    std::vector<std::vector<float>> forward(const std::vector<float>& features, int64_t n) const;

    // Binary cross-entropy of forward(features) against labels (per site [N * H_s], values in
    // [0, 1]), mean over every score.
    double bce(const std::vector<std::vector<float>>& scores, const std::vector<std::vector<float>>& labels) const;

    // One RMSprop step on the BCE at learning rate lr. Returns the loss before the step.
    // Data-parallel (`across` not null): these n rows are this process's share of a batch of
    // total_n rows spread over the processes of `across`; the loss and every gradient are taken as
    // the mean over all total_n rows (local sums, then Collective::sum), so every process makes
    // the same step as one process with the whole batch would, up to float summation order.
    double train_step(const std::vector<float>& features, int64_t n, const std::vector<std::vector<float>>& labels,
                      float lr, Collective* across = nullptr, int64_t total_n = 0);
    // The gradients of the last train_step (for tests), by parameter name.
    std::map<std::string, HostTensor> last_grads() const;

    // Parameters and RMSprop state, by name (canonical names: queries, blocks.K.*, heads.S.weight/bias).
    std::map<std::string, HostTensor> params() const;
    std::map<std::string, HostTensor> optimizer_state() const;
    void set_optimizer_state(const std::map<std::string, HostTensor>& state);

    // Writes the network (and, with with_optimizer, its RMSprop state plus `extra` metadata: a
    // training checkpoint) atomically as safetensors with self-describing metadata.
    void save(const std::string& path, const HypernetProvenance& provenance, bool with_optimizer = false,
              const std::map<std::string, std::string>& extra = {}) const;

    struct File {
        HypernetConfig config;
        HypernetProvenance provenance;
        std::map<std::string, HostTensor> params, optimizer;
        std::map<std::string, std::string> metadata;
    };
    // Reads a checkpoint; throws vitedit::Error naming the file when it is not a hypernetwork.
    static File read(const std::string& path);
    // Throws vitedit::Error saying what differs when `file` was made for another model or other
    // sites than (model_hash, sites).
    static void check_compatible(const File& file, const std::string& path, const std::string& model_hash,
                                 const std::vector<HypernetSite>& sites);

private:
    void build();
    Tensor assemble_tokens(const std::vector<float>& features, int64_t n) const;
    // Sums every gradient and the loss over the processes of `across` (train_step's data-parallel case).
    void reduce_gradients(Collective& across, double& loss);

    std::shared_ptr<Backend> be_;
    HypernetConfig cfg_;
    BlockShape shape_;
    std::vector<std::string> names_;
    std::map<std::string, Tensor> params_, grads_, sq_;
    std::vector<BlockParams> blocks_;
    std::vector<BlockGrads> block_grads_;
};

}  // namespace vitedit

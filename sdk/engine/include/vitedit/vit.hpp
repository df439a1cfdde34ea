// vitedit — the ViT engine: forward and backward of a ViT classifier on any backend.
//
// Backend-agnostic: all compute goes through vitedit::Backend. Forward returns the logits and
// the final CLS feature (after the final LayerNorm) and, on request, the activations backward
// needs. Backward produces gradients for any subset of parameters and stops at the lowest block
// that subset needs (editing blocks 7-9 never touches blocks 0-6 on the way back).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vitedit/backend.hpp"
#include "vitedit/transformer_block.hpp"
#include "vitedit/vit_config.hpp"

namespace vitedit {

class Vit {
public:
    // Uploads canonical (timm-named) tensors to the backend; shapes must match the config.
    Vit(std::shared_ptr<Backend> backend, const VitConfig& config,
        const std::map<std::string, HostTensor>& tensors);

    const VitConfig& config() const { return cfg_; }
    Backend& backend() const { return *be_; }
    const std::vector<std::string>& param_names() const { return names_; }
    const Tensor& param(const std::string& name) const;
    std::map<std::string, HostTensor> download_params() const;
    // Only the named parameters (an edit's sites, say: the rest is unchanged).
    std::map<std::string, HostTensor> download_params(const std::vector<std::string>& names) const;

    struct Activations {
        int first_block = 0;                  // activations exist for blocks >= first_block
        Tensor cols;                          // im2col of the images [N*P, C*p*p]
        std::vector<BlockActivations> blocks;
        Tensor cls, norm_mean, norm_rstd;     // final CLS rows before the LayerNorm
        Tensor features;                      // after it [N, D]
        // Set by the caller before the forward: run the last block for the CLS row only (only
        // that row reaches the head). Backward then gives no gradients for the last block's
        // parameters (it throws if asked), and costs a fraction of that block.
        bool cls_last = false;
        ClsBlockActivations last;             // the last block's, when cls_last
        bool mlp_first = false;               // block first_block ran its MLP half only
    };
    struct Output {
        Tensor logits;    // [N, classes]
        Tensor features;  // [N, D]
    };

    // images: [N, C, H, W], already normalized.
    Output forward(const Tensor& images, Activations* acts = nullptr) const;

    // The same forward in two halves, for work that repeats with only blocks >= `from` changing
    // (editing): tokens entering block `from` (embedding and blocks below it), then the rest.
    // forward_suffix fills acts->blocks[from..depth) only; backward then must not go below `from`.
    // Without activations (inference) the last block always runs for the CLS row only.
    Tensor forward_prefix(const Tensor& images, int from) const;
    Output forward_suffix(const Tensor& tokens, int from, Activations* acts = nullptr) const;

    // Finer still: when only the MLP weights of block `b` (and anything above) change, its
    // attention half is frozen too. forward_attention gives what block b's MLP reads, from the
    // tokens entering block b; forward_from_mlp runs from there. Backward from such activations
    // gives block b's fc1/fc2 gradients and nothing below them.
    struct MlpInput {
        Tensor x_mid;  // [N, T, D] the block input plus its attention branch
        Tensor ln2;    // [N*T, D] LayerNorm2(x_mid)
    };
    MlpInput forward_attention(const Tensor& tokens, int b) const;
    // With `units` (prepare_mlp_units, on the same input and block), block b's MLP runs only the
    // hidden units that change (see MlpUnits); backward then gives those units' fc1 rows / fc2
    // columns gradients only.
    Output forward_from_mlp(const MlpInput& in, int b, Activations* acts = nullptr,
                            const MlpUnits* units = nullptr) const;
    MlpUnits prepare_mlp_units(const MlpInput& in, int b, const std::vector<int32_t>& fc1_rows,
                               const std::vector<int32_t>& fc2_cols) const;

    // Zero-initialized gradient buffers for the named parameters.
    std::map<std::string, Tensor> make_grads(const std::vector<std::string>& names) const;
    // grads[name] = d(loss)/d(param) + beta * grads[name] for every key present, given
    // dlogits = d(loss)/d(logits). Stops at the lowest block the requested set needs.
    // units (optional): for blocks.B.mlp.fc1.weight the rows, for blocks.B.mlp.fc2.weight the
    // columns whose gradient is wanted (masked neurons); the rest of those buffers may be left
    // unwritten (see BlockGrads::fc1_rows). unit_grads (optional, with units): per such weight, a
    // tensor receiving those units' gradient in compact form instead (BlockGrads::fc1_w_units).
    void backward(const Activations& acts, const Tensor& dlogits, const std::map<std::string, Tensor>& grads,
                  float beta = 0.0f, const std::map<std::string, std::vector<int32_t>>* units = nullptr,
                  const std::map<std::string, Tensor>* unit_grads = nullptr) const;

    // The lowest block index backward visits for these parameters (-1: down to the embedding,
    // depth: the head only).
    int lowest_block(const std::vector<std::string>& names) const;

    // Host images ([N, C, H, W] floats, normalized) to a backend tensor.
    Tensor upload_images(const std::vector<float>& chw, int64_t n) const;

private:
    Tensor embed_and_run(const Tensor& images, int upto, Activations* acts) const;

    std::shared_ptr<Backend> be_;
    VitConfig cfg_;
    std::vector<std::string> names_;
    std::map<std::string, Tensor> params_;
    std::vector<BlockParams> blocks_;
    BlockShape shape_;
};

}  // namespace vitedit

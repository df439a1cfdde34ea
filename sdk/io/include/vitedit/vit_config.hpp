// vitedit — the architecture of a ViT classifier, derived from tensor shapes plus metadata.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "vitedit/safetensors.hpp"

namespace vitedit {

struct VitConfig {
    int in_chans = 3;
    int patch = 16;
    int grid_h = 14, grid_w = 14;   // patches per side; the input is grid*patch pixels
    int dim = 768;
    int depth = 12;
    int heads = 12;
    int mlp_hidden = 3072;
    int num_classes = 1000;
    float ln_eps = 1e-6f;
    std::vector<float> mean, std;   // per input channel
    std::vector<std::string> classes;

    int image_h() const { return grid_h * patch; }
    int image_w() const { return grid_w * patch; }
    int tokens() const { return grid_h * grid_w + 1; }
    int head_dim() const { return dim / heads; }
    std::string summary() const;
};

// Flags that override what the file says (README, Using it). Unset fields keep the file's value.
struct ConfigOverrides {
    int heads = 0;
    float ln_eps = 0;
    std::vector<float> mean, std;
    std::vector<std::string> classes;
};

// Derives the config from canonical (timm-named) tensors and `__metadata__` keys
// vitedit.num_heads, vitedit.ln_eps, vitedit.mean, vitedit.std, vitedit.classes,
// vitedit.grid (e.g. "14x14" when not square). Validates every tensor's shape against it and
// throws vitedit::Error naming the tensor, its shape and the expected one.
VitConfig derive_config(const std::map<std::string, HostTensor>& tensors,
                        const std::map<std::string, std::string>& metadata,
                        const ConfigOverrides& overrides = {}, const std::string& what = "model");

// The metadata that describes `cfg`, to be written beside the tensors.
std::map<std::string, std::string> config_metadata(const VitConfig& cfg);

// Every canonical tensor name and shape a ViT of this config has.
std::map<std::string, std::vector<int64_t>> expected_shapes(const VitConfig& cfg);

}  // namespace vitedit

// vitedit — small random ViTs for the tests that replay the engine's work in LibTorch
// (tests/edit, tests/meta): one config and one seeded weight recipe, shared.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "vitedit/model.hpp"

namespace vitedit::reference {

// 16x16x1 images, patch 4 (4x4 grid), width 32, depth 4, 2 heads, 5 classes.
inline VitConfig tiny_config(int64_t mlp_hidden) {
    VitConfig c;
    c.in_chans = 1;
    c.patch = 4;
    c.grid_h = c.grid_w = 4;
    c.dim = 32;
    c.depth = 4;
    c.heads = 2;
    c.mlp_hidden = mlp_hidden;
    c.num_classes = 5;
    c.mean = {0.5f};
    c.std = {0.5f};
    return c;
}

// N(0, 0.3^2) weights (LayerNorm scales around 1), seeded through LibTorch's generator.
inline std::map<std::string, HostTensor> random_model(const VitConfig& c, int seed) {
    torch::manual_seed(seed);
    std::map<std::string, HostTensor> w;
    for (const auto& [name, shape] : expected_shapes(c)) {
        torch::Tensor t = torch::randn(shape) * 0.3;
        if (name.find("norm") != std::string::npos && name.find("weight") != std::string::npos) t = 1.0 + t * 0.3;
        t = t.contiguous();
        w[name] = HostTensor{shape, std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())};
    }
    return w;
}

inline torch::Tensor to_torch(const HostTensor& h) {
    return torch::from_blob(const_cast<float*>(h.data.data()), h.shape).clone();
}

}  // namespace vitedit::reference

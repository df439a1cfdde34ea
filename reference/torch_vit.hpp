// vitedit — the reference ViT forward, written with LibTorch ops exactly as timm's
// VisionTransformer computes it. Shared by the programs that check or time vitedit against
// LibTorch (host/perf_reference.cpp, tests/engine); never part of the SDK or the `vitedit` host.
#pragma once

#include <cmath>
#include <map>
#include <string>

#include <torch/torch.h>

#include "vitedit/vit_config.hpp"

namespace vitedit::reference {

// One pre-LN block (timm's Block) on tokens h [N, T, D]; `p` is the block's name prefix
// ("blocks.3.").
inline torch::Tensor block_forward(const torch::Tensor& h, const std::map<std::string, torch::Tensor>& w,
                                   const std::string& p, int heads, double eps) {
    const int64_t N = h.size(0), T = h.size(1), D = h.size(2), hd = D / heads;
    auto y = torch::layer_norm(h, {D}, w.at(p + "norm1.weight"), w.at(p + "norm1.bias"), eps);
    auto qkv = torch::linear(y, w.at(p + "attn.qkv.weight"), w.at(p + "attn.qkv.bias"));
    qkv = qkv.reshape({N, T, 3, heads, hd}).permute({2, 0, 3, 1, 4});
    auto q = qkv[0], k = qkv[1], v = qkv[2];
    auto att = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd)), -1);
    auto o = torch::matmul(att, v).transpose(1, 2).reshape({N, T, D});
    auto x = h + torch::linear(o, w.at(p + "attn.proj.weight"), w.at(p + "attn.proj.bias"));
    y = torch::layer_norm(x, {D}, w.at(p + "norm2.weight"), w.at(p + "norm2.bias"), eps);
    y = torch::gelu(torch::linear(y, w.at(p + "mlp.fc1.weight"), w.at(p + "mlp.fc1.bias")));
    return x + torch::linear(y, w.at(p + "mlp.fc2.weight"), w.at(p + "mlp.fc2.bias"));
}

// Tokens [N, 1 + P, D] of `images` [N, C, H, W]: patch embedding, class token, position embedding.
inline torch::Tensor embed(const VitConfig& c, const std::map<std::string, torch::Tensor>& w, const torch::Tensor& images) {
    namespace F = torch::nn::functional;
    const int64_t N = images.size(0), D = c.dim;
    auto x = F::conv2d(images, w.at("patch_embed.proj.weight"),
                       F::Conv2dFuncOptions().bias(w.at("patch_embed.proj.bias")).stride(c.patch));
    x = x.flatten(2).transpose(1, 2);  // [N, P, D]
    return torch::cat({w.at("cls_token").expand({N, 1, D}), x}, 1) + w.at("pos_embed");
}

// Logits of `images` [N, C, H, W]; `features`, when given, receives the final CLS feature.
inline torch::Tensor vit_forward(const VitConfig& c, const std::map<std::string, torch::Tensor>& w,
                                 const torch::Tensor& images, torch::Tensor* features = nullptr) {
    auto x = embed(c, w, images);
    for (int b = 0; b < c.depth; ++b) x = block_forward(x, w, "blocks." + std::to_string(b) + ".", c.heads, c.ln_eps);
    auto f = torch::layer_norm(x.select(1, 0), {c.dim}, w.at("norm.weight"), w.at("norm.bias"), c.ln_eps);
    if (features) *features = f;
    return torch::linear(f, w.at("head.weight"), w.at("head.bias"));
}

}  // namespace vitedit::reference

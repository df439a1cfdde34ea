// vitedit — mapping checkpoint tensor names onto vitedit's canonical (timm) ViT names.
//
// Canonical names (timm's VisionTransformer):
//   cls_token [1,1,D], pos_embed [1,T,D], patch_embed.proj.{weight [D,C,p,p], bias [D]},
//   blocks.N.norm1.{weight,bias}, blocks.N.attn.qkv.{weight [3D,D], bias [3D]} (q,k,v order),
//   blocks.N.attn.proj.{weight [D,D], bias}, blocks.N.norm2.{weight,bias},
//   blocks.N.mlp.fc1.{weight [H,D], bias [H]}, blocks.N.mlp.fc2.{weight [D,H], bias [D]},
//   norm.{weight,bias}, head.{weight [K,D], bias [K]}.
// Importers: Hugging Face ViTForImageClassification / ViTModel ("vit." prefix optional) and
// torchvision VisionTransformer.
#pragma once

#include <map>
#include <string>

#include "vitedit/safetensors.hpp"

namespace vitedit {

// Returns "timm", "hf" or "torchvision" by the names present. Throws vitedit::Error listing a few
// of the names when none of the conventions is recognized (or there are no tensors).
std::string detect_naming(const std::map<std::string, HostTensor>& tensors);

// Renames (and for Hugging Face, concatenates q/k/v into qkv) so that the result uses canonical
// timm names only; shapes are kept as timm has them. timm names pass through unchanged. Tensors
// known to be unused are dropped (Hugging Face pooler.*, mask_token). Any other tensor that has no
// canonical counterpart, an incomplete q/k/v triple, or q/k/v of mismatched shapes throws
// vitedit::Error naming the tensors. `detected`, if given, receives the detected convention.
std::map<std::string, HostTensor> to_timm_names(std::map<std::string, HostTensor> tensors,
                                                std::string* detected = nullptr);

// True if `name` is one of the canonical timm names listed above (any block index).
bool is_canonical_vit_name(const std::string& name);

}  // namespace vitedit

// vitedit — a ViT checkpoint on the host: canonical tensors, its config, where it came from.
#pragma once

#include <map>
#include <string>

#include "vitedit/safetensors.hpp"
#include "vitedit/vit_config.hpp"

namespace vitedit {

struct ModelFile {
    std::string path;
    std::string naming;                           // "timm", "hf" or "torchvision" as found
    VitConfig config;
    std::map<std::string, HostTensor> tensors;    // canonical timm names
    std::map<std::string, std::string> metadata;  // the file's __metadata__
};

// Reads a safetensors checkpoint under any supported naming, maps it to timm names, derives and
// validates the config. Errors name the file.
ModelFile load_model(const std::string& path, const ConfigOverrides& overrides = {});
// The same from an already parsed file; `what` names the source in messages.
ModelFile model_from_safetensors(SafeTensorsFile file, const std::string& what, const ConfigOverrides& overrides = {});

// Writes timm-named tensors plus the config's metadata (and `extra` metadata) atomically.
void save_model(const std::string& path, const VitConfig& config,
                const std::map<std::string, HostTensor>& tensors,
                std::map<std::string, std::string> extra_metadata = {});

}  // namespace vitedit

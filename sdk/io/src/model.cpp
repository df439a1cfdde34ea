// vitedit — loading and saving ViT checkpoints.
#include "vitedit/model.hpp"

#include "vitedit/backend.hpp"
#include "vitedit/naming.hpp"

namespace vitedit {

ModelFile load_model(const std::string& path, const ConfigOverrides& overrides) {
    return model_from_safetensors(read_safetensors(path), path, overrides);
}

ModelFile model_from_safetensors(SafeTensorsFile f, const std::string& path, const ConfigOverrides& overrides) {
    ModelFile m;
    m.path = path;
    try {
        m.tensors = to_timm_names(std::move(f.tensors), &m.naming);
    } catch (const Error& e) {
        throw Error(path + ": " + e.what());
    }
    m.metadata = std::move(f.metadata);
    m.config = derive_config(m.tensors, m.metadata, overrides, path);
    return m;
}

void save_model(const std::string& path, const VitConfig& config, const std::map<std::string, HostTensor>& tensors,
                std::map<std::string, std::string> extra) {
    SafeTensorsFile f;
    f.tensors = tensors;
    f.metadata = std::move(extra);
    for (auto& [k, v] : config_metadata(config)) f.metadata[k] = v;
    write_safetensors(path, f);
}

}  // namespace vitedit

// Fuzz target: patch files (.vtp: safetensors + patch metadata), then applying and reverting the
// patch on a small model. A patch whose base (edited) hash is the literal "model" is given the
// model's real hash, so the fuzzer also reaches the code that moves rows and columns, behind the
// hash check. Any input must load/apply or throw vitedit::Error.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "vitedit/backend.hpp"
#include "vitedit/hash.hpp"
#include "vitedit/patch.hpp"

namespace {
std::map<std::string, vitedit::HostTensor> small_model() {
    std::map<std::string, vitedit::HostTensor> m;
    auto add = [&](const std::string& name, int64_t r, int64_t c) {
        std::vector<float> v(static_cast<size_t>(r * c));
        for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.25f;
        vitedit::HostTensor t{{r, c}, v};
        m[name] = t;
    };
    add("blocks.0.mlp.fc1.weight", 8, 4);
    add("blocks.0.mlp.fc2.weight", 4, 8);
    m["blocks.0.mlp.fc1.bias"] = vitedit::HostTensor{{8}, std::vector<float>(8, 1.0f)};
    return m;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const auto model = small_model();
    static const std::string model_hash = vitedit::tensors_hash(model);
    try {
        vitedit::Patch p = vitedit::patch_from_safetensors(vitedit::parse_safetensors(data, size, "fuzz.vtp"), "fuzz.vtp");
        if (p.base_hash == "model") p.base_hash = model_hash;
        if (p.edited_hash == "model") p.edited_hash = model_hash;
        try {
            vitedit::apply_patch(model, p);
        } catch (const vitedit::Error&) {
        }
        vitedit::revert_patch(model, p);
    } catch (const vitedit::Error&) {
    }
    return 0;
}

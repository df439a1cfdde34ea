// Fuzz target: the safetensors reader and what reads a model out of it (naming detection, mapping
// to timm names, config derivation and shape checks). Any input must either parse or throw
// vitedit::Error; a crash, a sanitizer report or another exception type is a finding.
#include <cstdint>
#include <cstdlib>

#include "vitedit/backend.hpp"
#include "vitedit/model.hpp"
#include "vitedit/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        vitedit::SafeTensorsFile f = vitedit::parse_safetensors(data, size, "fuzz.safetensors");
        for (const auto& [name, t] : f.tensors)
            if (static_cast<size_t>(t.numel()) != t.data.size()) std::abort();  // shape and data must agree
        vitedit::model_from_safetensors(std::move(f), "fuzz.safetensors");
    } catch (const vitedit::Error&) {
    }
    return 0;
}

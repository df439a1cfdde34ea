// The PyTorch reference model written by scripts/make_reference_vit.py under torchvision, Hugging
// Face and timm names loads and maps onto identical canonical tensors. ctest runs the script first
// (fixture io.reference_gen) and passes its folder in VITEDIT_REF_DIR; without it the test skips.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "vitedit/naming.hpp"
#include "vitedit/safetensors.hpp"

TEST_CASE("reference ViT files under three naming conventions agree", "[reference]") {
    const char* dir_env = std::getenv("VITEDIT_REF_DIR");
    if (!dir_env || !*dir_env) {
        WARN("skipped: VITEDIT_REF_DIR is not set (needs /usr/bin/python3 with torch and torchvision)");
        return;
    }
    const std::string dir = dir_env;
    std::ifstream ef(dir + "/expected.json");
    REQUIRE(ef.good());
    const nlohmann::json expected = nlohmann::json::parse(ef);
    const auto& m = expected.at("model");
    const int64_t D = m.at("hidden_dim"), Hd = m.at("mlp_dim"), K = m.at("num_classes");
    const int64_t L = m.at("num_layers"), img = m.at("image_size"), p = m.at("patch_size");
    const int64_t T = (img / p) * (img / p) + 1;

    const vitedit::SafeTensorsFile timm = vitedit::read_safetensors(dir + "/timm.safetensors");
    REQUIRE(vitedit::detect_naming(timm.tensors) == "timm");
    REQUIRE(timm.metadata.at("vitedit.num_heads") == std::to_string(m.at("num_heads").get<int>()));
    REQUIRE(timm.metadata.at("vitedit.ln_eps") == "1e-06");
    REQUIRE(timm.metadata.at("vitedit.mean") == "0.5,0.5,0.5");
    REQUIRE(timm.metadata.at("vitedit.std") == "0.5,0.5,0.5");
    REQUIRE(timm.tensors.size() == static_cast<size_t>(8 + 12 * L));
    REQUIRE(timm.tensors.at("cls_token").shape == std::vector<int64_t>{1, 1, D});
    REQUIRE(timm.tensors.at("pos_embed").shape == std::vector<int64_t>{1, T, D});
    REQUIRE(timm.tensors.at("patch_embed.proj.weight").shape == std::vector<int64_t>{D, 3, p, p});
    REQUIRE(timm.tensors.at("blocks.0.attn.qkv.weight").shape == std::vector<int64_t>{3 * D, D});
    REQUIRE(timm.tensors.at("blocks.0.mlp.fc1.weight").shape == std::vector<int64_t>{Hd, D});
    REQUIRE(timm.tensors.at("blocks.0.mlp.fc2.weight").shape == std::vector<int64_t>{D, Hd});
    REQUIRE(timm.tensors.at("head.weight").shape == std::vector<int64_t>{K, D});
    REQUIRE(vitedit::to_timm_names(timm.tensors).size() == timm.tensors.size());

    for (const auto& [file, label] : {std::pair<std::string, std::string>{"tv.safetensors", "torchvision"},
                                      {"hf.safetensors", "hf"}}) {
        INFO(file);
        const vitedit::SafeTensorsFile f = vitedit::read_safetensors(dir + "/" + file);
        REQUIRE(f.metadata == timm.metadata);
        std::string det;
        const auto mapped = vitedit::to_timm_names(f.tensors, &det);
        REQUIRE(det == label);
        REQUIRE(mapped.size() == timm.tensors.size());
        for (const auto& [name, t] : timm.tensors) {
            INFO(name);
            REQUIRE(mapped.count(name) == 1);
            REQUIRE(mapped.at(name).shape == t.shape);
            REQUIRE(mapped.at(name).data == t.data);
        }
    }
    REQUIRE(expected.at("images").size() >= 1);
    REQUIRE(expected.at("images")[0].at("logits").size() == static_cast<size_t>(K));
}

// Checkpoint naming: Hugging Face and torchvision names map onto exactly the canonical timm set.
#include <catch2/catch.hpp>

#include <random>

#include "vitedit/backend.hpp"
#include "vitedit/naming.hpp"

using Catch::Contains;
using vitedit::HostTensor;
using TensorMap = std::map<std::string, HostTensor>;

namespace {

constexpr int64_t D = 8, H = 16, L = 2, K = 3, T = 5, C = 3, P = 2;

HostTensor rnd(std::vector<int64_t> shape, std::mt19937& rng) {
    std::normal_distribution<float> nd;
    HostTensor t;
    t.shape = std::move(shape);
    std::vector<float> v(static_cast<size_t>(t.numel()));
    for (float& x : v) x = nd(rng);
    t.data = v;
    return t;
}

// A random model under canonical timm names.
TensorMap make_timm(unsigned seed = 1) {
    std::mt19937 rng(seed);
    TensorMap m;
    m["cls_token"] = rnd({1, 1, D}, rng);
    m["pos_embed"] = rnd({1, T, D}, rng);
    m["patch_embed.proj.weight"] = rnd({D, C, P, P}, rng);
    m["patch_embed.proj.bias"] = rnd({D}, rng);
    for (int i = 0; i < L; ++i) {
        const std::string b = "blocks." + std::to_string(i) + ".";
        m[b + "norm1.weight"] = rnd({D}, rng);
        m[b + "norm1.bias"] = rnd({D}, rng);
        m[b + "attn.qkv.weight"] = rnd({3 * D, D}, rng);
        m[b + "attn.qkv.bias"] = rnd({3 * D}, rng);
        m[b + "attn.proj.weight"] = rnd({D, D}, rng);
        m[b + "attn.proj.bias"] = rnd({D}, rng);
        m[b + "norm2.weight"] = rnd({D}, rng);
        m[b + "norm2.bias"] = rnd({D}, rng);
        m[b + "mlp.fc1.weight"] = rnd({H, D}, rng);
        m[b + "mlp.fc1.bias"] = rnd({H}, rng);
        m[b + "mlp.fc2.weight"] = rnd({D, H}, rng);
        m[b + "mlp.fc2.bias"] = rnd({D}, rng);
    }
    m["norm.weight"] = rnd({D}, rng);
    m["norm.bias"] = rnd({D}, rng);
    m["head.weight"] = rnd({K, D}, rng);
    m["head.bias"] = rnd({K}, rng);
    return m;
}

// Third `part` (0 q, 1 k, 2 v) of a qkv tensor along dim 0.
HostTensor third(const HostTensor& t, int part) {
    HostTensor r;
    r.shape = t.shape;
    r.shape[0] /= 3;
    const size_t n = t.data.size() / 3;
    r.data = std::vector<float>(t.data.begin() + part * n, t.data.begin() + (part + 1) * n);
    return r;
}

TensorMap to_hf(const TensorMap& t, const std::string& prefix = "vit.", bool classifier = true) {
    TensorMap m;
    m[prefix + "embeddings.cls_token"] = t.at("cls_token");
    m[prefix + "embeddings.position_embeddings"] = t.at("pos_embed");
    m[prefix + "embeddings.patch_embeddings.projection.weight"] = t.at("patch_embed.proj.weight");
    m[prefix + "embeddings.patch_embeddings.projection.bias"] = t.at("patch_embed.proj.bias");
    for (int i = 0; i < L; ++i) {
        const std::string b = "blocks." + std::to_string(i) + ".";
        const std::string h = prefix + "encoder.layer." + std::to_string(i) + ".";
        for (const std::string x : {"weight", "bias"}) {
            const char* qkv[3] = {"query", "key", "value"};
            for (int p = 0; p < 3; ++p)
                m[h + "attention.attention." + qkv[p] + "." + x] = third(t.at(b + "attn.qkv." + x), p);
            m[h + "attention.output.dense." + x] = t.at(b + "attn.proj." + x);
            m[h + "intermediate.dense." + x] = t.at(b + "mlp.fc1." + x);
            m[h + "output.dense." + x] = t.at(b + "mlp.fc2." + x);
            m[h + "layernorm_before." + x] = t.at(b + "norm1." + x);
            m[h + "layernorm_after." + x] = t.at(b + "norm2." + x);
        }
    }
    m[prefix + "layernorm.weight"] = t.at("norm.weight");
    m[prefix + "layernorm.bias"] = t.at("norm.bias");
    if (classifier) {
        m["classifier.weight"] = t.at("head.weight");
        m["classifier.bias"] = t.at("head.bias");
    }
    return m;
}

TensorMap to_tv(const TensorMap& t, bool linear_names = false) {
    TensorMap m;
    m["class_token"] = t.at("cls_token");
    m["encoder.pos_embedding"] = t.at("pos_embed");
    m["conv_proj.weight"] = t.at("patch_embed.proj.weight");
    m["conv_proj.bias"] = t.at("patch_embed.proj.bias");
    for (int i = 0; i < L; ++i) {
        const std::string b = "blocks." + std::to_string(i) + ".";
        const std::string e = "encoder.layers.encoder_layer_" + std::to_string(i) + ".";
        for (const std::string x : {"weight", "bias"}) {
            m[e + "ln_1." + x] = t.at(b + "norm1." + x);
            m[e + "ln_2." + x] = t.at(b + "norm2." + x);
            m[e + "self_attention.in_proj_" + x] = t.at(b + "attn.qkv." + x);
            m[e + "self_attention.out_proj." + x] = t.at(b + "attn.proj." + x);
            m[e + (linear_names ? "mlp.linear_1." : "mlp.0.") + x] = t.at(b + "mlp.fc1." + x);
            m[e + (linear_names ? "mlp.linear_2." : "mlp.3.") + x] = t.at(b + "mlp.fc2." + x);
        }
    }
    m["encoder.ln.weight"] = t.at("norm.weight");
    m["encoder.ln.bias"] = t.at("norm.bias");
    m["heads.head.weight"] = t.at("head.weight");
    m["heads.head.bias"] = t.at("head.bias");
    return m;
}

void require_same(const TensorMap& got, const TensorMap& want) {
    std::vector<std::string> gn, wn;
    for (const auto& kv : got) gn.push_back(kv.first);
    for (const auto& kv : want) wn.push_back(kv.first);
    REQUIRE(gn == wn);
    for (const auto& [name, w] : want) {
        INFO(name);
        REQUIRE(got.at(name).shape == w.shape);
        REQUIRE(got.at(name).data == w.data);
    }
}

}  // namespace

TEST_CASE("timm names are detected and pass through unchanged", "[naming]") {
    const TensorMap t = make_timm();
    REQUIRE(vitedit::detect_naming(t) == "timm");
    std::string det;
    require_same(vitedit::to_timm_names(t, &det), t);
    REQUIRE(det == "timm");
    for (const auto& kv : t) REQUIRE(vitedit::is_canonical_vit_name(kv.first));
    REQUIRE(!vitedit::is_canonical_vit_name("blocks.x.norm1.weight"));
    REQUIRE(!vitedit::is_canonical_vit_name("blocks.01.norm1.weight"));
    REQUIRE(!vitedit::is_canonical_vit_name("blocks.0.norm1.gamma"));
    REQUIRE(!vitedit::is_canonical_vit_name("fc_norm.weight"));
}

TEST_CASE("Hugging Face ViT names map onto the timm set with q,k,v concatenated", "[naming]") {
    const TensorMap t = make_timm(2);
    TensorMap hf = to_hf(t);
    REQUIRE(vitedit::detect_naming(hf) == "hf");
    std::string det;
    const TensorMap got = vitedit::to_timm_names(hf, &det);
    REQUIRE(det == "hf");
    require_same(got, t);
    // The qkv rows: first D rows are query, then key, then value.
    const HostTensor& qkv = got.at("blocks.1.attn.qkv.weight");
    REQUIRE(qkv.shape == std::vector<int64_t>{3 * D, D});
    const auto& key = hf.at("vit.encoder.layer.1.attention.attention.key.weight").data;
    REQUIRE(std::equal(key.begin(), key.end(), qkv.data.begin() + D * D));
    const auto& vb = hf.at("vit.encoder.layer.1.attention.attention.value.bias").data;
    REQUIRE(std::equal(vb.begin(), vb.end(), got.at("blocks.1.attn.qkv.bias").data.begin() + 2 * D));

    SECTION("a pooler and a mask token are dropped") {
        std::mt19937 rng(3);
        hf["vit.pooler.dense.weight"] = rnd({D, D}, rng);
        hf["vit.pooler.dense.bias"] = rnd({D}, rng);
        hf["vit.embeddings.mask_token"] = rnd({1, 1, D}, rng);
        require_same(vitedit::to_timm_names(hf), t);
    }
    SECTION("ViTModel names without the vit. prefix") {
        TensorMap bare = to_hf(t, "", false);
        REQUIRE(vitedit::detect_naming(bare) == "hf");
        TensorMap want = t;
        want.erase("head.weight");
        want.erase("head.bias");
        require_same(vitedit::to_timm_names(bare), want);
    }
    SECTION("an unknown tensor is named") {
        std::mt19937 rng(3);
        hf["vit.encoder.layer.0.attention.attention.rel_pos.weight"] = rnd({D}, rng);
        REQUIRE_THROWS_AS(vitedit::to_timm_names(hf), vitedit::Error);
        REQUIRE_THROWS_WITH(vitedit::to_timm_names(hf),
                            Contains("vit.encoder.layer.0.attention.attention.rel_pos.weight") &&
                                Contains("no canonical"));
    }
    SECTION("an incomplete q/k/v triple is refused") {
        hf.erase("vit.encoder.layer.1.attention.attention.key.bias");
        REQUIRE_THROWS_WITH(vitedit::to_timm_names(hf),
                            Contains("blocks.1.attn.qkv.bias") && Contains("missing 'key'"));
    }
    SECTION("q/k/v of different shapes are refused") {
        std::mt19937 rng(3);
        hf["vit.encoder.layer.0.attention.attention.value.weight"] = rnd({D, D + 1}, rng);
        REQUIRE_THROWS_WITH(vitedit::to_timm_names(hf),
                            Contains("blocks.0.attn.qkv.weight") && Contains("cannot concatenate"));
    }
}

TEST_CASE("torchvision VisionTransformer names map onto the timm set", "[naming]") {
    const TensorMap t = make_timm(4);
    for (bool linear_names : {false, true}) {
        INFO("linear_1/linear_2 names: " << linear_names);
        TensorMap tv = to_tv(t, linear_names);
        REQUIRE(vitedit::detect_naming(tv) == "torchvision");
        std::string det;
        require_same(vitedit::to_timm_names(tv, &det), t);
        REQUIRE(det == "torchvision");
    }
    SECTION("a pre-logits layer has no counterpart and is named") {
        TensorMap tv = to_tv(t);
        std::mt19937 rng(5);
        tv["heads.pre_logits.weight"] = rnd({D, D}, rng);
        REQUIRE_THROWS_WITH(vitedit::to_timm_names(tv), Contains("heads.pre_logits.weight"));
    }
    SECTION("two names for one canonical tensor collide") {
        TensorMap tv = to_tv(t);
        tv["encoder.layers.encoder_layer_0.mlp.linear_1.weight"] = tv.at("encoder.layers.encoder_layer_0.mlp.0.weight");
        REQUIRE_THROWS_WITH(vitedit::to_timm_names(tv), Contains("blocks.0.mlp.fc1.weight") && Contains("both map"));
    }
}

TEST_CASE("unrecognized checkpoints are refused with a few of their names", "[naming]") {
    std::mt19937 rng(6);
    TensorMap m;
    for (int i = 0; i < 10; ++i) m["resnet.layer" + std::to_string(i) + ".conv.weight"] = rnd({2}, rng);
    REQUIRE_THROWS_AS(vitedit::detect_naming(m), vitedit::Error);
    REQUIRE_THROWS_WITH(vitedit::detect_naming(m),
                        Contains("cannot detect") && Contains("resnet.layer0.conv.weight") && Contains("more"));
    REQUIRE_THROWS_WITH(vitedit::to_timm_names(m), Contains("resnet.layer0.conv.weight"));
    REQUIRE_THROWS_WITH(vitedit::detect_naming(TensorMap{}), Contains("no tensors"));

    TensorMap t = make_timm();
    t["fc_norm.weight"] = rnd({D}, rng);
    REQUIRE_THROWS_WITH(vitedit::to_timm_names(t), Contains("fc_norm.weight"));
}

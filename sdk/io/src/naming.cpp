// vitedit — Hugging Face / torchvision ViT names -> canonical timm names.
#include "vitedit/naming.hpp"

#include "vitedit/backend.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <sstream>
#include <vector>

namespace vitedit {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

bool is_wb(const std::string& s) { return s == "weight" || s == "bias"; }

// Splits "<digits>.<rest>" (after a prefix has been removed). Returns false if malformed.
bool split_index(const std::string& s, std::string& index, std::string& rest) {
    size_t i = 0;
    while (i < s.size() && i < 9 && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == 0 || i >= s.size() || s[i] != '.') return false;
    if (i > 1 && s[0] == '0') return false;  // no leading zeros: "07" is not block 7
    index = s.substr(0, i);
    rest = s.substr(i + 1);
    return true;
}

std::string list_names(const std::vector<std::string>& names, size_t max = 6) {
    std::ostringstream o;
    for (size_t i = 0; i < names.size() && i < max; ++i) o << (i ? ", " : "") << "'" << names[i] << "'";
    if (names.size() > max) o << " and " << names.size() - max << " more";
    return o.str();
}

// Canonical per-block suffixes and top-level names.
const std::array<const char*, 6> kBlockModules = {"norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2"};
const std::array<const char*, 3> kTopModules = {"patch_embed.proj", "norm", "head"};

bool is_module_param(const std::string& s, const char* module) {
    const std::string m = std::string(module) + ".";
    return starts_with(s, m) && is_wb(s.substr(m.size()));
}

// Result of mapping one source name.
struct Mapped {
    enum Kind { Rename, Drop, QKV, Unknown } kind = Unknown;
    std::string target;     // Rename: canonical name; QKV: canonical qkv name (…attn.qkv.weight|bias)
    int part = 0;           // QKV: 0 = q, 1 = k, 2 = v
};

Mapped rename(std::string t) { return {Mapped::Rename, std::move(t), 0}; }
Mapped drop() { return {Mapped::Drop, "", 0}; }
Mapped unknown() { return {}; }

Mapped map_hf(const std::string& full) {
    if (starts_with(full, "classifier.")) {
        const std::string x = full.substr(11);
        return is_wb(x) ? rename("head." + x) : unknown();
    }
    std::string s = starts_with(full, "vit.") ? full.substr(4) : full;
    if (s == "embeddings.cls_token") return rename("cls_token");
    if (s == "embeddings.position_embeddings") return rename("pos_embed");
    if (s == "embeddings.mask_token") return drop();
    if (starts_with(s, "embeddings.patch_embeddings.projection.")) {
        const std::string x = s.substr(39);
        return is_wb(x) ? rename("patch_embed.proj." + x) : unknown();
    }
    if (starts_with(s, "pooler.")) return drop();
    if (starts_with(s, "layernorm.")) {
        const std::string x = s.substr(10);
        return is_wb(x) ? rename("norm." + x) : unknown();
    }
    if (starts_with(s, "encoder.layer.")) {
        std::string n, rest;
        if (!split_index(s.substr(14), n, rest)) return unknown();
        const std::string b = "blocks." + n + ".";
        const size_t dot = rest.find_last_of('.');
        if (dot == std::string::npos) return unknown();
        const std::string mod = rest.substr(0, dot), x = rest.substr(dot + 1);
        if (!is_wb(x)) return unknown();
        static const std::array<std::pair<const char*, const char*>, 5> table = {{
            {"attention.output.dense", "attn.proj"},
            {"intermediate.dense", "mlp.fc1"},
            {"output.dense", "mlp.fc2"},
            {"layernorm_before", "norm1"},
            {"layernorm_after", "norm2"},
        }};
        for (const auto& [from, to] : table)
            if (mod == from) return rename(b + to + "." + x);
        static const std::array<const char*, 3> qkv = {"attention.attention.query", "attention.attention.key",
                                                       "attention.attention.value"};
        for (int p = 0; p < 3; ++p)
            if (mod == qkv[p]) return {Mapped::QKV, b + "attn.qkv." + x, p};
    }
    return unknown();
}

Mapped map_tv(const std::string& s) {
    if (s == "class_token") return rename("cls_token");
    if (s == "encoder.pos_embedding") return rename("pos_embed");
    if (starts_with(s, "conv_proj.")) {
        const std::string x = s.substr(10);
        return is_wb(x) ? rename("patch_embed.proj." + x) : unknown();
    }
    if (starts_with(s, "encoder.ln.")) {
        const std::string x = s.substr(11);
        return is_wb(x) ? rename("norm." + x) : unknown();
    }
    if (starts_with(s, "heads.head.")) {
        const std::string x = s.substr(11);
        return is_wb(x) ? rename("head." + x) : unknown();
    }
    if (starts_with(s, "encoder.layers.encoder_layer_")) {
        std::string n, rest;
        if (!split_index(s.substr(29), n, rest)) return unknown();
        const std::string b = "blocks." + n + ".";
        if (rest == "self_attention.in_proj_weight") return rename(b + "attn.qkv.weight");
        if (rest == "self_attention.in_proj_bias") return rename(b + "attn.qkv.bias");
        const size_t dot = rest.find_last_of('.');
        if (dot == std::string::npos) return unknown();
        const std::string mod = rest.substr(0, dot), x = rest.substr(dot + 1);
        if (!is_wb(x)) return unknown();
        static const std::array<std::pair<const char*, const char*>, 7> table = {{
            {"ln_1", "norm1"},
            {"ln_2", "norm2"},
            {"self_attention.out_proj", "attn.proj"},
            {"mlp.0", "mlp.fc1"},
            {"mlp.linear_1", "mlp.fc1"},
            {"mlp.3", "mlp.fc2"},
            {"mlp.linear_2", "mlp.fc2"},
        }};
        for (const auto& [from, to] : table)
            if (mod == from) return rename(b + to + "." + x);
    }
    return unknown();
}

Mapped map_timm(const std::string& s) { return is_canonical_vit_name(s) ? rename(s) : unknown(); }

// Scores: how many names look like each convention (by distinctive prefixes).
int score(const std::map<std::string, HostTensor>& t, const std::vector<std::string>& prefixes) {
    int n = 0;
    for (const auto& kv : t)
        for (const std::string& p : prefixes)
            if (starts_with(kv.first, p)) {
                ++n;
                break;
            }
    return n;
}

}  // namespace

bool is_canonical_vit_name(const std::string& s) {
    if (s == "cls_token" || s == "pos_embed") return true;
    for (const char* m : kTopModules)
        if (is_module_param(s, m)) return true;
    if (starts_with(s, "blocks.")) {
        std::string n, rest;
        if (!split_index(s.substr(7), n, rest)) return false;
        for (const char* m : kBlockModules)
            if (is_module_param(rest, m)) return true;
    }
    return false;
}

std::string detect_naming(const std::map<std::string, HostTensor>& tensors) {
    if (tensors.empty()) throw Error("cannot detect the ViT naming convention: the file has no tensors");
    const int timm = score(tensors, {"cls_token", "pos_embed", "patch_embed.", "blocks.", "norm.", "head."});
    const int hf = score(tensors, {"vit.", "embeddings.", "encoder.layer.", "layernorm.", "classifier.", "pooler."});
    const int tv = score(tensors, {"class_token", "conv_proj.", "encoder.pos_embedding", "encoder.layers.",
                                   "encoder.ln.", "heads."});
    if (timm == 0 && hf == 0 && tv == 0) {
        std::vector<std::string> names;
        for (const auto& kv : tensors) names.push_back(kv.first);
        throw Error("cannot detect the ViT naming convention (expected timm, Hugging Face or torchvision "
                    "names); found " +
                    list_names(names));
    }
    if (timm >= hf && timm >= tv) return "timm";
    if (hf >= tv) return "hf";
    return "torchvision";
}

std::map<std::string, HostTensor> to_timm_names(std::map<std::string, HostTensor> tensors, std::string* detected) {
    const std::string conv = detect_naming(tensors);
    if (detected) *detected = conv;
    Mapped (*mapper)(const std::string&) = conv == "timm" ? map_timm : conv == "hf" ? map_hf : map_tv;
    const std::string label = conv == "hf" ? "Hugging Face" : conv;

    std::map<std::string, HostTensor> out;
    std::map<std::string, std::string> source_of;  // canonical name -> source name (collisions)
    std::map<std::string, std::array<std::optional<std::string>, 3>> qkv_sources;
    std::vector<std::string> unknown_names;

    auto put = [&](const std::string& target, const std::string& src, HostTensor t) {
        auto [it, inserted] = source_of.emplace(target, src);
        if (!inserted)
            throw Error("ViT names (" + label + "): tensors '" + it->second + "' and '" + src +
                        "' both map to '" + target + "'");
        out.emplace(target, std::move(t));
    };

    for (const auto& kv : tensors) {
        const Mapped m = mapper(kv.first);
        switch (m.kind) {
        case Mapped::Rename:
        case Mapped::Drop: break;
        case Mapped::QKV: {
            auto& slot = qkv_sources[m.target][m.part];
            if (slot) throw Error("ViT names (" + label + "): '" + *slot + "' and '" + kv.first + "' collide");
            slot = kv.first;
            break;
        }
        case Mapped::Unknown: unknown_names.push_back(kv.first); break;
        }
    }
    if (!unknown_names.empty())
        throw Error("ViT names (" + label + "): " + std::to_string(unknown_names.size()) +
                    " tensor(s) with no canonical ViT counterpart: " + list_names(unknown_names, 8));

    for (auto& kv : tensors) {
        const Mapped m = mapper(kv.first);
        if (m.kind == Mapped::Rename) put(m.target, kv.first, std::move(kv.second));
    }

    static const char* part_name[3] = {"query", "key", "value"};
    for (const auto& [target, srcs] : qkv_sources) {
        std::vector<std::string> present, missing;
        for (int p = 0; p < 3; ++p) (srcs[p] ? present : missing).push_back(srcs[p] ? *srcs[p] : part_name[p]);
        if (!missing.empty())
            throw Error("ViT names (" + label + "): incomplete q/k/v for '" + target + "': have " +
                        list_names(present) + ", missing " + list_names(missing));
        const HostTensor& q = tensors.at(*srcs[0]);
        HostTensor cat;
        for (int p = 0; p < 3; ++p) {
            const HostTensor& t = tensors.at(*srcs[p]);
            if (t.shape.empty() || t.shape != q.shape || t.data.size() != q.data.size())
                throw Error("ViT names (" + label + "): cannot concatenate '" + *srcs[0] + "', '" + *srcs[1] +
                            "', '" + *srcs[2] + "' into '" + target + "': shapes " + shape_str(q.shape) +
                            ", " + shape_str(tensors.at(*srcs[1]).shape) + ", " +
                            shape_str(tensors.at(*srcs[2]).shape) + " differ or are scalars");
        }
        cat.shape = q.shape;
        cat.shape[0] *= 3;
        cat.data = FloatBuffer::uninitialized(q.data.size() * 3);
        float* dst = cat.data.mutable_data();
        for (int p = 0; p < 3; ++p) {
            const HostTensor& t = tensors.at(*srcs[p]);
            std::copy(t.data.begin(), t.data.end(), dst + p * q.data.size());
        }
        put(target, *srcs[0] + " + key + value", std::move(cat));
    }
    return out;
}

}  // namespace vitedit

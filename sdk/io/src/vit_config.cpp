// vitedit — ViT architecture from shapes + metadata, and the shape check of every tensor.
#include <cmath>
#include <sstream>

#include "vitedit/backend.hpp"
#include "vitedit/vit_config.hpp"

namespace vitedit {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep)) {
        size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
        out.push_back(a == std::string::npos ? "" : item.substr(a, b - a + 1));
    }
    return out;
}

float parse_float(const std::string& s, const std::string& what) {
    try {
        size_t used = 0;
        float v = std::stof(s, &used);
        if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception&) {
        throw Error(what + ": '" + s + "' is not a number");
    }
}

int parse_int(const std::string& s, const std::string& what) {
    try {
        size_t used = 0;
        long v = std::stol(s, &used);
        if (used != s.size() || v <= 0 || v > (1 << 20)) throw std::invalid_argument(s);
        return static_cast<int>(v);
    } catch (const std::exception&) {
        throw Error(what + ": '" + s + "' is not a positive integer");
    }
}

const HostTensor& need(const std::map<std::string, HostTensor>& t, const std::string& name, const std::string& what) {
    auto it = t.find(name);
    if (it == t.end()) throw Error(what + ": missing tensor '" + name + "'");
    return it->second;
}

std::vector<float> per_channel(const std::string& s, int chans, const std::string& what) {
    std::vector<float> v;
    for (const auto& x : split(s, ',')) v.push_back(parse_float(x, what));
    if (v.size() == 1) v.assign(chans, v[0]);
    if (static_cast<int>(v.size()) != chans)
        throw Error(what + ": " + std::to_string(v.size()) + " values for " + std::to_string(chans) + " channels");
    return v;
}

}  // namespace

std::string VitConfig::summary() const {
    std::ostringstream o;
    o << "ViT " << image_h() << "x" << image_w() << "x" << in_chans << ", patch " << patch << ", dim " << dim
      << ", depth " << depth << ", heads " << heads << ", mlp " << mlp_hidden << ", classes " << num_classes;
    return o.str();
}

std::map<std::string, std::vector<int64_t>> expected_shapes(const VitConfig& c) {
    std::map<std::string, std::vector<int64_t>> s;
    const int64_t D = c.dim, H = c.mlp_hidden;
    s["cls_token"] = {1, 1, D};
    s["pos_embed"] = {1, c.tokens(), D};
    s["patch_embed.proj.weight"] = {D, c.in_chans, c.patch, c.patch};
    s["patch_embed.proj.bias"] = {D};
    for (int b = 0; b < c.depth; ++b) {
        const std::string p = "blocks." + std::to_string(b) + ".";
        s[p + "norm1.weight"] = {D};
        s[p + "norm1.bias"] = {D};
        s[p + "attn.qkv.weight"] = {3 * D, D};
        s[p + "attn.qkv.bias"] = {3 * D};
        s[p + "attn.proj.weight"] = {D, D};
        s[p + "attn.proj.bias"] = {D};
        s[p + "norm2.weight"] = {D};
        s[p + "norm2.bias"] = {D};
        s[p + "mlp.fc1.weight"] = {H, D};
        s[p + "mlp.fc1.bias"] = {H};
        s[p + "mlp.fc2.weight"] = {D, H};
        s[p + "mlp.fc2.bias"] = {D};
    }
    s["norm.weight"] = {D};
    s["norm.bias"] = {D};
    s["head.weight"] = {c.num_classes, D};
    s["head.bias"] = {c.num_classes};
    return s;
}

VitConfig derive_config(const std::map<std::string, HostTensor>& t, const std::map<std::string, std::string>& meta,
                        const ConfigOverrides& ov, const std::string& what) {
    VitConfig c;
    const auto& pe = need(t, "patch_embed.proj.weight", what).shape;
    if (pe.size() != 4 || pe[2] != pe[3] || pe[2] <= 0)
        throw Error(what + ": patch_embed.proj.weight must be [D, C, p, p], got " + shape_str(pe));
    c.dim = static_cast<int>(pe[0]);
    c.in_chans = static_cast<int>(pe[1]);
    c.patch = static_cast<int>(pe[2]);
    if (c.in_chans != 1 && c.in_chans != 3)
        throw Error(what + ": only 1- and 3-channel inputs are supported, the patch embedding has " +
                    std::to_string(c.in_chans));
    const auto& pos = need(t, "pos_embed", what).shape;
    if (pos.empty() || pos.back() != c.dim) throw Error(what + ": pos_embed " + shape_str(pos) + " does not end in D=" + std::to_string(c.dim));
    const int64_t T = pos.size() >= 2 ? pos[pos.size() - 2] : 0;
    if (T < 2) throw Error(what + ": pos_embed " + shape_str(pos) + " has no patch positions");
    auto grid = meta.find("vitedit.grid");
    if (grid != meta.end()) {
        auto hw = split(grid->second, 'x');
        if (hw.size() != 2) throw Error(what + ": vitedit.grid '" + grid->second + "' is not HxW");
        c.grid_h = parse_int(hw[0], what + ": vitedit.grid");
        c.grid_w = parse_int(hw[1], what + ": vitedit.grid");
    } else {
        int g = static_cast<int>(std::lround(std::sqrt(static_cast<double>(T - 1))));
        if (static_cast<int64_t>(g) * g != T - 1)
            throw Error(what + ": " + std::to_string(T - 1) + " patch positions are not a square grid; set metadata vitedit.grid=HxW");
        c.grid_h = c.grid_w = g;
    }
    if (static_cast<int64_t>(c.grid_h) * c.grid_w + 1 != T)
        throw Error(what + ": vitedit.grid " + std::to_string(c.grid_h) + "x" + std::to_string(c.grid_w) +
                    " does not match pos_embed " + shape_str(pos));
    c.depth = 0;
    while (t.count("blocks." + std::to_string(c.depth) + ".mlp.fc1.weight")) ++c.depth;
    if (c.depth == 0) throw Error(what + ": no transformer blocks (missing 'blocks.0.mlp.fc1.weight')");
    const auto& fc1 = need(t, "blocks.0.mlp.fc1.weight", what).shape;
    if (fc1.size() != 2) throw Error(what + ": blocks.0.mlp.fc1.weight must be 2-D, got " + shape_str(fc1));
    c.mlp_hidden = static_cast<int>(fc1[0]);
    const auto& head = need(t, "head.weight", what).shape;
    if (head.size() != 2) throw Error(what + ": head.weight must be 2-D, got " + shape_str(head));
    c.num_classes = static_cast<int>(head[0]);

    auto get = [&](const char* key) -> const std::string* {
        auto it = meta.find(key);
        return it == meta.end() ? nullptr : &it->second;
    };
    c.heads = std::max(1, c.dim / 64);
    if (auto v = get("vitedit.num_heads")) c.heads = parse_int(*v, what + ": vitedit.num_heads");
    if (ov.heads > 0) c.heads = ov.heads;
    if (c.dim % c.heads != 0)
        throw Error(what + ": width " + std::to_string(c.dim) + " is not divisible by " + std::to_string(c.heads) + " heads");
    if (auto v = get("vitedit.ln_eps")) c.ln_eps = parse_float(*v, what + ": vitedit.ln_eps");
    if (ov.ln_eps > 0) c.ln_eps = ov.ln_eps;
    c.mean.assign(c.in_chans, 0.5f);
    c.std.assign(c.in_chans, 0.5f);
    if (auto v = get("vitedit.mean")) c.mean = per_channel(*v, c.in_chans, what + ": vitedit.mean");
    if (auto v = get("vitedit.std")) c.std = per_channel(*v, c.in_chans, what + ": vitedit.std");
    if (!ov.mean.empty()) c.mean = ov.mean.size() == 1 ? std::vector<float>(c.in_chans, ov.mean[0]) : ov.mean;
    if (!ov.std.empty()) c.std = ov.std.size() == 1 ? std::vector<float>(c.in_chans, ov.std[0]) : ov.std;
    if (static_cast<int>(c.mean.size()) != c.in_chans || static_cast<int>(c.std.size()) != c.in_chans)
        throw Error(what + ": mean/std need 1 or " + std::to_string(c.in_chans) + " values");
    for (float s : c.std)
        if (!(s > 0)) throw Error(what + ": std values must be positive");
    if (auto v = get("vitedit.classes")) c.classes = split(*v, ',');
    if (!ov.classes.empty()) c.classes = ov.classes;
    if (!c.classes.empty() && static_cast<int>(c.classes.size()) != c.num_classes)
        throw Error(what + ": " + std::to_string(c.classes.size()) + " class names for " +
                    std::to_string(c.num_classes) + " classes");

    // Every tensor must be present with exactly the expected shape; nothing unknown may remain.
    for (const auto& [name, shape] : expected_shapes(c)) {
        const auto& have = need(t, name, what).shape;
        if (have != shape)
            throw Error(what + ": tensor '" + name + "' has shape " + shape_str(have) + ", expected " + shape_str(shape));
    }
    auto exp = expected_shapes(c);
    for (const auto& [name, _] : t)
        if (!exp.count(name)) throw Error(what + ": unexpected tensor '" + name + "' (not part of a " + c.summary() + ")");
    return c;
}

std::map<std::string, std::string> config_metadata(const VitConfig& c) {
    auto join = [](const auto& v) {
        std::ostringstream o;
        for (size_t i = 0; i < v.size(); ++i) o << (i ? "," : "") << v[i];
        return o.str();
    };
    std::map<std::string, std::string> m;
    m["vitedit.num_heads"] = std::to_string(c.heads);
    std::ostringstream eps;
    eps << c.ln_eps;
    m["vitedit.ln_eps"] = eps.str();
    m["vitedit.mean"] = join(c.mean);
    m["vitedit.std"] = join(c.std);
    if (!c.classes.empty()) m["vitedit.classes"] = join(c.classes);
    if (c.grid_h != c.grid_w) m["vitedit.grid"] = std::to_string(c.grid_h) + "x" + std::to_string(c.grid_w);
    return m;
}

}  // namespace vitedit

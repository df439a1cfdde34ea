// vitedit — the hypernetwork locator's network: S query tokens + the feature token through B
// pre-LN blocks, one linear head per site, trained with BCE and RMSprop.
#include "vitedit/hypernet.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

namespace vitedit {

namespace {

using json = nlohmann::json;

constexpr float kClampLo = 1e-7f, kClampHi = 1.0f - 1e-7f;
constexpr float kSharpness = 3.0f;  // score = sigmoid(3 z)

std::string bp(int k) { return "blocks." + std::to_string(k) + "."; }
std::string hp(size_t s) { return "heads." + std::to_string(s) + "."; }

std::map<std::string, Shape> expected(const HypernetConfig& c) {
    const int64_t D = c.dim, M = c.mlp, S = static_cast<int64_t>(c.sites.size());
    std::map<std::string, Shape> m;
    m["queries"] = {S, D};
    for (int k = 0; k < c.depth; ++k) {
        const std::string p = bp(k);
        m[p + "norm1.weight"] = {D};
        m[p + "norm1.bias"] = {D};
        m[p + "attn.qkv.weight"] = {3 * D, D};
        m[p + "attn.qkv.bias"] = {3 * D};
        m[p + "attn.proj.weight"] = {D, D};
        m[p + "attn.proj.bias"] = {D};
        m[p + "norm2.weight"] = {D};
        m[p + "norm2.bias"] = {D};
        m[p + "mlp.fc1.weight"] = {M, D};
        m[p + "mlp.fc1.bias"] = {M};
        m[p + "mlp.fc2.weight"] = {D, M};
        m[p + "mlp.fc2.bias"] = {D};
    }
    for (size_t s = 0; s < c.sites.size(); ++s) {
        m[hp(s) + "weight"] = {c.sites[s].units, D};
        m[hp(s) + "bias"] = {c.sites[s].units};
    }
    return m;
}

double uniform01(std::mt19937_64& r) { return static_cast<double>(r() >> 11) * (1.0 / 9007199254740992.0); }
float trunc_normal(std::mt19937_64& r, double std) {
    for (;;) {
        const double u1 = 1.0 - uniform01(r), u2 = uniform01(r);
        const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
        if (std::fabs(z) <= 2.0) return static_cast<float>(z * std);
    }
}

json config_json(const HypernetConfig& c) {
    json sites = json::array();
    for (const auto& s : c.sites) sites.push_back({{"name", s.name}, {"units", s.units}});
    return {{"format", "vitedit.hypernet/1"},
            {"dim", c.dim},
            {"heads", c.heads},
            {"depth", c.depth},
            {"mlp", c.mlp},
            {"ln_eps", c.ln_eps},
            {"score", "clamp(sigmoid(3 z), 1e-7, 1 - 1e-7)"},
            {"tokens", "S query tokens, then the base model's final CLS feature"},
            {"sites", sites}};
}

std::string short_hash(const std::string& h) { return h.size() > 12 ? h.substr(0, 12) + "..." : h; }

}  // namespace

int HypernetConfig::default_heads(int dim) {
    if (dim % 6 == 0) return 6;
    for (int h = 5; h > 1; --h)
        if (dim % h == 0 && dim / h >= 8) return h;
    return 1;
}

HypernetConfig HypernetConfig::resolved() const {
    HypernetConfig c = *this;
    if (c.heads == 0) c.heads = default_heads(c.dim);
    if (c.mlp == 0) c.mlp = c.dim;
    if (c.dim < 1 || c.depth < 1 || c.heads < 1 || c.mlp < 1)
        throw Error("hypernetwork: dim, depth, heads and MLP width must be positive");
    if (c.dim % c.heads)
        throw Error("hypernetwork: width " + std::to_string(c.dim) + " is not divisible by " + std::to_string(c.heads) + " heads");
    if (c.sites.empty()) throw Error("hypernetwork: no sites");
    for (const auto& s : c.sites)
        if (s.units < 1) throw Error("hypernetwork: site '" + s.name + "' has no units");
    return c;
}

Hypernet::Hypernet(std::shared_ptr<Backend> backend, const HypernetConfig& config, uint64_t seed)
    : be_(std::move(backend)), cfg_(config.resolved()) {
    std::seed_seq ss{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), 0x68797065u /* "hype" */};
    std::mt19937_64 rng(ss);
    for (const auto& [name, shape] : expected(cfg_)) {
        std::vector<float> v(static_cast<size_t>(shape_numel(shape)), 0.0f);
        const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
        const bool is_norm = name.find(".norm") != std::string::npos;
        if (is_norm && !is_bias) std::fill(v.begin(), v.end(), 1.0f);
        else if (!is_bias)
            for (float& x : v) x = trunc_normal(rng, 0.02);
        params_[name] = be_->from_host(shape, v);
    }
    build();
}

Hypernet::Hypernet(std::shared_ptr<Backend> backend, const HypernetConfig& config,
                   const std::map<std::string, HostTensor>& params)
    : be_(std::move(backend)), cfg_(config.resolved()) {
    for (const auto& [name, shape] : expected(cfg_)) {
        auto it = params.find(name);
        if (it == params.end()) throw Error("hypernetwork: missing tensor '" + name + "'");
        if (it->second.shape != shape)
            throw Error("hypernetwork: tensor '" + name + "' has shape " + shape_str(it->second.shape) + ", expected " +
                        shape_str(shape));
        params_[name] = be_->from_host(shape, it->second.data.data());
    }
    build();
}

void Hypernet::build() {
    shape_.heads = cfg_.heads;
    shape_.ln_eps = cfg_.ln_eps;
    for (const auto& [name, t] : params_) {
        names_.push_back(name);
        grads_[name] = be_->zeros(t.shape());
        sq_[name] = be_->zeros(t.shape());
    }
    for (int k = 0; k < cfg_.depth; ++k) {
        const std::string p = bp(k);
        auto P = [&](const char* n) { return params_.at(p + n); };
        auto G = [&](const char* n) { return grads_.at(p + n); };
        blocks_.push_back(BlockParams{P("norm1.weight"), P("norm1.bias"), P("attn.qkv.weight"), P("attn.qkv.bias"),
                                      P("attn.proj.weight"), P("attn.proj.bias"), P("norm2.weight"), P("norm2.bias"),
                                      P("mlp.fc1.weight"), P("mlp.fc1.bias"), P("mlp.fc2.weight"), P("mlp.fc2.bias")});
        block_grads_.push_back(BlockGrads{G("norm1.weight"), G("norm1.bias"), G("attn.qkv.weight"), G("attn.qkv.bias"),
                                          G("attn.proj.weight"), G("attn.proj.bias"), G("norm2.weight"), G("norm2.bias"),
                                          G("mlp.fc1.weight"), G("mlp.fc1.bias"), G("mlp.fc2.weight"), G("mlp.fc2.bias")});
    }
}

int64_t Hypernet::total_units() const {
    int64_t n = 0;
    for (const auto& s : cfg_.sites) n += s.units;
    return n;
}

int64_t Hypernet::num_parameters() const {
    int64_t n = 0;
    for (const auto& [name, t] : params_) n += t.numel();
    return n;
}

Tensor Hypernet::assemble_tokens(const std::vector<float>& features, int64_t n) const {
    const int64_t S = num_sites(), D = cfg_.dim, T = S + 1;
    if (n < 1 || static_cast<int64_t>(features.size()) != n * D)
        throw Error("hypernetwork: " + std::to_string(features.size()) + " feature values for " + std::to_string(n) +
                    " rows of width " + std::to_string(D));
    const std::vector<float> q = params_.at("queries").download();
    std::vector<float> x(static_cast<size_t>(n * T * D));
    for (int64_t i = 0; i < n; ++i) {
        std::copy(q.begin(), q.end(), x.begin() + i * T * D);
        std::copy(features.begin() + i * D, features.begin() + (i + 1) * D, x.begin() + (i * T + S) * D);
    }
    return be_->from_host({n, T, D}, x);
}

std::vector<std::vector<float>> Hypernet::forward(const std::vector<float>& features, int64_t n) const {
    Backend& be = *be_;
    const int64_t S = num_sites(), D = cfg_.dim, T = S + 1;
    Tensor x = assemble_tokens(features, n);
    for (int k = 0; k < cfg_.depth; ++k) {
        Tensor y = be.empty({n, T, D});
        block_forward(be, blocks_[k], shape_, x, y, nullptr);
        x = y;
    }
    std::vector<std::vector<float>> out(S);
    for (int64_t s = 0; s < S; ++s) {
        const Tensor xs = x.view({n, D}, {T * D, 1}, s * D);
        Tensor z = be.empty({n, cfg_.sites[s].units});
        const Tensor& b = params_.at(hp(s) + "bias");
        linear_forward(be, xs, params_.at(hp(s) + "weight"), &b, z);
        out[s] = z.download();
        for (float& v : out[s]) v = std::clamp(1.0f / (1.0f + std::exp(-kSharpness * v)), kClampLo, kClampHi);
    }
    return out;
}

double Hypernet::bce(const std::vector<std::vector<float>>& scores, const std::vector<std::vector<float>>& labels) const {
    if (scores.size() != labels.size()) throw Error("hypernetwork: scores and labels have different site counts");
    double sum = 0;
    size_t count = 0;
    for (size_t s = 0; s < scores.size(); ++s) {
        if (scores[s].size() != labels[s].size()) throw Error("hypernetwork: label size mismatch at site " + std::to_string(s));
        for (size_t i = 0; i < scores[s].size(); ++i) {
            const double p = scores[s][i], y = labels[s][i];
            sum -= y * std::log(p) + (1 - y) * std::log(1 - p);
        }
        count += scores[s].size();
    }
    return count ? sum / static_cast<double>(count) : 0.0;
}

double Hypernet::train_step(const std::vector<float>& features, int64_t n, const std::vector<std::vector<float>>& labels,
                            float lr, Collective* across, int64_t total_n) {
    Backend& be = *be_;
    const int64_t S = num_sites(), D = cfg_.dim, T = S + 1;
    if (static_cast<int64_t>(labels.size()) != S) throw Error("hypernetwork: labels for " + std::to_string(labels.size()) + " sites, expected " + std::to_string(S));
    for (int64_t s = 0; s < S; ++s)
        if (static_cast<int64_t>(labels[s].size()) != n * cfg_.sites[s].units)
            throw Error("hypernetwork: site " + std::to_string(s) + " has " + std::to_string(labels[s].size()) +
                        " labels, expected " + std::to_string(n * cfg_.sites[s].units));
    if (across && total_n < n) throw Error("hypernetwork: a data-parallel step needs the whole batch's row count");

    // Forward, keeping what backward needs.
    const Tensor x0 = assemble_tokens(features, n);
    std::vector<BlockActivations> acts(cfg_.depth);
    Tensor x = x0;
    for (int k = 0; k < cfg_.depth; ++k) {
        Tensor y = be.empty({n, T, D});
        block_forward(be, blocks_[k], shape_, x, y, &acts[k]);
        x = y;
    }
    const double count = static_cast<double>((across ? total_n : n) * total_units());
    double loss = 0;
    Tensor dx = be.zeros({n, T, D});
    for (int64_t s = 0; s < S; ++s) {
        const int64_t H = cfg_.sites[s].units;
        const Tensor xs = x.view({n, D}, {T * D, 1}, s * D);
        const Tensor& w = params_.at(hp(s) + "weight");
        const Tensor& b = params_.at(hp(s) + "bias");
        Tensor z = be.empty({n, H});
        linear_forward(be, xs, w, &b, z);
        std::vector<float> dz = z.download();
        for (size_t i = 0; i < dz.size(); ++i) {
            const float raw = 1.0f / (1.0f + std::exp(-kSharpness * dz[i]));
            const float p = std::clamp(raw, kClampLo, kClampHi);
            const double y = labels[s][i];
            loss -= y * std::log(static_cast<double>(p)) + (1 - y) * std::log(1.0 - p);
            // d/dz of the mean BCE through sigmoid(3z); zero where the clamp holds p.
            dz[i] = (raw >= kClampLo && raw <= kClampHi) ? static_cast<float>(kSharpness * (p - y) / count) : 0.0f;
        }
        const Tensor g = be.from_host({n, H}, dz);
        be.gemm(true, false, 1.0f, g, xs, 0.0f, grads_.at(hp(s) + "weight"));
        be.bias_grad(g, grads_.at(hp(s) + "bias"), 0.0f);
        be.gemm(false, false, 1.0f, g, w, 0.0f, dx.view({n, D}, {T * D, 1}, s * D));
    }
    for (int k = cfg_.depth - 1; k >= 0; --k) {
        Tensor d = be.empty({n, T, D});
        block_backward(be, blocks_[k], shape_, acts[k], dx, block_grads_[k], 0.0f, &d);
        dx = d;
    }
    acts.clear();
    // Token assembly: the queries get the gradient of their rows, summed over the batch.
    const std::vector<float> d0 = dx.download();
    std::vector<float> gq(static_cast<size_t>(S * D), 0.0f);
    for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < S * D; ++j) gq[j] += d0[i * T * D + j];
    grads_.at("queries").upload(gq);
    if (across) reduce_gradients(*across, loss);

    for (const auto& name : names_)
        be.rmsprop_step(params_.at(name), grads_.at(name), sq_.at(name), nullptr, 0, lr, 0.99f, 1e-8f);
    return loss / count;
}

void Hypernet::reduce_gradients(Collective& across, double& loss) {
    // One buffer, one collective call per step: every gradient in names_ order, then the loss.
    std::vector<float> flat;
    for (const auto& name : names_) {
        const std::vector<float> g = grads_.at(name).download();
        flat.insert(flat.end(), g.begin(), g.end());
    }
    across.sum(flat.data(), flat.size());
    across.sum(&loss, 1);
    size_t off = 0;
    for (const auto& name : names_) {
        const Tensor& g = grads_.at(name);
        g.upload(flat.data() + off, g.numel());
        off += static_cast<size_t>(g.numel());
    }
}

std::map<std::string, HostTensor> Hypernet::last_grads() const {
    std::map<std::string, HostTensor> out;
    for (const auto& [name, t] : grads_) out[name] = HostTensor{t.shape(), t.download()};
    return out;
}

std::map<std::string, HostTensor> Hypernet::params() const {
    std::map<std::string, HostTensor> out;
    for (const auto& [name, t] : params_) out[name] = HostTensor{t.shape(), t.download()};
    return out;
}

std::map<std::string, HostTensor> Hypernet::optimizer_state() const {
    std::map<std::string, HostTensor> out;
    for (const auto& [name, t] : sq_) out[name] = HostTensor{t.shape(), t.download()};
    return out;
}

void Hypernet::set_optimizer_state(const std::map<std::string, HostTensor>& state) {
    for (const auto& [name, t] : sq_) {
        auto it = state.find(name);
        if (it == state.end() || it->second.shape != t.shape())
            throw Error("hypernetwork: optimizer state for '" + name + "' is missing or mis-shaped");
        t.upload(it->second.data.data(), t.numel());
    }
}

void Hypernet::save(const std::string& path, const HypernetProvenance& provenance, bool with_optimizer,
                    const std::map<std::string, std::string>& extra) const {
    SafeTensorsFile f;
    f.tensors = params();
    if (with_optimizer)
        for (auto& [name, t] : optimizer_state()) f.tensors["rmsprop_sq." + name] = std::move(t);
    f.metadata = extra;
    f.metadata["vitedit.hypernet"] = config_json(cfg_).dump();
    f.metadata["vitedit.hypernet.model_hash"] = provenance.model_hash;
    f.metadata["vitedit.hypernet.edit_blocks"] = json(provenance.edit_blocks).dump();
    f.metadata["vitedit.hypernet.training"] = provenance.training.empty() ? "{}" : provenance.training;
    write_safetensors(path, f);
}

Hypernet::File Hypernet::read(const std::string& path) {
    SafeTensorsFile f = read_safetensors(path);
    auto it = f.metadata.find("vitedit.hypernet");
    if (it == f.metadata.end())
        throw Error(path + ": not a vitedit hypernetwork checkpoint (no vitedit.hypernet metadata)");
    File out;
    try {
        const json j = json::parse(it->second);
        if (j.value("format", std::string()) != "vitedit.hypernet/1")
            throw Error(path + ": unknown hypernetwork format '" + j.value("format", std::string()) + "'");
        out.config.dim = j.at("dim").get<int>();
        out.config.heads = j.at("heads").get<int>();
        out.config.depth = j.at("depth").get<int>();
        out.config.mlp = j.at("mlp").get<int>();
        out.config.ln_eps = j.at("ln_eps").get<float>();
        for (const auto& s : j.at("sites")) out.config.sites.push_back({s.at("name").get<std::string>(), s.at("units").get<int64_t>()});
        out.provenance.model_hash = f.metadata.count("vitedit.hypernet.model_hash") ? f.metadata["vitedit.hypernet.model_hash"] : "";
        if (f.metadata.count("vitedit.hypernet.edit_blocks"))
            out.provenance.edit_blocks = json::parse(f.metadata["vitedit.hypernet.edit_blocks"]).get<std::vector<int>>();
        out.provenance.training = f.metadata.count("vitedit.hypernet.training") ? f.metadata["vitedit.hypernet.training"] : "{}";
    } catch (const json::exception& e) {
        throw Error(path + ": malformed hypernetwork metadata (" + e.what() + ")");
    }
    out.config = out.config.resolved();
    for (auto& [name, t] : f.tensors) {
        if (name.rfind("rmsprop_sq.", 0) == 0) out.optimizer[name.substr(11)] = std::move(t);
        else out.params[name] = std::move(t);
    }
    out.metadata = std::move(f.metadata);
    return out;
}

void Hypernet::check_compatible(const File& file, const std::string& path, const std::string& model_hash,
                                const std::vector<HypernetSite>& sites) {
    if (file.provenance.model_hash != model_hash)
        throw Error(path + " was meta-trained for another model (model hash " + short_hash(file.provenance.model_hash) +
                    ", this model is " + short_hash(model_hash) +
                    "); make one for this model with `vitedit meta-train --model MODEL --out H.safetensors`");
    const auto& have = file.config.sites;
    if (have == sites) return;
    std::ostringstream o;
    o << path << " was meta-trained for other edit sites: it has";
    for (const auto& s : have) o << " " << s.name << "(" << s.units << ")";
    o << "; this edit uses";
    for (const auto& s : sites) o << " " << s.name << "(" << s.units << ")";
    o << " (choose the checkpoint's --edit-blocks, or meta-train for these sites)";
    throw Error(o.str());
}

}  // namespace vitedit

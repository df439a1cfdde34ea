// vitedit — the ViT engine.
#include "vitedit/vit.hpp"

#include <algorithm>

namespace vitedit {

namespace {

std::string block_prefix(int b) { return "blocks." + std::to_string(b) + "."; }

// Block index of a canonical parameter name, -1 for the embedding, depth for norm/head.
int block_of(const std::string& name, int depth) {
    if (name.rfind("blocks.", 0) == 0) return std::stoi(name.substr(7));
    if (name.rfind("norm.", 0) == 0 || name.rfind("head.", 0) == 0) return depth;
    return -1;
}

}  // namespace

Vit::Vit(std::shared_ptr<Backend> backend, const VitConfig& config, const std::map<std::string, HostTensor>& tensors)
    : be_(std::move(backend)), cfg_(config) {
    for (const auto& [name, shape] : expected_shapes(cfg_)) {
        auto it = tensors.find(name);
        if (it == tensors.end()) throw Error("missing tensor '" + name + "'");
        if (it->second.shape != shape)
            throw Error("tensor '" + name + "' has shape " + shape_str(it->second.shape) + ", expected " + shape_str(shape));
        names_.push_back(name);
        params_[name] = be_->from_host(shape, it->second.data.data());
        it->second.data.drop_pages();  // the backend holds the values now: a mapped model's pages can go
    }
    shape_.heads = cfg_.heads;
    shape_.ln_eps = cfg_.ln_eps;
    for (int b = 0; b < cfg_.depth; ++b) {
        const std::string p = block_prefix(b);
        auto P = [&](const char* n) { return params_.at(p + n); };
        blocks_.push_back(BlockParams{P("norm1.weight"), P("norm1.bias"), P("attn.qkv.weight"), P("attn.qkv.bias"),
                                      P("attn.proj.weight"), P("attn.proj.bias"), P("norm2.weight"), P("norm2.bias"),
                                      P("mlp.fc1.weight"), P("mlp.fc1.bias"), P("mlp.fc2.weight"), P("mlp.fc2.bias")});
    }
}

const Tensor& Vit::param(const std::string& name) const {
    auto it = params_.find(name);
    if (it == params_.end()) throw Error("the model has no parameter '" + name + "'");
    return it->second;
}

std::map<std::string, HostTensor> Vit::download_params() const { return download_params(names_); }

std::map<std::string, HostTensor> Vit::download_params(const std::vector<std::string>& names) const {
    std::map<std::string, HostTensor> out;
    for (const std::string& name : names) {
        const Tensor& t = param(name);
        HostTensor h{t.shape(), FloatBuffer::uninitialized(static_cast<size_t>(t.numel()))};
        t.download(h.data.mutable_data());
        out.emplace(name, std::move(h));
    }
    return out;
}

Tensor Vit::upload_images(const std::vector<float>& chw, int64_t n) const {
    return be_->from_host({n, cfg_.in_chans, cfg_.image_h(), cfg_.image_w()}, chw);
}

Tensor Vit::forward_prefix(const Tensor& images, int from) const {
    return embed_and_run(images, from, nullptr);
}

Tensor Vit::embed_and_run(const Tensor& images, int upto, Activations* acts) const {
    Backend& be = *be_;
    const int64_t N = images.dim(0), D = cfg_.dim, T = cfg_.tokens(), P = T - 1;
    const int64_t cpp = static_cast<int64_t>(cfg_.in_chans) * cfg_.patch * cfg_.patch;
    if (images.ndim() != 4 || images.dim(1) != cfg_.in_chans || images.dim(2) != cfg_.image_h() ||
        images.dim(3) != cfg_.image_w())
        throw Error("images " + shape_str(images.shape()) + " do not match the model input [N," +
                    std::to_string(cfg_.in_chans) + "," + std::to_string(cfg_.image_h()) + "," +
                    std::to_string(cfg_.image_w()) + "]");
    if (upto < 0 || upto > cfg_.depth) throw Error("block index " + std::to_string(upto) + " out of range");

    // Patch embedding as im2col + GEMM, then [CLS; patches] + positions.
    Tensor cols = be.empty({N, P, cpp});
    be.im2col(images, cfg_.patch, cols);
    Tensor patches = be.empty({N, P, D});
    linear_forward(be, cols.reshape({N * P, cpp}), param("patch_embed.proj.weight").reshape({D, cpp}),
                   &param("patch_embed.proj.bias"), patches.reshape({N * P, D}));
    Tensor x = be.empty({N, T, D});
    be.tokens_fwd(patches, param("cls_token").reshape({D}), param("pos_embed").reshape({T, D}), x);
    if (acts) {
        acts->cols = cols.reshape({N * P, cpp});
        acts->blocks.assign(cfg_.depth, BlockActivations{});
    }
    for (int b = 0; b < upto; ++b) {
        Tensor y = be.empty({N, T, D});
        block_forward(be, blocks_[b], shape_, x, y, acts ? &acts->blocks[b] : nullptr);
        x = y;
    }
    return x;
}

Vit::Output Vit::forward(const Tensor& images, Activations* acts) const {
    Tensor x = embed_and_run(images, 0, acts);
    return forward_suffix(x, 0, acts);
}

Vit::Output Vit::forward_suffix(const Tensor& tokens, int from, Activations* acts) const {
    Backend& be = *be_;
    const int64_t N = tokens.dim(0), D = cfg_.dim, T = cfg_.tokens();
    if (tokens.ndim() != 3 || tokens.dim(1) != T || tokens.dim(2) != D)
        throw Error("tokens " + shape_str(tokens.shape()) + " do not match [N," + std::to_string(T) + "," +
                    std::to_string(D) + "]");
    if (from < 0 || from > cfg_.depth) throw Error("block index " + std::to_string(from) + " out of range");
    if (acts && acts->blocks.size() != static_cast<size_t>(cfg_.depth)) acts->blocks.assign(cfg_.depth, BlockActivations{});
    if (acts) acts->first_block = from;
    // Only the CLS row feeds the head: the last block can run for that row alone.
    const bool cls_last = from < cfg_.depth && (!acts || acts->cls_last);
    const int full_end = cls_last ? cfg_.depth - 1 : cfg_.depth;
    if (acts) acts->cls_last = cls_last;
    Tensor x = tokens;
    for (int b = from; b < full_end; ++b) {
        Tensor y = be.empty({N, T, D});
        block_forward(be, blocks_[b], shape_, x, y, acts ? &acts->blocks[b] : nullptr);
        x = y;
    }
    Tensor cls = be.empty({N, D});
    if (cls_last) {
        block_forward_cls(be, blocks_[cfg_.depth - 1], shape_, x, cls, acts ? &acts->last : nullptr);
    } else {
        be.copy(x.view({N, D}, {T * D, 1}, 0), cls);
    }
    Output out;
    out.features = be.empty({N, D});
    Tensor mean, rstd;
    if (acts) mean = be.empty({N}), rstd = be.empty({N});
    be.layernorm_fwd(cls, param("norm.weight"), param("norm.bias"), cfg_.ln_eps, out.features,
                     acts ? &mean : nullptr, acts ? &rstd : nullptr);
    out.logits = be.empty({N, cfg_.num_classes});
    linear_forward(be, out.features, param("head.weight"), &param("head.bias"), out.logits);
    if (acts) {
        acts->cls = cls;
        acts->norm_mean = mean;
        acts->norm_rstd = rstd;
        acts->features = out.features;
    }
    return out;
}

Vit::MlpInput Vit::forward_attention(const Tensor& tokens, int b) const {
    if (b < 0 || b >= cfg_.depth) throw Error("block index " + std::to_string(b) + " out of range");
    BlockActivations a;
    Tensor out = be_->empty(tokens.shape());
    block_forward(*be_, blocks_[b], shape_, tokens, out, &a);  // its MLP half is wasted once, not per step
    return MlpInput{a.x_mid, a.ln2};
}

Vit::Output Vit::forward_from_mlp(const MlpInput& in, int b, Activations* acts, const MlpUnits* units) const {
    if (b < 0 || b >= cfg_.depth) throw Error("block index " + std::to_string(b) + " out of range");
    if (acts) acts->blocks.assign(cfg_.depth, BlockActivations{});
    Tensor y = be_->empty(in.x_mid.shape());
    BlockActivations* a = acts ? &acts->blocks[b] : nullptr;
    if (units) block_forward_mlp_units(*be_, blocks_[b], *units, in.x_mid, in.ln2, y, a);
    else block_forward_mlp(*be_, blocks_[b], in.x_mid, in.ln2, y, a);
    Output out = forward_suffix(y, b + 1, acts);
    if (acts) {
        acts->first_block = b;
        acts->mlp_first = true;
    }
    return out;
}

MlpUnits Vit::prepare_mlp_units(const MlpInput& in, int b, const std::vector<int32_t>& fc1_rows,
                                const std::vector<int32_t>& fc2_cols) const {
    if (b < 0 || b >= cfg_.depth) throw Error("block index " + std::to_string(b) + " out of range");
    return mlp_units_prepare(*be_, blocks_[b], in.x_mid, in.ln2, fc1_rows, fc2_cols);
}

std::map<std::string, Tensor> Vit::make_grads(const std::vector<std::string>& names) const {
    std::map<std::string, Tensor> g;
    for (const auto& n : names) g[n] = be_->zeros(param(n).shape());
    return g;
}

int Vit::lowest_block(const std::vector<std::string>& names) const {
    int lowest = cfg_.depth;
    for (const auto& n : names) {
        param(n);  // validates the name
        lowest = std::min(lowest, block_of(n, cfg_.depth));
    }
    return lowest;
}

void Vit::backward(const Activations& acts, const Tensor& dlogits, const std::map<std::string, Tensor>& grads,
                   float beta, const std::map<std::string, std::vector<int32_t>>* units,
                   const std::map<std::string, Tensor>* unit_grads) const {
    Backend& be = *be_;
    if (acts.blocks.size() != static_cast<size_t>(cfg_.depth) || !acts.features.defined())
        throw Error("backward needs the activations of a forward pass run with them");
    const int64_t N = dlogits.dim(0), D = cfg_.dim, T = cfg_.tokens(), P = T - 1;
    std::vector<std::string> names;
    for (const auto& [n, t] : grads) {
        if (t.shape() != param(n).shape())
            throw Error("gradient buffer for '" + n + "' has shape " + shape_str(t.shape()) + ", expected " +
                        shape_str(param(n).shape()));
        names.push_back(n);
    }
    if (names.empty()) return;
    const int stop = lowest_block(names);
    if (std::max(stop, 0) < acts.first_block)
        throw Error("backward to block " + std::to_string(stop) + " needs activations from block " +
                    std::to_string(std::max(stop, 0)) + ", but the forward pass kept them only from block " +
                    std::to_string(acts.first_block));
    if (acts.mlp_first && std::max(stop, 0) == acts.first_block)
        for (const auto& n : names)
            if (block_of(n, cfg_.depth) == stop && n.find(".mlp.") == std::string::npos)
                throw Error("backward: '" + n + "' lies below the MLP of block " + std::to_string(stop) +
                            ", where the forward pass started (forward_from_mlp)");
    auto G = [&](const std::string& n) -> Tensor {
        auto it = grads.find(n);
        return it == grads.end() ? Tensor() : it->second;
    };

    // Head and final LayerNorm (CLS row only).
    Tensor gw = G("head.weight"), gb = G("head.bias");
    if (gw.defined()) be.gemm(true, false, 1.0f, dlogits, acts.features, beta, gw);
    if (gb.defined()) be.bias_grad(dlogits, gb, beta);
    if (stop == cfg_.depth && !G("norm.weight").defined() && !G("norm.bias").defined()) return;
    Tensor dfeat = be.empty({N, D});
    be.gemm(false, false, 1.0f, dlogits, param("head.weight"), 0.0f, dfeat);
    Tensor dcls = be.empty({N, D});
    Tensor gnw = G("norm.weight"), gnb = G("norm.bias");
    be.layernorm_bwd(dfeat, acts.cls, param("norm.weight"), acts.norm_mean, acts.norm_rstd,
                     stop < cfg_.depth ? &dcls : nullptr, 0.0f, gnw.defined() ? &gnw : nullptr,
                     gnb.defined() ? &gnb : nullptr, beta);
    if (stop == cfg_.depth) return;

    Tensor dx;
    int top = cfg_.depth - 1;
    if (acts.cls_last) {
        // The last block ran for the CLS row only: it passes the gradient down, nothing more.
        for (const auto& n : names)
            if (block_of(n, cfg_.depth) == top)
                throw Error("backward: '" + n + "' needs a forward pass without cls_last (the last block ran for the CLS row only)");
        dx = be.empty({N, T, D});
        block_backward_cls(be, blocks_[top], shape_, acts.last, dcls, dx);
        --top;
    } else {
        dx = be.zeros({N, T, D});
        be.copy(dcls, dx.view({N, D}, {T * D, 1}, 0));
    }
    for (int b = top; b >= std::max(stop, 0); --b) {
        const std::string p = block_prefix(b);
        BlockGrads bg{G(p + "norm1.weight"), G(p + "norm1.bias"), G(p + "attn.qkv.weight"), G(p + "attn.qkv.bias"),
                      G(p + "attn.proj.weight"), G(p + "attn.proj.bias"), G(p + "norm2.weight"),
                      G(p + "norm2.bias"), G(p + "mlp.fc1.weight"), G(p + "mlp.fc1.bias"),
                      G(p + "mlp.fc2.weight"), G(p + "mlp.fc2.bias")};
        if (units) {
            auto u1 = units->find(p + "mlp.fc1.weight"), u2 = units->find(p + "mlp.fc2.weight");
            if (u1 != units->end()) bg.fc1_rows = &u1->second;
            if (u2 != units->end()) bg.fc2_cols = &u2->second;
            if (unit_grads) {
                auto c1 = unit_grads->find(p + "mlp.fc1.weight"), c2 = unit_grads->find(p + "mlp.fc2.weight");
                if (c1 != unit_grads->end() && bg.fc1_rows) bg.fc1_w_units = c1->second;
                if (c2 != unit_grads->end() && bg.fc2_cols) bg.fc2_w_units = c2->second;
            }
        }
        const bool need_dx = b > stop;
        Tensor dxin = need_dx ? be.empty({N, T, D}) : Tensor();
        block_backward(be, blocks_[b], shape_, acts.blocks[b], dx, bg, beta, need_dx ? &dxin : nullptr);
        dx = dxin;
    }
    if (stop >= 0) return;
    if (!acts.cols.defined()) throw Error("embedding gradients need a full forward pass (forward(), not forward_suffix())");

    // Embedding: tokens -> (patch tokens, cls, pos) -> patch projection.
    Tensor gcls = G("cls_token"), gpos = G("pos_embed");
    Tensor gcls_v = gcls.defined() ? gcls.reshape({D}) : Tensor(), gpos_v = gpos.defined() ? gpos.reshape({T, D}) : Tensor();
    Tensor gpw = G("patch_embed.proj.weight"), gpb = G("patch_embed.proj.bias");
    const bool need_patches = gpw.defined() || gpb.defined();
    Tensor dpatches = need_patches ? be.empty({N, P, D}) : Tensor();
    be.tokens_bwd(dx, need_patches ? &dpatches : nullptr, gcls.defined() ? &gcls_v : nullptr,
                  gpos.defined() ? &gpos_v : nullptr, beta);
    if (need_patches) {
        const int64_t cpp = acts.cols.dim(1);
        const Tensor dp2 = dpatches.reshape({N * P, D});
        if (gpw.defined()) be.gemm(true, false, 1.0f, dp2, acts.cols, beta, gpw.reshape({D, cpp}));
        if (gpb.defined()) be.bias_grad(dp2, gpb, beta);
    }
}

}  // namespace vitedit

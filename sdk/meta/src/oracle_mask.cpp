// vitedit — oracle masks: inner masked edits and first-order outer mask updates, all samples of
// a batch in one pass through per-sample site weights.
#include "vitedit/oracle_mask.hpp"

#include <chrono>
#include <cmath>

namespace vitedit {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string bp(int b) { return "blocks." + std::to_string(b) + "."; }

}  // namespace

OracleMasker::OracleMasker(const Vit& vit, std::vector<EditSite> sites, OracleOptions options)
    : vit_(vit), sites_(std::move(sites)), opt_(options) {
    const VitConfig& cfg = vit_.config();
    if (sites_.empty()) throw Error("oracle masks need at least one edit site");
    if (opt_.inner_steps < 0 || opt_.outer_steps < 0) throw Error("oracle masks: inner and outer steps must be non-negative");
    if (!(opt_.temperature > 0)) throw Error("oracle masks: the temperature must be positive");
    if (!(opt_.locality >= 0)) throw Error("oracle masks: the locality weight must be non-negative");
    lowest_ = cfg.depth;
    for (const auto& s : sites_) {
        const bool fc1 = s.name == bp(s.block) + "mlp.fc1.weight", fc2 = s.name == bp(s.block) + "mlp.fc2.weight";
        if (!fc1 && !fc2) throw Error("oracle masks support FFN sites (blocks.N.mlp.fc1/fc2.weight), not '" + s.name + "'");
        if ((fc1 && s.unit != VE_UNIT_ROW) || (fc2 && s.unit != VE_UNIT_COL))
            throw Error("site '" + s.name + "': fc1 units are rows and fc2 units are columns");
        lowest_ = std::min(lowest_, s.block);
        units_ += s.units;
        // The base weight in unit-major layout [units, other]: a neuron is one contiguous row.
        const Tensor& w = vit_.param(s.name);
        std::vector<float> h = w.download();
        if (fc2) {
            const int64_t R = w.dim(0), C = w.dim(1);
            std::vector<float> t(h.size());
            for (int64_t r = 0; r < R; ++r)
                for (int64_t c = 0; c < C; ++c) t[c * R + r] = h[r * C + c];
            h.swap(t);
            base_um_.push_back(vit_.backend().from_host({C, R}, h));
        } else {
            base_um_.push_back(vit_.backend().from_host(w.shape(), h));
        }
    }
    int highest = 0;
    for (const auto& s : sites_) highest = std::max(highest, s.block);
    cls_top_ = highest < cfg.depth - 1;
    shape_.heads = cfg.heads;
    shape_.ln_eps = cfg.ln_eps;
    for (int b = lowest_; b < cfg.depth; ++b) {
        const std::string p = bp(b);
        auto P = [&](const char* n) { return vit_.param(p + n); };
        blocks_.push_back(BlockParams{P("norm1.weight"), P("norm1.bias"), P("attn.qkv.weight"), P("attn.qkv.bias"),
                                      P("attn.proj.weight"), P("attn.proj.bias"), P("norm2.weight"), P("norm2.bias"),
                                      P("mlp.fc1.weight"), P("mlp.fc1.bias"), P("mlp.fc2.weight"), P("mlp.fc2.bias")});
    }
}

std::vector<float> OracleMasker::sigmoid(const std::vector<float>& u, float k) {
    std::vector<float> m(u.size());
    for (size_t i = 0; i < u.size(); ++i) m[i] = 1.0f / (1.0f + std::exp(-k * u[i]));
    return m;
}

void OracleMasker::ensure(int64_t batch) {
    if (batch == batch_) return;
    Backend& be = vit_.backend();
    rep_.clear(), weff_.clear(), delta_.clear(), grad_.clear(), mask_.clear();
    for (size_t s = 0; s < sites_.size(); ++s) {
        const int64_t H = base_um_[s].dim(0), D = base_um_[s].dim(1);
        Tensor rep = be.empty({batch, H, D});
        for (int64_t i = 0; i < batch; ++i) be.copy(base_um_[s], rep.slice(i, i + 1).reshape({H, D}));
        rep_.push_back(rep);
        weff_.push_back(be.empty({batch, H, D}));
        delta_.push_back(be.zeros({batch, H, D}));
        grad_.push_back(be.zeros({batch, H, D}));
        mask_.push_back(be.zeros({batch * H}));
    }
    batch_ = batch;
}

void OracleMasker::reset_effective() {
    Backend& be = vit_.backend();
    for (size_t s = 0; s < sites_.size(); ++s) {
        be.copy(rep_[s], weff_[s]);
        be.fill(delta_[s], 0.0f);
    }
}

void OracleMasker::inner_update(const std::vector<Tensor>& g) {
    Backend& be = vit_.backend();
    for (size_t s = 0; s < sites_.size(); ++s) {
        const int64_t H = rep_[s].dim(1), D = rep_[s].dim(2);
        // delta -= eta g, and Weff = W + delta (.) m kept in step: Weff -= eta (g (.) m) (rows of
        // the unit-major layout carry one unit's mask).
        be.axpby(-opt_.edit_lr, g[s], 1.0f, delta_[s]);
        be.sgd_step(weff_[s].reshape({batch_ * H, D}), g[s].reshape({batch_ * H, D}), &mask_[s], VE_MASK_ROWS,
                    opt_.edit_lr, 0.0f);
    }
}

std::vector<float> OracleMasker::pass(const Tensor& tokens, const Tensor& targets, float temperature,
                                      const std::vector<Tensor>& weff, const std::vector<Tensor>& grad, float grad_scale) {
    Backend& be = vit_.backend();
    const VitConfig& cfg = vit_.config();
    const int64_t B = tokens.dim(0), T = cfg.tokens(), D = cfg.dim, K = cfg.num_classes;
    // Parameters and gradient destinations, per-sample at the sites.
    std::vector<BlockParams> params = blocks_;
    std::vector<BlockGrads> grads(blocks_.size());
    for (size_t s = 0; s < sites_.size(); ++s) {
        const size_t k = static_cast<size_t>(sites_[s].block - lowest_);
        if (sites_[s].unit == VE_UNIT_ROW) {
            params[k].fc1_w = weff[s];
            grads[k].fc1_w = grad[s];
        } else {
            params[k].fc2_w = weff[s].t();  // [B, D, H] view of the unit-major buffer
            grads[k].fc2_w = grad[s].t();
        }
    }
    // Every block from the lowest site up; the last one for the CLS row only when it holds no site.
    const size_t nfull = cls_top_ ? blocks_.size() - 1 : blocks_.size();
    std::vector<BlockActivations> acts(nfull);
    Tensor x = tokens;
    for (size_t k = 0; k < nfull; ++k) {
        Tensor y = be.empty({B, T, D});
        block_forward(be, params[k], shape_, x, y, &acts[k]);
        x = y;
    }
    ClsBlockActivations top;
    Tensor cls = be.empty({B, D}), feat = be.empty({B, D}), mean = be.empty({B}), rstd = be.empty({B});
    if (cls_top_) block_forward_cls(be, params.back(), shape_, x, cls, &top);
    else be.copy(x.view({B, D}, {T * D, 1}, 0), cls);
    // Final LayerNorm on the CLS rows, then the head.
    be.layernorm_fwd(cls, vit_.param("norm.weight"), vit_.param("norm.bias"), cfg.ln_eps, feat, &mean, &rstd);
    Tensor logits = be.empty({B, K});
    const Tensor& hb = vit_.param("head.bias");
    linear_forward(be, feat, vit_.param("head.weight"), &hb, logits);
    Tensor dlogits = be.empty({B, K});
    std::vector<float> kl = be.kl_div(logits, targets, temperature, &dlogits, grad_scale);

    Tensor dfeat = be.empty({B, D}), dcls = be.empty({B, D});
    be.gemm(false, false, 1.0f, dlogits, vit_.param("head.weight"), 0.0f, dfeat);
    be.layernorm_bwd(dfeat, cls, vit_.param("norm.weight"), mean, rstd, &dcls, 0.0f, nullptr, nullptr, 0.0f);
    Tensor dx;
    if (cls_top_) {
        dx = be.empty({B, T, D});
        block_backward_cls(be, params.back(), shape_, top, dcls, dx);
        top = ClsBlockActivations();
    } else {
        dx = be.zeros({B, T, D});
        be.copy(dcls, dx.view({B, D}, {T * D, 1}, 0));
    }
    for (size_t k = nfull; k-- > 0;) {
        Tensor d = k > 0 ? be.empty({B, T, D}) : Tensor();
        block_backward(be, params[k], shape_, acts[k], dx, grads[k], 0.0f, k > 0 ? &d : nullptr);
        dx = d;
    }
    ++timing_.passes;
    return kl;
}

std::vector<float> OracleMasker::outer_gradient(const Tensor& tokens, const Tensor& targets, const std::vector<float>& u,
                                                std::vector<float>& grad, const OracleAnchor* anchor, const OracleGroup* group) {
    loc_for_ = nullptr;
    return outer_gradient(tokens, targets, u, grad, false, anchor, group);
}

void OracleMasker::shape_rows(SampleRows& rows, int64_t per_sample) {
    if (rows.per_sample == per_sample && rows.weff.size() == sites_.size() && rows.weff[0].dim(0) == batch_ * per_sample) return;
    Backend& be = vit_.backend();
    rows.weff.clear(), rows.grad.clear();
    for (size_t s = 0; s < sites_.size(); ++s) {
        const int64_t H = rep_[s].dim(1), D = rep_[s].dim(2);
        rows.weff.push_back(be.empty({batch_ * per_sample, H, D}));
        rows.grad.push_back(be.empty({batch_ * per_sample, H, D}));
    }
    rows.per_sample = per_sample;
}

std::vector<float> OracleMasker::add_rows_term(SampleRows& rows, float temperature, float weight, std::vector<float>& grad) {
    Backend& be = vit_.backend();
    const int64_t B = batch_, R = rows.per_sample;
    // Sample i's edited weights W + delta_i (.) m_i on rows i*R .. i*R + R - 1.
    for (size_t s = 0; s < sites_.size(); ++s)
        for (int64_t i = 0; i < B; ++i)
            for (int64_t r = 0; r < R; ++r) be.copy(weff_[s].slice(i, i + 1), rows.weff[s].slice(i * R + r, i * R + r + 1));
    const std::vector<float> kl = pass(rows.tokens, rows.targets, temperature, rows.weff, rows.grad, weight / static_cast<float>(R));
    std::vector<float> mean(static_cast<size_t>(B), 0.0f);
    for (int64_t i = 0; i < B; ++i)
        for (int64_t r = 0; r < R; ++r) mean[i] += kl[i * R + r] / static_cast<float>(R);
    chain_to_masks(rows.grad, R, grad);
    return mean;
}

void OracleMasker::chain_to_masks(const std::vector<Tensor>& g_eff, int64_t per_sample, std::vector<float>& grad) const {
    // d/dm_i = sum over the unit's row of (sum_r dKL_ir/dWeff) (.) delta_i.
    const int64_t B = batch_, R = per_sample;
    int64_t off = 0;
    for (size_t s = 0; s < sites_.size(); ++s) {
        const int64_t H = sites_[s].units, D = rep_[s].dim(2);
        const std::vector<float> g = g_eff[s].download(), d = delta_[s].download();
        for (int64_t i = 0; i < B; ++i)
            for (int64_t h = 0; h < H; ++h) {
                const float* dr = &d[(i * H + h) * D];
                double acc = 0;
                for (int64_t r = 0; r < R; ++r) {
                    const float* gr = &g[((i * R + r) * H + h) * D];
                    for (int64_t c = 0; c < D; ++c) acc += static_cast<double>(gr[c]) * dr[c];
                }
                grad[i * units_ + off + h] += static_cast<float>(acc);
            }
        off += H;
    }
}

void OracleMasker::add_locality(const OracleAnchor& anchor, std::vector<float>& grad) {
    Backend& be = vit_.backend();
    const int64_t B = batch_, R = anchor.tokens.dim(0), K = vit_.config().num_classes;
    if (anchor.targets.dim(0) != R || anchor.targets.dim(1) != K) throw Error("oracle masks: the anchor's targets must be [R, classes]");
    if (loc_for_ != &anchor || loc_.tokens.dim(0) != B * R) {
        // The anchor's rows repeated for every sample (once per optimize: they do not change).
        const Shape ts = anchor.tokens.shape();
        loc_.tokens = be.empty({B * R, ts[1], ts[2]});
        loc_.targets = be.empty({B * R, K});
        for (int64_t i = 0; i < B; ++i) {
            be.copy(anchor.tokens, loc_.tokens.slice(i * R, (i + 1) * R));
            be.copy(anchor.targets, loc_.targets.slice(i * R, (i + 1) * R));
        }
        shape_rows(loc_, R);
        loc_for_ = &anchor;
    }
    locality_kl_ = add_rows_term(loc_, 1.0f, opt_.locality, grad);
}

std::vector<float> OracleMasker::outer_gradient(const Tensor& tokens, const Tensor& targets, const std::vector<float>& u,
                                                std::vector<float>& grad, bool reuse_first, const OracleAnchor* anchor,
                                                const OracleGroup* group) {
    Backend& be = vit_.backend();
    const int64_t B = tokens.dim(0);
    if (static_cast<int64_t>(u.size()) != B * units_)
        throw Error("oracle masks: " + std::to_string(u.size()) + " mask logits for " + std::to_string(B) + " samples of " +
                    std::to_string(units_) + " units");
    if (targets.dim(0) != B || targets.dim(1) != vit_.config().num_classes) throw Error("oracle masks: targets must be [B, classes]");
    if (group && (group->tokens.dim(0) != group->targets.dim(0) || group->tokens.dim(0) % B != 0 || group->tokens.dim(0) < B ||
                  group->targets.dim(1) != vit_.config().num_classes))
        throw Error("oracle masks: a pseudo-group needs the same number (>= 1) of hosts for every sample, with [hosts, classes] targets");
    ensure(B);
    auto t0 = Clock::now();
    // Upload m = sigmoid(10 u) per site, [B * H] sample-major.
    const std::vector<float> m = sigmoid(u, 10.0f);
    {
        int64_t off = 0;
        for (size_t s = 0; s < sites_.size(); ++s) {
            const int64_t H = sites_[s].units;
            std::vector<float> ms(static_cast<size_t>(B * H));
            for (int64_t i = 0; i < B; ++i)
                std::copy(m.begin() + i * units_ + off, m.begin() + i * units_ + off + H, ms.begin() + i * H);
            mask_[s].upload(ms);
            off += H;
        }
    }
    // Inner edit: delta -= eta * dKL/dWeff at Weff = W + delta (.) m, from delta = 0.
    // The first inner pass runs at delta = 0, i.e. at the base weights whatever the mask: within
    // one optimize() its gradient is computed once and reused by every outer step.
    reset_effective();
    for (int j = 0; j < opt_.inner_steps; ++j) {
        if (j == 0 && reuse_first && !g0_.empty()) {
            inner_update(g0_);
            continue;
        }
        pass(tokens, targets, opt_.temperature, weff_, grad_, 1.0f);
        if (j == 0 && reuse_first) {
            for (const Tensor& g : grad_) {
                g0_.push_back(be.empty(g.shape()));
                be.copy(g, g0_.back());
            }
        }
        inner_update(grad_);
    }
    be.synchronize();
    timing_.inner_s += since(t0);
    t0 = Clock::now();
    // The outer pass at the edited weights, then the first-order chain to u: on the sample's own
    // image, or on its pseudo-group's other hosts.
    grad.assign(u.size(), 0.0f);
    std::vector<float> kl;
    if (group) {
        group_.tokens = group->tokens;
        group_.targets = group->targets;
        shape_rows(group_, group->tokens.dim(0) / B);
        kl = add_rows_term(group_, opt_.temperature, 1.0f, grad);
    } else {
        kl = pass(tokens, targets, opt_.temperature, weff_, grad_, 1.0f);
        chain_to_masks(grad_, 1, grad);
    }
    if (opt_.locality > 0 && anchor) add_locality(*anchor, grad);
    const double lam = static_cast<double>(opt_.lambda) / static_cast<double>(units_);
    for (size_t k = 0; k < u.size(); ++k) grad[k] = static_cast<float>((grad[k] + lam) * 10.0 * m[k] * (1.0 - m[k]));
    timing_.outer_s += since(t0);
    return kl;
}

std::vector<float> OracleMasker::optimize(const Tensor& tokens, const Tensor& targets, std::vector<float>& u,
                                          const OracleAnchor* anchor, const OracleGroup* group) {
    std::vector<float> sq(u.size(), 0.0f), grad, kl;
    g0_.clear();
    loc_for_ = nullptr;
    for (int k = 0; k < opt_.outer_steps; ++k) {
        kl = outer_gradient(tokens, targets, u, grad, true, anchor, group);
        const auto t0 = Clock::now();
        // torch.optim.RMSprop(lr, alpha 0.99, eps 1e-8), on the host: u is small.
        for (size_t i = 0; i < u.size(); ++i) {
            sq[i] = 0.99f * sq[i] + 0.01f * grad[i] * grad[i];
            u[i] -= opt_.mask_lr * grad[i] / (std::sqrt(sq[i]) + 1e-8f);
        }
        timing_.outer_s += since(t0);
    }
    g0_.clear();
    loc_for_ = nullptr;
    return kl;
}

}  // namespace vitedit

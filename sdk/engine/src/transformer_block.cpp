// vitedit — the pre-LN transformer block, forward and backward, over any backend.
//
// Attention keeps q, k and v as separate token-major [N, T, D] parts of one [3, N, T, D] buffer
// (the fused qkv weight runs as three products, one per part): head h of image n is then a
// [T, hd] matrix with row stride D, so the batched GEMMs over (n, h) need no transposes or
// copies. A fused [N, T, 3D] output would give row stride 3D instead, a layout oneDNN's
// batched matmul does not take in its fast (brgemm) kernel: its fallback ran the bundled model's
// QK^T at a third of the speed.
#include <algorithm>
#include <cmath>
#include <iterator>

#include "vitedit/transformer_block.hpp"

namespace vitedit {

bool BlockGrads::any() const {
    for (const Tensor* t : {&norm1_w, &norm1_b, &qkv_w, &qkv_b, &proj_w, &proj_b, &norm2_w, &norm2_b,
                            &fc1_w, &fc1_b, &fc2_w, &fc2_b})
        if (t->defined()) return true;
    return false;
}

void linear_forward(Backend& be, const Tensor& x, const Tensor& w, const Tensor* b, const Tensor& y) {
    be.linear_fwd(x, w, b, VE_ACT_NONE, y);
}

namespace {

// View of a [N, T, D] buffer as [N, heads, T, hd].
Tensor heads_view(const Tensor& x, int heads) {
    const int64_t N = x.dim(0), T = x.dim(1), D = x.dim(2), hd = D / heads;
    return x.view({N, heads, T, hd}, {T * D, hd, D, 1}, 0);
}

// Part i [N, T, D] of a stacked [P, N, T, D] buffer (q, k, v or k, v), as rows [N*T, D] or heads.
Tensor part_rows(const Tensor& parts, int i) {
    return parts.slice(i, i + 1).reshape({parts.dim(1) * parts.dim(2), parts.dim(3)});
}
Tensor part_heads(const Tensor& parts, int i, int heads) {
    return heads_view(parts.slice(i, i + 1).reshape({parts.dim(1), parts.dim(2), parts.dim(3)}), heads);
}

// Weight gradient of a linear layer: dw = dy^T @ x (+ beta * dw), db = colsum(dy).
void linear_param_grads(Backend& be, const Tensor& dy, const Tensor& x, const Tensor& dw,
                        const Tensor& db, float beta) {
    if (dw.defined()) be.gemm(true, false, 1.0f, dy, x, beta, dw);
    if (db.defined()) be.bias_grad(dy, db, beta);
}

// The rows [first*D, (first+P)*D) of a fused projection (w [*, D], b), one product per part:
// parts[i] = x w_iᵀ + b_i, x [R, D], parts [P, N, T, D].
void linear_parts(Backend& be, const Tensor& x, const Tensor& w, const Tensor& b, int first, const Tensor& parts) {
    const int64_t D = parts.dim(3);
    for (int i = 0; i < parts.dim(0); ++i) {
        const int64_t lo = (first + i) * D;
        const Tensor bi = b.slice(lo, lo + D);
        linear_forward(be, x, w.slice(lo, lo + D), &bi, part_rows(parts, i));
    }
}
// Their weight and bias gradients into the matching rows of dw / db (either may be undefined).
void linear_parts_param_grads(Backend& be, const Tensor& dparts, const Tensor& x, const Tensor& dw, const Tensor& db,
                              int first, float beta) {
    const int64_t D = dparts.dim(3);
    for (int i = 0; i < dparts.dim(0); ++i) {
        const int64_t lo = (first + i) * D;
        linear_param_grads(be, part_rows(dparts, i), x, dw.defined() ? dw.slice(lo, lo + D) : Tensor(),
                           db.defined() ? db.slice(lo, lo + D) : Tensor(), beta);
    }
}
// dx = Σ_i dparts[i] w_i (overwritten), the input gradient of linear_parts.
void linear_parts_input_grad(Backend& be, const Tensor& dparts, const Tensor& w, int first, const Tensor& dx) {
    const int64_t D = dparts.dim(3);
    for (int i = 0; i < dparts.dim(0); ++i) {
        const int64_t lo = (first + i) * D;
        be.gemm(false, false, 1.0f, part_rows(dparts, i), w.slice(lo, lo + D), i == 0 ? 0.0f : 1.0f, dx);
    }
}

// The FFN linears with shared ([out, in]) or per-sample ([N, out, in]) weights; x [R, in],
// y [R, out], R = N*T. Per-sample weights let N independent edits share one pass.
void ffn_forward(Backend& be, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& y, int64_t N) {
    if (w.ndim() != 3) return linear_forward(be, x, w, &b, y);
    const int64_t T = x.dim(0) / N;
    be.gemm(false, true, 1.0f, x.reshape({N, T, x.dim(1)}), w, 0.0f, y.reshape({N, T, y.dim(1)}));
    be.bias_add(y, b);
}
// dx = dy @ w (overwritten).
void ffn_input_grad(Backend& be, const Tensor& dy, const Tensor& w, const Tensor& dx, int64_t N) {
    if (w.ndim() != 3) return be.gemm(false, false, 1.0f, dy, w, 0.0f, dx);
    const int64_t T = dy.dim(0) / N;
    be.gemm(false, false, 1.0f, dy.reshape({N, T, dy.dim(1)}), w, 0.0f, dx.reshape({N, T, dx.dim(1)}));
}
void ffn_param_grads(Backend& be, const Tensor& dy, const Tensor& x, const Tensor& dw, const Tensor& db,
                     float beta, int64_t N) {
    if (dw.defined() && dw.ndim() == 3) {
        const int64_t T = dy.dim(0) / N;
        be.gemm(true, false, 1.0f, dy.reshape({N, T, dy.dim(1)}), x.reshape({N, T, x.dim(1)}), beta, dw);
        if (db.defined()) be.bias_grad(dy, db, beta);
        return;
    }
    linear_param_grads(be, dy, x, dw, db, beta);
}

}  // namespace

void block_forward(Backend& be, const BlockParams& p, const BlockShape& s, const Tensor& x,
                   const Tensor& out, BlockActivations* acts) {
    const int64_t N = x.dim(0), T = x.dim(1), D = x.dim(2), R = N * T;
    const int heads = s.heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D / heads));
    const Tensor x2 = x.reshape({R, D});

    BlockActivations local;
    BlockActivations& a = acts ? *acts : local;
    a.x = x;
    a.ln1 = be.empty({R, D});
    if (acts) a.mean1 = be.empty({R}), a.rstd1 = be.empty({R});
    be.layernorm_fwd(x2, p.norm1_w, p.norm1_b, s.ln_eps, a.ln1, acts ? &a.mean1 : nullptr,
                     acts ? &a.rstd1 : nullptr);

    a.qkv = be.empty({3, N, T, D});
    linear_parts(be, a.ln1, p.qkv_w, p.qkv_b, 0, a.qkv);

    Tensor scores = be.empty({N, heads, T, T});
    // The 1/sqrt(hd) scale rides on the product (its alpha) rather than a pass of its own in the
    // softmax: the same multiply, one sweep over the T x T scores fewer.
    be.gemm(false, true, scale, part_heads(a.qkv, 0, heads), part_heads(a.qkv, 1, heads), 0.0f, scores);
    a.probs = be.empty({N, heads, T, T});
    be.softmax_fwd(scores, 1.0f, a.probs);
    scores = Tensor();
    a.attn = be.empty({N, T, D});
    be.gemm(false, false, 1.0f, a.probs, part_heads(a.qkv, 2, heads), 0.0f, heads_view(a.attn, heads));

    a.x_mid = be.empty({N, T, D});
    const Tensor xm2 = a.x_mid.reshape({R, D});
    linear_forward(be, a.attn.reshape({R, D}), p.proj_w, &p.proj_b, xm2);
    be.add(xm2, x2, xm2);

    a.ln2 = be.empty({R, D});
    if (acts) a.mean2 = be.empty({R}), a.rstd2 = be.empty({R});
    be.layernorm_fwd(xm2, p.norm2_w, p.norm2_b, s.ln_eps, a.ln2, acts ? &a.mean2 : nullptr,
                     acts ? &a.rstd2 : nullptr);
    block_forward_mlp(be, p, a.x_mid, a.ln2, out, acts ? &a : nullptr);
}

void block_forward_mlp(Backend& be, const BlockParams& p, const Tensor& x_mid, const Tensor& ln2, const Tensor& out,
                       BlockActivations* acts) {
    const int64_t N = x_mid.dim(0), T = x_mid.dim(1), D = x_mid.dim(2), R = N * T;
    const int64_t H = p.fc1_w.dim(-2);
    BlockActivations local;
    BlockActivations& a = acts ? *acts : local;
    if (!a.x.defined()) a.x = x_mid;  // the MLP half alone: only the shape of x is read later
    a.x_mid = x_mid;
    a.ln2 = ln2;
    a.act = be.empty({R, H});
    if (!acts && p.fc1_w.ndim() == 2) {
        // Inference: the pre-activation is not kept for a backward, so GELU fuses into fc1.
        be.linear_fwd(ln2, p.fc1_w, &p.fc1_b, VE_ACT_GELU, a.act);
    } else {
        a.hidden = be.empty({R, H});
        ffn_forward(be, ln2, p.fc1_w, p.fc1_b, a.hidden, N);
        be.gelu_fwd(a.hidden, a.act);
    }
    const Tensor out2 = out.reshape({R, D});
    ffn_forward(be, a.act, p.fc2_w, p.fc2_b, out2, N);
    be.add(out2, x_mid.reshape({R, D}), out2);
}

namespace {
// Positions of `sub` (sorted, a subset of `set`) within `set` (sorted).
std::vector<int32_t> positions_in(const std::vector<int32_t>& set, const std::vector<int32_t>& sub) {
    std::vector<int32_t> pos;
    pos.reserve(sub.size());
    for (int32_t u : sub) pos.push_back(static_cast<int32_t>(std::lower_bound(set.begin(), set.end(), u) - set.begin()));
    return pos;
}
// Whether `index` is the units of `set` at positions `pos`.
bool units_at(const std::vector<int32_t>& set, const std::vector<int32_t>& pos, const std::vector<int32_t>& index) {
    if (pos.size() != index.size()) return false;
    for (size_t j = 0; j < pos.size(); ++j)
        if (set[static_cast<size_t>(pos[j])] != index[j]) return false;
    return true;
}
}  // namespace

MlpUnits mlp_units_prepare(Backend& be, const BlockParams& p, const Tensor& x_mid, const Tensor& ln2,
                           const std::vector<int32_t>& rows1, const std::vector<int32_t>& cols2) {
    if (p.fc1_w.ndim() != 2 || p.fc2_w.ndim() != 2 || !be.has_unit_ops())
        throw Error("mlp_units_prepare needs shared 2-D weights and a backend with the unit ops");
    const int64_t N = x_mid.dim(0), T = x_mid.dim(1), D = x_mid.dim(2), R = N * T;
    const int64_t H = p.fc1_w.dim(0);
    MlpUnits mu;
    std::set_union(rows1.begin(), rows1.end(), cols2.begin(), cols2.end(), std::back_inserter(mu.units));
    for (int32_t u : mu.units)
        if (u < 0 || u >= H) throw Error("mlp_units_prepare: unit " + std::to_string(u) + " outside 0.." + std::to_string(H - 1));
    mu.pos1 = positions_in(mu.units, rows1);
    mu.pos2 = positions_in(mu.units, cols2);
    const int64_t k = static_cast<int64_t>(mu.units.size());
    if (k > 0) {
        mu.b1 = be.empty({k});
        be.gather_units(p.fc1_b.reshape({1, H}), VE_MASK_COLS, mu.units, mu.b1.reshape({1, k}));
    }
    // base = x_mid + fc2(act with U's columns zeroed): the other units' share, summed once (GELU
    // as a pass, as the training forward computes it).
    Tensor hidden = be.empty({R, H}), act = be.empty({R, H});
    linear_forward(be, ln2, p.fc1_w, &p.fc1_b, hidden);
    be.gelu_fwd(hidden, act);
    hidden = Tensor();
    if (k > 0) be.scatter_units(be.zeros({R, k}), VE_MASK_COLS, mu.units, act);
    mu.base = be.empty({R, D});
    linear_forward(be, act, p.fc2_w, &p.fc2_b, mu.base);
    be.add(mu.base, x_mid.reshape({R, D}), mu.base);
    return mu;
}

void block_forward_mlp_units(Backend& be, const BlockParams& p, const MlpUnits& mu, const Tensor& x_mid,
                             const Tensor& ln2, const Tensor& out, BlockActivations* acts) {
    const int64_t N = x_mid.dim(0), T = x_mid.dim(1), D = x_mid.dim(2), R = N * T;
    const int64_t k = static_cast<int64_t>(mu.units.size());
    if (mu.base.shape() != Shape{R, D}) throw Error("block_forward_mlp_units: the units were prepared for other inputs");
    const Tensor out2 = out.reshape({R, D});
    be.copy(mu.base, out2);
    BlockActivations local;
    BlockActivations& a = acts ? *acts : local;
    a.x = x_mid;  // only its shape is read later
    a.x_mid = x_mid;
    a.ln2 = ln2;
    a.units = &mu;
    a.act = be.empty({R, k});
    if (k == 0) return;
    // The units' current weights (the editor moves them between passes).
    Tensor w1 = be.empty({k, D}), w2 = be.empty({D, k});
    be.gather_units(p.fc1_w, VE_MASK_ROWS, mu.units, w1);
    be.gather_units(p.fc2_w, VE_MASK_COLS, mu.units, w2);
    if (!acts) {
        be.linear_fwd(ln2, w1, &mu.b1, VE_ACT_GELU, a.act);
    } else {
        a.hidden = be.empty({R, k});
        be.linear_fwd(ln2, w1, &mu.b1, VE_ACT_NONE, a.hidden);
        be.gelu_fwd(a.hidden, a.act);
    }
    be.gemm(false, true, 1.0f, a.act, w2, 1.0f, out2);
}

void block_backward(Backend& be, const BlockParams& p, const BlockShape& s, const BlockActivations& a,
                    const Tensor& dout, const BlockGrads& g, float beta, const Tensor* dx) {
    const int64_t N = a.x.dim(0), T = a.x.dim(1), D = a.x.dim(2), R = N * T;
    const int64_t H = p.fc1_w.dim(-2);
    const int heads = s.heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D / heads));
    const bool want_dx = dx && dx->defined();

    // How deep into the block the gradient must flow (stages from the top).
    enum Stage { kFc2 = 0, kFc1, kNorm2, kProj, kQkv, kNorm1, kInput };
    int deepest = -1;
    auto need = [&](const Tensor& t, int stage) { if (t.defined()) deepest = std::max(deepest, stage); };
    need(g.fc2_w, kFc2); need(g.fc2_b, kFc2);
    need(g.fc1_w, kFc1); need(g.fc1_b, kFc1);
    need(g.norm2_w, kNorm2); need(g.norm2_b, kNorm2);
    need(g.proj_w, kProj); need(g.proj_b, kProj);
    need(g.qkv_w, kQkv); need(g.qkv_b, kQkv);
    need(g.norm1_w, kNorm1); need(g.norm1_b, kNorm1);
    if (want_dx) deepest = kInput;
    if (deepest < 0) return;

    const Tensor dz = dout.reshape({R, D});
    // Gradients of the masked neurons only, where asked and possible (see BlockGrads).
    const bool units_ok = beta == 0.0f && p.fc1_w.ndim() == 2 && p.fc2_w.ndim() == 2 && (g.fc1_rows || g.fc2_cols) &&
                          be.has_unit_ops();
    const std::vector<int32_t>* rows1 = units_ok && g.fc1_w.defined() ? g.fc1_rows : nullptr;
    const std::vector<int32_t>* cols2 = units_ok && g.fc2_w.defined() ? g.fc2_cols : nullptr;
    if ((g.fc1_w_units.defined() && !rows1) || (g.fc2_w_units.defined() && !cols2))
        throw Error("block_backward: compact unit gradients need the unit ops, beta 0 and shared 2-D weights");
    // The masked units' weight gradient gM: into the compact destination when there is one, else
    // scattered into the whole gradient.
    auto unit_grad = [&](const Tensor& compact, const Shape& shape) { return compact.defined() ? compact : be.empty(shape); };
    auto place = [&](const Tensor& gM, const Tensor& compact, int axis, const std::vector<int32_t>& index, const Tensor& whole) {
        if (!compact.defined()) be.scatter_units(gM, axis, index, whole);
    };
    // Columns `index` of a full [R, H] activation, or of a compact one holding a.units only (the
    // MLP-units forward) at positions `pos`; no gather when they are all of it, in order.
    auto act_columns = [&](const Tensor& act, const std::vector<int32_t>& index, const std::vector<int32_t>* pos) {
        const std::vector<int32_t>& at = pos ? *pos : index;
        const int64_t k = static_cast<int64_t>(at.size());
        if (k == act.dim(1)) return act;  // sorted and unique: all columns in order
        Tensor sel = be.empty({R, k});
        be.gather_units(act, VE_MASK_COLS, at, sel);
        return sel;
    };
    if (a.units && (deepest > kFc1 || g.fc1_b.defined() || (g.fc1_w.defined() && !rows1) || (g.fc2_w.defined() && !cols2) ||
                    (rows1 && !units_at(a.units->units, a.units->pos1, *rows1)) ||
                    (cols2 && !units_at(a.units->units, a.units->pos2, *cols2))))
        throw Error("block_backward: after the MLP-units forward only the prepared fc1 rows / fc2 columns have gradients");
    if (cols2) {
        // dW2[:, M] = dz^T @ act[:, M]
        const int64_t k = static_cast<int64_t>(cols2->size());
        if (k > 0) {
            Tensor gM = unit_grad(g.fc2_w_units, {D, k});
            be.gemm(true, false, 1.0f, dz, act_columns(a.act, *cols2, a.units ? &a.units->pos2 : nullptr), 0.0f, gM);
            place(gM, g.fc2_w_units, VE_MASK_COLS, *cols2, g.fc2_w);
        }
        if (g.fc2_b.defined()) be.bias_grad(dz, g.fc2_b, beta);
    } else {
        ffn_param_grads(be, dz, a.act, g.fc2_w, g.fc2_b, beta, N);
    }
    if (deepest < kFc1) return;

    if (rows1 && deepest == kFc1 && !g.fc1_b.defined()) {
        // The lowest block: nothing below fc1 is wanted, so only the masked hidden units' gradient
        // is needed. dW1[M, :] = (gelu'(h[:, M]) * (dz @ W2[:, M]))^T @ ln2.
        const int64_t k = static_cast<int64_t>(rows1->size());
        if (k == 0) return;
        Tensor w2M = be.empty({D, k}), dactM = be.empty({R, k}), dhM = be.empty({R, k});
        be.gather_units(p.fc2_w, VE_MASK_COLS, *rows1, w2M);
        const Tensor hM = act_columns(a.hidden, *rows1, a.units ? &a.units->pos1 : nullptr);
        be.gemm(false, false, 1.0f, dz, w2M, 0.0f, dactM);
        be.gelu_bwd(dactM, hM, dhM);
        Tensor gM = unit_grad(g.fc1_w_units, {k, D});
        be.gemm(true, false, 1.0f, dhM, a.ln2, 0.0f, gM);
        place(gM, g.fc1_w_units, VE_MASK_ROWS, *rows1, g.fc1_w);
        return;
    }
    Tensor dact = be.empty({R, H});
    ffn_input_grad(be, dz, p.fc2_w, dact, N);
    Tensor dh = be.empty({R, H});
    be.gelu_bwd(dact, a.hidden, dh);
    dact = Tensor();
    if (rows1) {
        const int64_t k = static_cast<int64_t>(rows1->size());
        if (k > 0) {
            Tensor dhM = be.empty({R, k}), gM = unit_grad(g.fc1_w_units, {k, D});
            be.gather_units(dh, VE_MASK_COLS, *rows1, dhM);
            be.gemm(true, false, 1.0f, dhM, a.ln2, 0.0f, gM);
            place(gM, g.fc1_w_units, VE_MASK_ROWS, *rows1, g.fc1_w);
        }
        if (g.fc1_b.defined()) be.bias_grad(dh, g.fc1_b, beta);
    } else {
        ffn_param_grads(be, dh, a.ln2, g.fc1_w, g.fc1_b, beta, N);
    }
    if (deepest < kNorm2) return;

    Tensor dln2 = be.empty({R, D});
    ffn_input_grad(be, dh, p.fc1_w, dln2, N);
    dh = Tensor();
    // dx_mid = dout + LayerNorm2'(dln2)
    Tensor dxm = be.empty({R, D});
    be.copy(dz, dxm);
    const Tensor* dn2w = g.norm2_w.defined() ? &g.norm2_w : nullptr;
    const Tensor* dn2b = g.norm2_b.defined() ? &g.norm2_b : nullptr;
    be.layernorm_bwd(dln2, a.x_mid.reshape({R, D}), p.norm2_w, a.mean2, a.rstd2,
                     deepest >= kProj ? &dxm : nullptr, 1.0f, dn2w, dn2b, beta);
    if (deepest < kProj) return;

    linear_param_grads(be, dxm, a.attn.reshape({R, D}), g.proj_w, g.proj_b, beta);
    if (deepest < kQkv && !want_dx) return;

    Tensor dattn = be.empty({N, T, D});
    be.gemm(false, false, 1.0f, dxm, p.proj_w, 0.0f, dattn.reshape({R, D}));
    const Tensor dO = heads_view(dattn, heads);
    Tensor dP = be.empty({N, heads, T, T});
    be.gemm(false, true, 1.0f, dO, part_heads(a.qkv, 2, heads), 0.0f, dP);
    Tensor dqkv = be.empty({3, N, T, D});
    be.gemm(true, false, 1.0f, a.probs, dO, 0.0f, part_heads(dqkv, 2, heads));  // dV = P^T dO
    Tensor dS = be.empty({N, heads, T, T});
    be.softmax_bwd(dP, a.probs, scale, dS);  // includes the 1/sqrt(hd) scale
    dP = Tensor();
    be.gemm(false, false, 1.0f, dS, part_heads(a.qkv, 1, heads), 0.0f, part_heads(dqkv, 0, heads));  // dQ
    be.gemm(true, false, 1.0f, dS, part_heads(a.qkv, 0, heads), 0.0f, part_heads(dqkv, 1, heads));   // dK
    dS = Tensor();
    dattn = Tensor();
    linear_parts_param_grads(be, dqkv, a.ln1, g.qkv_w, g.qkv_b, 0, beta);
    if (deepest < kNorm1) return;

    Tensor dln1 = be.empty({R, D});
    linear_parts_input_grad(be, dqkv, p.qkv_w, 0, dln1);
    const Tensor* dn1w = g.norm1_w.defined() ? &g.norm1_w : nullptr;
    const Tensor* dn1b = g.norm1_b.defined() ? &g.norm1_b : nullptr;
    Tensor dx2;
    if (want_dx) {
        dx2 = dx->reshape({R, D});
        be.copy(dxm, dx2);
    }
    be.layernorm_bwd(dln1, a.x.reshape({R, D}), p.norm1_w, a.mean1, a.rstd1, want_dx ? &dx2 : nullptr,
                     1.0f, dn1w, dn1b, beta);
}

namespace {
// Head h of a [N, D] buffer of one row per image, as [N, heads, 1, hd].
Tensor row_heads(const Tensor& x, int heads) {
    const int64_t N = x.dim(0), D = x.dim(1), hd = D / heads;
    return x.view({N, heads, 1, hd}, {D, hd, D, 1}, 0);
}
}  // namespace

void block_forward_cls(Backend& be, const BlockParams& p, const BlockShape& s, const Tensor& x, const Tensor& out,
                       ClsBlockActivations* acts) {
    const int64_t N = x.dim(0), T = x.dim(1), D = x.dim(2), R = N * T;
    const int64_t H = p.fc1_w.dim(0);
    const int heads = s.heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D / heads));
    ClsBlockActivations local;
    ClsBlockActivations& a = acts ? *acts : local;
    a.x = x;
    a.ln1 = be.empty({N, T, D});
    a.mean1 = be.empty({R});
    a.rstd1 = be.empty({R});
    be.layernorm_fwd(x.reshape({R, D}), p.norm1_w, p.norm1_b, s.ln_eps, a.ln1.reshape({R, D}), &a.mean1, &a.rstd1);
    // q for the CLS rows, k and v for every token (rows D..3D of the fused qkv weight).
    a.q = be.empty({N, D});
    const Tensor wq = p.qkv_w.slice(0, D), bq = p.qkv_b.slice(0, D);
    linear_forward(be, a.ln1.view({N, D}, {T * D, 1}, 0), wq, &bq, a.q);
    a.kv = be.empty({2, N, T, D});
    linear_parts(be, a.ln1.reshape({R, D}), p.qkv_w, p.qkv_b, 1, a.kv);
    Tensor scores = be.empty({N, heads, 1, T});
    be.gemm(false, true, scale, row_heads(a.q, heads), part_heads(a.kv, 0, heads), 0.0f, scores);  // scaled as above
    a.probs = be.empty({N, heads, 1, T});
    be.softmax_fwd(scores, 1.0f, a.probs);
    a.attn = be.empty({N, D});
    be.gemm(false, false, 1.0f, a.probs, part_heads(a.kv, 1, heads), 0.0f, row_heads(a.attn, heads));
    a.x_mid = be.empty({N, D});
    linear_forward(be, a.attn, p.proj_w, &p.proj_b, a.x_mid);
    Tensor xcls = be.empty({N, D});
    be.copy(x.view({N, D}, {T * D, 1}, 0), xcls);
    be.add(a.x_mid, xcls, a.x_mid);
    a.ln2 = be.empty({N, D});
    a.mean2 = be.empty({N});
    a.rstd2 = be.empty({N});
    be.layernorm_fwd(a.x_mid, p.norm2_w, p.norm2_b, s.ln_eps, a.ln2, &a.mean2, &a.rstd2);
    a.act = be.empty({N, H});
    if (!acts) {  // inference: GELU fuses into fc1 (no backward needs the pre-activation)
        be.linear_fwd(a.ln2, p.fc1_w, &p.fc1_b, VE_ACT_GELU, a.act);
    } else {
        a.hidden = be.empty({N, H});
        linear_forward(be, a.ln2, p.fc1_w, &p.fc1_b, a.hidden);
        be.gelu_fwd(a.hidden, a.act);
    }
    linear_forward(be, a.act, p.fc2_w, &p.fc2_b, out);
    be.add(out, a.x_mid, out);
}

void block_backward_cls(Backend& be, const BlockParams& p, const BlockShape& s, const ClsBlockActivations& a,
                        const Tensor& dout, const Tensor& dx) {
    const int64_t N = a.x.dim(0), T = a.x.dim(1), D = a.x.dim(2), R = N * T;
    const int64_t H = p.fc1_w.dim(0);
    const int heads = s.heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(D / heads));
    // MLP and LayerNorm 2 on the CLS rows: dxm = dout + LN2'(fc1'(gelu'(fc2'(dout)))).
    Tensor dact = be.empty({N, H}), dh = be.empty({N, H});
    be.gemm(false, false, 1.0f, dout, p.fc2_w, 0.0f, dact);
    be.gelu_bwd(dact, a.hidden, dh);
    Tensor dln2 = be.empty({N, D});
    be.gemm(false, false, 1.0f, dh, p.fc1_w, 0.0f, dln2);
    Tensor dxm = be.empty({N, D});
    be.copy(dout, dxm);
    be.layernorm_bwd(dln2, a.x_mid, p.norm2_w, a.mean2, a.rstd2, &dxm, 1.0f, nullptr, nullptr, 0.0f);
    // Attention of the CLS query.
    Tensor dattn = be.empty({N, D});
    be.gemm(false, false, 1.0f, dxm, p.proj_w, 0.0f, dattn);
    const Tensor dO = row_heads(dattn, heads);
    Tensor dP = be.empty({N, heads, 1, T});
    be.gemm(false, true, 1.0f, dO, part_heads(a.kv, 1, heads), 0.0f, dP);
    Tensor dkv = be.empty({2, N, T, D});
    be.gemm(true, false, 1.0f, a.probs, dO, 0.0f, part_heads(dkv, 1, heads));  // dV = P^T dO
    Tensor dS = be.empty({N, heads, 1, T});
    be.softmax_bwd(dP, a.probs, scale, dS);
    Tensor dq = be.empty({N, D});
    be.gemm(false, false, 1.0f, dS, part_heads(a.kv, 0, heads), 0.0f, row_heads(dq, heads));  // dQ
    be.gemm(true, false, 1.0f, dS, row_heads(a.q, heads), 0.0f, part_heads(dkv, 0, heads));   // dK
    // Back through the projections to LayerNorm 1's output, then its input; the residual path
    // carries dxm to the CLS rows only.
    Tensor dln1 = be.empty({N, T, D});
    linear_parts_input_grad(be, dkv, p.qkv_w, 1, dln1.reshape({R, D}));
    be.gemm(false, false, 1.0f, dq, p.qkv_w.slice(0, D), 1.0f, dln1.view({N, D}, {T * D, 1}, 0));
    const Tensor dx2 = dx.reshape({R, D});
    be.fill(dx2, 0.0f);
    be.copy(dxm, dx.view({N, D}, {T * D, 1}, 0));
    be.layernorm_bwd(dln1.reshape({R, D}), a.x.reshape({R, D}), p.norm1_w, a.mean1, a.rstd1, &dx2, 1.0f, nullptr, nullptr,
                     0.0f);
}

}  // namespace vitedit

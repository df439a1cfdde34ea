#include "gemm.hpp"

#include <cstring>
#include <string>
#include <utility>

#include "dnnl_errors.hpp"
#include "strided.hpp"
#include "vitedit/backend_author.hpp"

namespace vitedit::onednn {

namespace {

using dnnl::memory;

// Shape and strides of one operand as the matmul sees it: [batch..., rows, cols].
struct Layout {
    int nd = 0;
    int64_t shape[VE_MAX_DIMS] = {0, 0, 0, 0};
    int64_t stride[VE_MAX_DIMS] = {0, 0, 0, 0};
};

Layout layout_of(const View& v) {
    Layout l;
    l.nd = v.nd;
    for (int i = 0; i < v.nd; ++i) {
        l.shape[i] = v.shape[i];
        l.stride[i] = v.stride[i];
    }
    return l;
}

void transpose(Layout& l) {
    std::swap(l.shape[l.nd - 2], l.shape[l.nd - 1]);
    std::swap(l.stride[l.nd - 2], l.stride[l.nd - 1]);
}

// Rewrites the strides of size-1 dims (which address nothing) so that a vector still looks
// like a row- or column-major matrix and no batch stride is zero.
void normalize(Layout& l) {
    const int r = l.nd - 2, c = l.nd - 1;
    if (l.shape[r] == 1 && l.shape[c] == 1) {
        l.stride[r] = l.stride[c] = 1;
    } else if (l.shape[r] == 1) {
        l.stride[r] = l.stride[c] == 1 ? l.shape[c] : 1;
    } else if (l.shape[c] == 1) {
        l.stride[c] = l.stride[r] == 1 ? l.shape[r] : 1;
    }
    for (int i = r - 1; i >= 0; --i) {
        if (l.shape[i] != 1) continue;
        int64_t extent = 1;
        for (int j = i + 1; j < l.nd; ++j) extent += (l.shape[j] - 1) * l.stride[j];
        l.stride[i] = extent;
    }
}

// Can oneDNN's GEMM kernels read this matrix in place? One unit stride, a leading dimension
// covering the other, no zero strides.
bool gemm_friendly(const Layout& l, bool is_output) {
    const int r = l.nd - 2, c = l.nd - 1;
    const int64_t R = l.shape[r], C = l.shape[c], sr = l.stride[r], sc = l.stride[c];
    bool row_major = sc == 1 && (R == 1 || sr >= C);
    bool col_major = sr == 1 && (C == 1 || sc >= R);
    return is_output ? row_major : (row_major || col_major);
}

Layout dense(const Layout& l) {
    Layout d = l;
    int64_t s = 1;
    for (int i = l.nd - 1; i >= 0; --i) {
        d.stride[i] = s;
        s *= l.shape[i];
    }
    return d;
}

int64_t numel(const Layout& l) {
    int64_t n = 1;
    for (int i = 0; i < l.nd; ++i) n *= l.shape[i];
    return n;
}

memory::desc desc_of(const Layout& l, int first_dim, memory::data_type type = memory::data_type::f32) {
    memory::dims dims(l.shape + first_dim, l.shape + l.nd);
    memory::dims strides(l.stride + first_dim, l.stride + l.nd);
    return memory::desc(dims, type, strides);
}

std::string dims_text(const Layout& l) {
    std::string s = "[";
    for (int i = 0; i < l.nd; ++i) s += (i ? "," : "") + std::to_string(l.shape[i]);
    s += "]/[";
    for (int i = 0; i < l.nd; ++i) s += (i ? "," : "") + std::to_string(l.stride[i]);
    return s + "]";
}

bool is_reference(const dnnl::matmul::primitive_desc& pd) {
    return std::strncmp(pd.impl_info_str(), "ref", 3) == 0;
}

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

}  // namespace

struct GemmPlanner::Plan {
    bool swap = false;       // computes C^T = op(B)^T op(A)^T
    Layout user[3];          // A, B, C as laid out in the caller's memory
    Layout used[3];          // as handed to oneDNN (dense copies where packed)
    bool pack[3] = {false, false, false};
    bool bf16[3] = {false, false, false};  // packed as bf16 (A and B in bf16 precision)
    int64_t scratch_offset[3] = {0, 0, 0};
    int64_t scratch_floats = 0;
    bool per_batch = false;  // loop a 2-D primitive over the batch dims
    dnnl::matmul prim;
    memory mem[3];
    memory bias;  // the epilogue's bias [1, N], handle set per call (empty without a bias)
    std::unordered_map<int, memory> args;
    std::string impl;
    // The variant reading B from a PackedWeights copy (2-D, unswapped, large B only).
    bool packable = false;
    bool pack_first_read = false;  // pack even a B read once (see plan_for)
    dnnl::matmul packed_prim;
    memory::desc packed_desc;   // B in oneDNN's chosen blocked layout
    memory::desc b_user_desc;   // B as the caller lays it out, f32 (what gets reordered)
    memory packed_b;            // handle set per call to the cached copy
    std::unordered_map<int, memory> packed_args;  // A and C as the plain plan feeds them
};

size_t GemmPlanner::KeyHash::operator()(const Key& k) const noexcept {
    uint64_t h = 1469598103934665603ull;
    for (int64_t v : k) {
        h ^= static_cast<uint64_t>(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h *= 1099511628211ull;
    }
    return static_cast<size_t>(h);
}

GemmPlanner::GemmPlanner(const dnnl::engine& engine, dnnl::stream& stream, const GemmSettings& s)
    : engine_(engine), stream_(stream), max_plans_(s.max_plans ? s.max_plans : 1), bf16_(s.bf16), packed_(s.packed),
      min_packed_(s.min_packed), pack_first_read_(s.pack_first_read), serial_below_(s.serial_below) {}

GemmPlanner::~GemmPlanner() = default;

const char* GemmPlanner::last_impl() const { return last_ ? last_->impl.c_str() : ""; }

GemmPlanner::Plan& GemmPlanner::plan_for(bool ta, bool tb, float alpha, const View& a,
                                         const View& b, float beta, const View& c, const Epilogue& ep) {
    Key key{};
    size_t n = 0;
    key[n++] = ta;
    key[n++] = tb;
    key[n++] = a.nd;
    for (const View* v : {&a, &b, &c})
        for (int i = 0; i < v->nd; ++i) {
            key[n++] = v->shape[i];
            key[n++] = v->stride[i];
        }
    key[n++] = bits(alpha);
    key[n++] = bits(beta);
    key[n++] = (ep.bias ? 1 : 0) | (ep.gelu ? 2 : 0);
    auto it = plans_.find(key);
    if (it != plans_.end()) return *it->second;

    auto plan = std::make_unique<Plan>();
    Layout A = layout_of(a), B = layout_of(b), C = layout_of(c);
    if (ta) transpose(A);
    if (tb) transpose(B);
    normalize(A);
    normalize(B);
    normalize(C);
    const int nd = C.nd, r = nd - 2, col = nd - 1;
    if (C.stride[col] != 1 && C.stride[r] == 1) {  // column-major output: transpose the problem
        plan->swap = true;
        Layout A2 = B, B2 = A;
        transpose(A2);
        transpose(B2);
        transpose(C);
        A = A2;
        B = B2;
        if (ep.any()) fail("an epilogue (bias, GELU) needs a row-major output of more than one column");
    }
    plan->user[0] = A;
    plan->user[1] = B;
    plan->user[2] = C;
    // bf16 covers the 2-D products — the linear layers and their gradients, where B is a weight
    // matrix or a whole activation — and leaves the batched ones (attention's per-head products,
    // whose operands are both activations converted at every call) in f32. The rule depends on
    // the layer, never on the batch size, so an image gets the same logits alone or in a batch
    // (an edit that stops at the first correct prediction must still be correct when evaluated).
    const bool bf16_per_call = bf16_ && nd == 2;
    for (int i = 0; i < 3; ++i) {
        plan->bf16[i] = bf16_per_call && i < 2;
        plan->pack[i] = plan->bf16[i] || !gemm_friendly(plan->user[i], i == 2);
        plan->used[i] = plan->pack[i] ? dense(plan->user[i]) : plan->user[i];
        if (plan->pack[i]) {
            plan->scratch_offset[i] = plan->scratch_floats;
            // keep each packed operand 64-byte aligned inside the scratch (bf16: 2 per float)
            const int64_t floats = plan->bf16[i] ? (numel(plan->user[i]) + 1) / 2 : numel(plan->user[i]);
            plan->scratch_floats += (floats + 15) / 16 * 16;
        }
    }

    dnnl::primitive_attr attr;
    if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
    if (beta != 0.0f || ep.gelu) {
        dnnl::post_ops po;
        if (beta != 0.0f) po.append_sum(beta);
        if (ep.gelu) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
        attr.set_post_ops(po);
    }
    // The bias as oneDNN wants it: one row broadcast over the output's rows.
    const memory::desc bias_md = ep.bias ? memory::desc({1, plan->user[2].shape[1]}, memory::data_type::f32,
                                                        memory::format_tag::ab)
                                         : memory::desc();
    const std::string what = "matmul " + dims_text(plan->used[0]) + " x " +
                             dims_text(plan->used[1]) + " -> " + dims_text(plan->used[2]);
    auto type_of = [&](int i) { return plan->bf16[i] ? memory::data_type::bf16 : memory::data_type::f32; };
    auto make_pd = [&](int first_dim) {
        const memory::desc a_md = desc_of(plan->used[0], first_dim, type_of(0)),
                           b_md = desc_of(plan->used[1], first_dim, type_of(1)), c_md = desc_of(plan->used[2], first_dim);
        const dnnl::matmul::desc d = ep.bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
        return dnnl::matmul::primitive_desc(d, attr, engine_);
    };
    dnnl::matmul::primitive_desc pd;
    bool have_pd = false;
    try {
        pd = make_pd(0);
        have_pd = true;
    } catch (const dnnl::error& e) {
        if (nd == 2) rethrow_dnnl(e, "creating " + what);
    }
    if (nd > 2 && (!have_pd || is_reference(pd))) {
        // Batch strides the batched kernels refuse (e.g. zero): loop a 2-D primitive instead.
        try {
            auto pd2 = make_pd(nd - 2);
            if (!have_pd || !is_reference(pd2)) {
                pd = pd2;
                have_pd = true;
                plan->per_batch = true;
            }
        } catch (const dnnl::error& e) {
            if (!have_pd) rethrow_dnnl(e, "creating " + what);
        }
    }
    try {
        plan->prim = dnnl::matmul(pd);
        for (int i = 0; i < 3; ++i)
            plan->mem[i] = memory(desc_of(plan->used[i], plan->per_batch ? nd - 2 : 0, type_of(i)), engine_,
                                  nullptr);
    } catch (const dnnl::error& e) {
        rethrow_dnnl(e, "creating " + what);
    }
    plan->impl = pd.impl_info_str();
    if (plan->per_batch) plan->impl += " (per batch)";
    plan->args = {{DNNL_ARG_SRC, plan->mem[0]}, {DNNL_ARG_WEIGHTS, plan->mem[1]},
                  {DNNL_ARG_DST, plan->mem[2]}};
    if (ep.bias) {
        plan->bias = memory(bias_md, engine_, nullptr);
        plan->args[DNNL_ARG_BIAS] = plan->bias;
    }

    // Weights worth keeping packed: a plain 2-D B of at least min_packed_ elements (default 64K: a
    // weight matrix, not a vector or an attention head's slice).
    if (packed_ && nd == 2 && !plan->swap && !plan->per_batch && numel(plan->user[1]) >= min_packed_) {
        try {
            // A and C as the plain plan has them (A in bf16 scratch in bf16 precision: every 2-D
            // product is bf16 there); B in the layout oneDNN picks, in the same precision.
            const memory::desc a_md = desc_of(plan->used[0], 0, type_of(0)), c_md = desc_of(plan->used[2], 0),
                               b_md({plan->user[1].shape[0], plan->user[1].shape[1]}, type_of(1), memory::format_tag::any);
            const dnnl::matmul::desc d =
                ep.bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
            dnnl::matmul::primitive_desc ppd(d, attr, engine_);
            if (!is_reference(ppd)) {
                plan->packed_prim = dnnl::matmul(ppd);
                plan->packed_desc = ppd.weights_desc();
                plan->b_user_desc = desc_of(plan->user[1], 0);
                plan->packed_b = memory(plan->packed_desc, engine_, nullptr);
                plan->packed_args = {{DNNL_ARG_SRC, plan->mem[0]}, {DNNL_ARG_WEIGHTS, plan->packed_b},
                                     {DNNL_ARG_DST, plan->mem[2]}};
                if (ep.bias) plan->packed_args[DNNL_ARG_BIAS] = plan->bias;
                plan->packable = true;
                // A wide row-major B (dx = dy W of fc2: [768, 3072]) runs 2-3x slower in place
                // than packed (12-13 vs 4.5 ms at 197 rows, measured), more than the reorder
                // costs (~1.4 ms): such a weight is worth packing even when it is rewritten
                // before its next read (the fc2 weights being edited).
                const Layout& Bu = plan->user[1];
                plan->pack_first_read = pack_first_read_ && !plan->bf16[1] && Bu.stride[1] == 1 &&
                                        Bu.shape[1] >= 2 * Bu.shape[0] && plan->user[0].shape[0] >= 64;
            }
        } catch (const dnnl::error&) {
            // no blocked variant for this problem: the plain plan serves
        }
    }

    if (plans_.size() >= max_plans_) plans_.clear();
    return *plans_.emplace(std::move(key), std::move(plan)).first->second;
}

float* GemmPlanner::aligned_scratch(int64_t floats) {
    if (scratch_.size() < static_cast<size_t>(floats) + 16) scratch_.resize(static_cast<size_t>(floats) + 16);
    const auto addr = reinterpret_cast<uintptr_t>(scratch_.data());
    return scratch_.data() + ((64 - addr % 64) % 64) / sizeof(float);  // 64-byte aligned
}

void GemmPlanner::execute(Plan& p, const View& a, const View& b, float beta, const View& c, const Epilogue& ep) {
    float* ptr[3] = {p.swap ? b.data : a.data, p.swap ? a.data : b.data, c.data};
    void* handle[3] = {ptr[0], ptr[1], ptr[2]};
    memory packed_b;  // empty unless the packed cache has B
    if (p.packable) {
        const Layout& B = p.user[1];
        int64_t last = 0;  // offset of the last element B addresses
        for (int i = 0; i < B.nd; ++i) last += (B.shape[i] - 1) * B.stride[i];
        const auto lo = reinterpret_cast<uintptr_t>(ptr[1]);
        try {
            packed_b = packed_->get(lo, lo + static_cast<uintptr_t>(last + 1) * sizeof(float), p.b_user_desc, ptr[1],
                                    p.packed_desc, engine_, stream_, p.pack_first_read);
        } catch (const dnnl::error& e) {
            rethrow_dnnl(e, "packing a GEMM weight operand");
        }
    }
    if (p.scratch_floats > 0) {
        float* base = aligned_scratch(p.scratch_floats);
        for (int i = 0; i < 3; ++i) {
            if (!p.pack[i] || (i == 1 && packed_b)) continue;
            float* dst = base + p.scratch_offset[i];
            if (p.bf16[i])
                strided_copy_bf16(p.user[i].nd, p.user[i].shape, ptr[i], p.user[i].stride,
                                  reinterpret_cast<uint16_t*>(dst), p.used[i].stride);
            else if (i < 2 || beta != 0.0f)
                strided_copy(p.user[i].nd, p.user[i].shape, ptr[i], p.user[i].stride, dst,
                             p.used[i].stride);
            ptr[i] = dst;
            handle[i] = dst;
        }
    }
    try {
        if (ep.bias) p.bias.set_data_handle(const_cast<float*>(ep.bias));
        if (packed_b) {
            p.mem[0].set_data_handle(handle[0]);
            p.mem[2].set_data_handle(handle[2]);
            p.packed_b.set_data_handle(packed_b.get_data_handle());
            p.packed_prim.execute(stream_, p.packed_args);
        } else if (!p.per_batch) {
            for (int i = 0; i < 3; ++i) p.mem[i].set_data_handle(handle[i]);
            p.prim.execute(stream_, p.args);
        } else {
            const Layout& C = p.used[2];
            const int nb = C.nd - 2;
            int64_t count = 1;
            for (int d = 0; d < nb; ++d) count *= C.shape[d];
            for (int64_t idx = 0; idx < count; ++idx) {
                int64_t rem = idx;
                int64_t off[3] = {0, 0, 0};
                for (int d = nb - 1; d >= 0; --d) {
                    int64_t i = rem % C.shape[d];
                    rem /= C.shape[d];
                    for (int k = 0; k < 3; ++k) off[k] += i * p.used[k].stride[d];
                }
                for (int k = 0; k < 3; ++k)
                    p.mem[k].set_data_handle(static_cast<char*>(handle[k]) + off[k] * (p.bf16[k] ? 2 : 4));
                p.prim.execute(stream_, p.args);
            }
        }
        stream_.wait();
    } catch (const dnnl::error& e) {
        rethrow_dnnl(e, "executing matmul (" + p.impl + ")");
    }
    if (p.pack[2])
        strided_copy(p.user[2].nd, p.user[2].shape, ptr[2], p.used[2].stride, c.data,
                     p.user[2].stride);
    // user[2] was transposed along with the problem when swapped; c.data is still its origin.
}

void GemmPlanner::run(bool ta, bool tb, float alpha, const View& a, const View& b, float beta,
                      const View& c, const Epilogue& ep) {
    require_ndim(a, 2, 4);
    if (b.nd != a.nd || c.nd != a.nd)
        fail("a, b and c must have the same ndim: " + describe(a) + ", " + describe(b) + ", " +
             describe(c));
    const int nd = a.nd;
    for (int i = 0; i < nd - 2; ++i)
        if (a.shape[i] != c.shape[i] || b.shape[i] != c.shape[i])
            fail("batch dims differ: " + describe(a) + ", " + describe(b) + ", " + describe(c));
    const int64_t M = a.shape[nd - (ta ? 1 : 2)], K = a.shape[nd - (ta ? 2 : 1)];
    const int64_t Kb = b.shape[nd - (tb ? 1 : 2)], N = b.shape[nd - (tb ? 2 : 1)];
    if (K != Kb || c.shape[nd - 2] != M || c.shape[nd - 1] != N)
        fail(std::string("shapes do not chain: op(a) is [") + std::to_string(M) + "," +
             std::to_string(K) + "], op(b) is [" + std::to_string(Kb) + "," + std::to_string(N) +
             "], c must be [" + std::to_string(M) + "," + std::to_string(N) + "] (trans_a=" +
             std::to_string(ta) + ", trans_b=" + std::to_string(tb) + "; " + describe(a) + ", " +
             describe(b) + ", " + describe(c) + ")");
    for (int i = 0; i < nd; ++i)
        if (c.shape[i] > 1 && c.stride[i] == 0)
            fail(describe(c) + ": the output has a zero stride (elements overlap)");
    if (ep.any() && nd != 2) fail("an epilogue (bias, GELU) needs a 2-D product");
    if (c.numel == 0) return;
    if (K == 0 && !ep.any()) {  // empty sum: c = beta * c
        strided_scale(c.nd, c.shape, c.data, c.stride, beta);
        return;
    }
    int64_t batch = 1;
    for (int i = 0; i < nd - 2; ++i) batch *= c.shape[i];
    const int64_t macs = batch * M * K * N, bytes = batch * (M * K + K * N + M * N) * int64_t(sizeof(float));
    const SerialIfSmall threads(macs < serial_below_ && bytes < kSerialMaxBytes);  // planning and running alike
    Plan& plan = plan_for(ta, tb, alpha, a, b, beta, c, ep);
    last_ = &plan;
    execute(plan, a, b, beta, c, ep);
}

}  // namespace vitedit::onednn

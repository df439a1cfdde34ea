// vitedit — one pre-LN transformer block (attention + GELU MLP), forward and backward, written
// once against vitedit::Backend. The ViT and the hypernetwork locator are both stacks of it.
#pragma once

#include <string>
#include <vector>

#include "vitedit/backend.hpp"

namespace vitedit {

// The parameters of one block (views of the owner's tensors), timm layout.
struct BlockParams {
    Tensor norm1_w, norm1_b;
    Tensor qkv_w, qkv_b;     // [3D, D], [3D]
    Tensor proj_w, proj_b;   // [D, D], [D]
    Tensor norm2_w, norm2_b;
    Tensor fc1_w, fc1_b;     // [H, D], [H]
    Tensor fc2_w, fc2_b;     // [D, H], [D]
    // fc1_w / fc2_w may instead be per-sample, [N, H, D] / [N, D, H] (any strides; biases stay
    // shared): N independent edits of the same model then share one pass, and the matching
    // BlockGrads entries must be per-sample too.
};

// Gradient destinations for one block; an undefined Tensor means "not wanted".
struct BlockGrads {
    Tensor norm1_w, norm1_b, qkv_w, qkv_b, proj_w, proj_b, norm2_w, norm2_b, fc1_w, fc1_b, fc2_w, fc2_b;
    // Neuron subsets (masked editing): when set, fc1_w receives the gradient of these rows only
    // and fc2_w of these columns only; their other elements are not written. Honoured for
    // shared 2-D weights with beta 0 on a backend with the unit ops (ABI 1.2); otherwise the
    // whole gradient is written. Sorted, no repeats.
    const std::vector<int32_t>* fc1_rows = nullptr;
    const std::vector<int32_t>* fc2_cols = nullptr;
    // With those subsets: where defined, the subset's gradient goes here in compact form —
    // [rows, D] for fc1, [D, cols] for fc2, in the subset's order — and fc1_w / fc2_w are not
    // written at all (an editor that updates only these units reads them without a gather).
    Tensor fc1_w_units{}, fc2_w_units{};
    bool any() const;
};

struct MlpUnits;

// What the backward pass needs from the forward pass of one block.
struct BlockActivations {
    Tensor x;                    // block input [N, T, D]
    Tensor ln1, mean1, rstd1;    // [N*T, D], [N*T], [N*T]
    Tensor qkv;                  // [3, N, T, D]: q, k, v (token-major parts)
    Tensor probs;                // [N, heads, T, T]
    Tensor attn;                 // [N, T, D] attention output before proj
    Tensor x_mid;                // x + attention branch
    Tensor ln2, mean2, rstd2;
    Tensor hidden;               // fc1 output before GELU [N*T, H]
    Tensor act;                  // GELU output
    // Set by block_forward_mlp_units: hidden and act hold only these units' columns [N*T, |U|].
    const MlpUnits* units = nullptr;
};

struct BlockShape {
    int heads = 1;
    float ln_eps = 1e-6f;
};

// out = block(x). x and out: contiguous [N, T, D]; out must not alias x. When `acts` is given it
// receives what backward needs (x is kept by reference, so the caller must not overwrite it).
void block_forward(Backend& be, const BlockParams& p, const BlockShape& s, const Tensor& x,
                   const Tensor& out, BlockActivations* acts);

// The MLP half alone, from the attention half's outputs x_mid [N, T, D] and ln2 = LayerNorm2(x_mid)
// [N*T, D]: out = x_mid + fc2(gelu(fc1(ln2))). acts (optional) then serves a backward that stops
// at fc1 (x_mid and ln2 are kept by reference). Without acts (inference) GELU is fused into fc1.
void block_forward_mlp(Backend& be, const BlockParams& p, const Tensor& x_mid, const Tensor& ln2, const Tensor& out,
                       BlockActivations* acts);

// The MLP half of a block in which only some hidden units change: fc1 rows `rows1` and fc2
// columns `cols2` (the lowest block of an edit, whose other weights the editor may not write).
// What the other units add to the output never changes, so it is summed once into `base`, and a
// pass runs the changing units U = rows1 ∪ cols2 alone:
//     out = base + gelu(ln2 W1[U]ᵀ + b1[U]) W2[:, U]ᵀ,   base = x_mid + b2 + Σ_{j∉U} act_j W2[:, j]
// — 2·R·D·|U| multiply-adds instead of 2·R·D·H (a fifth at the paper's 10 % sparsity).
struct MlpUnits {
    std::vector<int32_t> units;       // U, sorted
    std::vector<int32_t> pos1, pos2;  // where rows1 and cols2 sit in U
    Tensor base;                      // [R, D]
    Tensor b1;                        // [|U|] fc1 bias of U (undefined when U is empty)
};
// Builds the constant part from the block's current weights (x_mid [N, T, D], ln2 [N*T, D]).
// rows1 / cols2: sorted, no repeats; shared 2-D weights and a backend with the unit ops.
MlpUnits mlp_units_prepare(Backend& be, const BlockParams& p, const Tensor& x_mid, const Tensor& ln2,
                           const std::vector<int32_t>& rows1, const std::vector<int32_t>& cols2);
// out = the MLP half's output, as block_forward_mlp gives it while only U changed since prepare.
// acts (optional) then serves block_backward for the fc1 rows / fc2 columns gradients (beta 0,
// with BlockGrads::fc1_rows / fc2_cols equal to rows1 / cols2 and nothing below fc1 wanted);
// `mu` must outlive them.
void block_forward_mlp_units(Backend& be, const BlockParams& p, const MlpUnits& mu, const Tensor& x_mid,
                             const Tensor& ln2, const Tensor& out, BlockActivations* acts);

// Backpropagates dout through the block: parameter gradients go to `grads` (accumulated with
// `beta`), and dx (if defined) receives the input gradient (overwritten). Work below what is
// needed (no dx and no lower parameter wanted) is skipped.
void block_backward(Backend& be, const BlockParams& p, const BlockShape& s, const BlockActivations& a,
                    const Tensor& dout, const BlockGrads& grads, float beta, const Tensor* dx);

// The block's output at token 0 only, for a classifier's last block (only the CLS row reaches the
// head): queries, attention, projection and MLP run for that row; keys and values still come from
// every token. out: [N, D]. The backward gives the input gradient only (no parameter gradients):
// dx [N, T, D] (overwritten) from dout [N, D]. Shared (not per-sample) weights.
struct ClsBlockActivations {
    Tensor x, ln1, mean1, rstd1;  // all tokens
    Tensor q, kv;                 // [N, D] CLS query, [2, N, T, D] keys and values
    Tensor probs;                 // [N, heads, 1, T]
    Tensor attn, x_mid, ln2, mean2, rstd2, hidden, act;  // CLS rows
};
void block_forward_cls(Backend& be, const BlockParams& p, const BlockShape& s, const Tensor& x, const Tensor& out,
                       ClsBlockActivations* acts);
void block_backward_cls(Backend& be, const BlockParams& p, const BlockShape& s, const ClsBlockActivations& a,
                        const Tensor& dout, const Tensor& dx);

// y = x @ w^T + b (b may be undefined): the linear layer, x [R, in], w [out, in], y [R, out]
// (Backend::linear_fwd: one fused op where the backend has it).
void linear_forward(Backend& be, const Tensor& x, const Tensor& w, const Tensor* b, const Tensor& y);

}  // namespace vitedit

/* vitedit — the backend interface: device memory plus every op a ViT needs forward and backward.
 *
 * A backend is a shared library (backends/<name>) exporting vitedit_query() with
 * kind == VE_KIND_BACKEND and entry -> ve_backend_entry. The engine (sdk/) drives it through the
 * ve_backend_ops table only; it never includes oneDNN, CUDA or LibTorch headers.
 *
 * Conventions shared by every op:
 *   - tensors are F32 unless stated; a backend may refuse other dtypes with VE_ERR_UNSUPPORTED;
 *   - "contiguous" means row-major dense strides; ops that say nothing about layout require it,
 *     gemm and copy accept arbitrary strides;
 *   - outputs never alias inputs unless the op says so;
 *   - ops may run asynchronously; download() and synchronize() wait for everything before them;
 *   - on failure an op returns a ve_status != VE_OK and last_error() says why, naming the op
 *     (the error convention of abi.h: per thread);
 *   - every core entry of ve_backend_ops is required (the host refuses a table with a NULL core
 *     entry, naming it); an op a backend cannot run for some arguments answers
 *     VE_ERR_UNSUPPORTED, reported by the engine with the op's and the backend's names;
 *   - optional capabilities are EXTENSIONS: tables fetched by name with get_extension (like
 *     ggml's get_proc_address); NULL means "not provided by this instance" — that answer is the
 *     capability query, the host never probes by running ops;
 *   - `beta` arguments accumulate: out = result + beta * out (beta = 0 overwrites, even NaNs);
 *   - optional outputs/inputs are NULL pointers when not wanted. */
#ifndef VITEDIT_BACKEND_H
#define VITEDIT_BACKEND_H

#include "vitedit/abi.h"
#include "vitedit/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Mask axis for the masked optimizer updates: a neuron is a row (fc1, H×D) or a column (fc2, D×H). */
enum { VE_MASK_ROWS = 0, VE_MASK_COLS = 1 };
/* Activation applied by linear_fwd after the bias (extension VE_EXT_LINEAR). */
enum { VE_ACT_NONE = 0, VE_ACT_GELU = 1 };

typedef struct ve_backend_ops {
    uint64_t struct_size;

    /* ---- lifetime, memory, errors -------------------------------------------------------- */
    void (*destroy)(void* ctx);
    ve_status (*alloc)(void* ctx, uint64_t bytes, ve_buffer* out);  /* contents undefined */
    void (*free)(void* ctx, ve_buffer buffer);
    ve_status (*upload)(void* ctx, ve_buffer dst, uint64_t offset, const void* src, uint64_t bytes);
    ve_status (*download)(void* ctx, ve_buffer src, uint64_t offset, void* dst, uint64_t bytes);
    ve_status (*synchronize)(void* ctx);
    /* Message of the last failure on the calling thread (abi.h's error convention). */
    const char* (*last_error)(void* ctx);
    /* The extension table called `name` (a VE_EXT_* below, or a backend's own
     * "<backend>.<name>"), or NULL when this instance does not provide it. The table begins with
     * its struct_size and lives as long as the instance. Cheap: the host asks once per instance. */
    const void* (*get_extension)(void* ctx, const char* name);

    /* ---- element-wise and data movement -------------------------------------------------- */
    /* dst = src, same shape, any strides (gathers/scatters views, e.g. the CLS row). */
    ve_status (*copy)(void* ctx, const ve_tensor* src, const ve_tensor* dst);
    /* dst[...] = value, contiguous. */
    ve_status (*fill)(void* ctx, const ve_tensor* dst, float value);
    /* y = alpha * x + beta * y, same shape, contiguous. (beta = 0 overwrites.) */
    ve_status (*axpby)(void* ctx, float alpha, const ve_tensor* x, float beta, const ve_tensor* y);
    /* out = a + b, same shape, contiguous; out may alias a or b (residual connections). */
    ve_status (*add)(void* ctx, const ve_tensor* a, const ve_tensor* b, const ve_tensor* out);

    /* ---- GEMM ---------------------------------------------------------------------------- */
    /* c = alpha * op(a) @ op(b) + beta * c, op(x) = x or x^T over the LAST TWO dims.
     * ndim 2..4, identical leading (batch) dims on a, b, c: this is the strided-batched form
     * used for attention heads (views into the q, k, v parts). Any strides. */
    ve_status (*gemm)(void* ctx, int32_t trans_a, int32_t trans_b, float alpha, const ve_tensor* a,
                      const ve_tensor* b, float beta, const ve_tensor* c);

    /* ---- bias ---------------------------------------------------------------------------- */
    /* y[r, c] += bias[c], y contiguous viewed as [rows, C], bias [C]. */
    ve_status (*bias_add)(void* ctx, const ve_tensor* y, const ve_tensor* bias);
    /* dbias[c] = sum_r dy[r, c] + beta * dbias[c]. */
    ve_status (*bias_grad)(void* ctx, const ve_tensor* dy, const ve_tensor* dbias, float beta);

    /* ---- LayerNorm over the last dim ----------------------------------------------------- */
    /* x, y: [R, C] (any ndim, last dim C); gamma, beta: [C]; mean, rstd: [R] or NULL. */
    ve_status (*layernorm_fwd)(void* ctx, const ve_tensor* x, const ve_tensor* gamma,
                               const ve_tensor* beta, float eps, const ve_tensor* y,
                               const ve_tensor* mean, const ve_tensor* rstd);
    /* From dy, x and the saved mean/rstd: dx = grad + dx_beta * dx (dx may be NULL);
     * dgamma/dbeta = grad + param_beta * old (either may be NULL). */
    ve_status (*layernorm_bwd)(void* ctx, const ve_tensor* dy, const ve_tensor* x,
                               const ve_tensor* gamma, const ve_tensor* mean, const ve_tensor* rstd,
                               const ve_tensor* dx, float dx_beta, const ve_tensor* dgamma,
                               const ve_tensor* dbeta, float param_beta);

    /* ---- GELU, exact: x * 0.5 * (1 + erf(x / sqrt(2))) ------------------------------------ */
    ve_status (*gelu_fwd)(void* ctx, const ve_tensor* x, const ve_tensor* y);
    ve_status (*gelu_bwd)(void* ctx, const ve_tensor* dy, const ve_tensor* x, const ve_tensor* dx);

    /* ---- softmax over the last dim of scale * x ------------------------------------------- */
    ve_status (*softmax_fwd)(void* ctx, const ve_tensor* x, float scale, const ve_tensor* y);
    /* dx = scale * y * (dy - sum(dy * y)) along the last dim. */
    ve_status (*softmax_bwd)(void* ctx, const ve_tensor* dy, const ve_tensor* y, float scale,
                             const ve_tensor* dx);

    /* ---- patch embedding (non-overlapping p×p patches) ------------------------------------ */
    /* images [N, C, H, W] -> cols [N, gh*gw, C*p*p], patches in row-major grid order, the
     * column index ordered (c, ky, kx) to match a conv weight [D, C, p, p] seen as [D, C*p*p].
     * Pixels beyond gh*p / gw*p are ignored. */
    ve_status (*im2col)(void* ctx, const ve_tensor* images, int32_t patch, const ve_tensor* cols);
    /* The adjoint: dimages = scatter(dcols) + beta * dimages (uncovered pixels get beta*old). */
    ve_status (*col2im)(void* ctx, const ve_tensor* dcols, int32_t patch, float beta,
                        const ve_tensor* dimages);

    /* ---- tokens: concat the CLS token in front of the patch tokens, add positions --------- */
    /* tokens[n, 0] = cls + pos[0]; tokens[n, 1 + i] = patches[n, i] + pos[1 + i].
     * patches [N, P, D], cls [D], pos [P + 1, D], tokens [N, P + 1, D]. */
    ve_status (*tokens_fwd)(void* ctx, const ve_tensor* patches, const ve_tensor* cls,
                            const ve_tensor* pos, const ve_tensor* tokens);
    /* dpatches = dtokens[:, 1:] (overwrite); dcls = sum_n dtokens[n, 0] + param_beta * dcls;
     * dpos = sum_n dtokens[n] + param_beta * dpos. Any output may be NULL. */
    ve_status (*tokens_bwd)(void* ctx, const ve_tensor* dtokens, const ve_tensor* dpatches,
                            const ve_tensor* dcls, const ve_tensor* dpos, float param_beta);

    /* ---- losses (logits [N, K]) ----------------------------------------------------------- */
    /* Cross-entropy against labels (host array of N int32, each in [0, K)) with label smoothing
     * s: target = (1 - s) * onehot + s / K. loss_out: host array of N per-sample losses (may be
     * NULL). dlogits (may be NULL) = grad_scale * (softmax(logits) - target). Synchronous. */
    ve_status (*cross_entropy)(void* ctx, const ve_tensor* logits, const int32_t* labels,
                               float label_smoothing, float* loss_out, const ve_tensor* dlogits,
                               float grad_scale);
    /* Temperature-scaled KL: loss_n = T^2 * sum_k p[n,k] * (log p[n,k] - log q[n,k]),
     * q = softmax(logits / T), p = target [N, K] (rows sum to 1; p = 0 terms contribute 0).
     * dlogits = grad_scale * T * (q - p). loss_out: host, N entries, may be NULL. Synchronous. */
    ve_status (*kl_div)(void* ctx, const ve_tensor* logits, const ve_tensor* target,
                        float temperature, float* loss_out, const ve_tensor* dlogits,
                        float grad_scale);

    /* ---- masked optimizer updates --------------------------------------------------------- *
     * w, g and the state tensors: contiguous, same shape, viewed as [R, C] (a 1-D parameter is
     * [1, C]). mask: NULL (every element) or a [R] (axis VE_MASK_ROWS) / [C] (VE_MASK_COLS)
     * tensor of values in [0, 1]. Semantics are PyTorch's with the gradient replaced by
     * g * mask before the update (so state decays where the mask is 0). */
    /* w -= lr * (g*mask + weight_decay * w) */
    ve_status (*sgd_step)(void* ctx, const ve_tensor* w, const ve_tensor* g, const ve_tensor* mask,
                          int32_t axis, float lr, float weight_decay);
    /* torch.optim.RMSprop (no momentum, not centered):
     * sq = alpha*sq + (1-alpha)*gm^2; w -= lr * gm / (sqrt(sq) + eps), gm = g*mask. */
    ve_status (*rmsprop_step)(void* ctx, const ve_tensor* w, const ve_tensor* g,
                              const ve_tensor* sq, const ve_tensor* mask, int32_t axis, float lr,
                              float alpha, float eps);
    /* torch.optim.AdamW (weight_decay = 0 gives Adam); step counts from 1:
     * w *= 1 - lr*wd; m = b1*m + (1-b1)*gm; v = b2*v + (1-b2)*gm^2;
     * w -= lr/(1-b1^step) * m / (sqrt(v)/sqrt(1-b2^step) + eps). Decay applies to masked
     * elements only when a mask is given (unmasked parameters are frozen). */
    ve_status (*adam_step)(void* ctx, const ve_tensor* w, const ve_tensor* g, const ve_tensor* m,
                           const ve_tensor* v, const ve_tensor* mask, int32_t axis, float lr,
                           float beta1, float beta2, float eps, float weight_decay, int64_t step);

} ve_backend_ops;

/* ---- extensions (get_extension) ------------------------------------------------------------ */

/* Regularized fine-tuning (the FT-L1 / FT-L2 editors). */
#define VE_EXT_PENALTY "vitedit.penalty"
typedef struct ve_ext_penalty {
    uint64_t struct_size;
    /* g += c * d/dw |w - w0|^p, element-wise, p = 1 (c * sign(w - w0), 0 where equal) or
     * p = 2 (2c * (w - w0)). w, w0, g: contiguous, same shape. */
    ve_status (*penalty_grad)(void* ctx, const ve_tensor* w, const ve_tensor* w0, const ve_tensor* g,
                              float c, int32_t p);
} ve_ext_penalty;

/* Selected rows or columns: the masked neurons' weights and gradients in compact form, so an
 * edit step touches only the units that move. */
#define VE_EXT_UNITS "vitedit.units"
typedef struct ve_ext_units {
    uint64_t struct_size;
    /* src, dst: contiguous 2-D. index: host array of `count` int32, each in range, no repeats.
     * gather:  axis VE_MASK_ROWS: dst [count, C] = src[index[i], :];
     *          axis VE_MASK_COLS: dst [R, count] = src[:, index[i]].
     * scatter: the placement back: dst[index[i], :] = src[i, :] (rows) or
     *          dst[:, index[i]] = src[:, i] (columns); every other element of dst is left as is. */
    ve_status (*gather_units)(void* ctx, const ve_tensor* src, int32_t axis, const int32_t* index,
                              int64_t count, const ve_tensor* dst);
    ve_status (*scatter_units)(void* ctx, const ve_tensor* src, int32_t axis, const int32_t* index,
                               int64_t count, const ve_tensor* dst);
} ve_ext_units;

/* A linear layer's forward in one call. */
#define VE_EXT_LINEAR "vitedit.linear"
typedef struct ve_ext_linear {
    uint64_t struct_size;
    /* y = act(x @ w^T + bias): x [R, K] (any strides gemm accepts), w [N, K] (likewise), bias [N]
     * contiguous or NULL, y [R, N] contiguous and not overlapping x or w; act VE_ACT_NONE or
     * VE_ACT_GELU (exact erf). The result of gemm, bias_add and gelu_fwd in turn, without their
     * extra passes over y (a backend fuses the bias and the activation into the product). */
    ve_status (*linear_fwd)(void* ctx, const ve_tensor* x, const ve_tensor* w, const ve_tensor* bias,
                            int32_t act, const ve_tensor* y);
} ve_ext_linear;

/* A created backend instance. */
typedef struct ve_backend {
    uint64_t struct_size;
    void* ctx;
    const ve_backend_ops* ops;
} ve_backend;

struct ve_host_api;

/* The kind-specific table a backend's ve_plugin_info.entry points to. */
typedef struct ve_backend_entry {
    uint64_t struct_size;
    /* Can this backend run here? VE_OK with *score > 0 if so (higher = preferred when the user
     * names none); VE_ERR_UNAVAILABLE (no driver, no device, missing ISA, ...) with the reason
     * in last_error(NULL). Cheap, no device state kept. */
    ve_status (*probe)(int32_t* score);
    /* Create an instance. config: "key=value,..." or NULL. On failure returns != VE_OK, the
     * message in last_error(NULL). The instance is freed with out->ops->destroy(ctx). */
    ve_status (*create)(const struct ve_host_api* host, const char* config, ve_backend* out);
    /* The calling thread's last failure of probe or create (ctx: NULL). */
    const char* (*last_error)(void* ctx);
} ve_backend_entry;

#ifdef __cplusplus
}
#endif

#endif

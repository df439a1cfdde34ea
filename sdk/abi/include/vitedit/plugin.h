/* vitedit — locator and editor plugins: their entry tables and the edit session they work in.
 *
 * A locator decides WHERE to edit: a score (or a ready binary mask) for every structured unit of
 * every edit site. An editor decides HOW: it changes the masked units of the site weights until
 * the edit images are classified as their labels. Both see the model only through
 * ve_edit_session, a table of host services bound to one edit: the sites, the edit images and
 * labels, device tensors of the live site weights, their gradients and masks, and the backend
 * that owns them (so an editor's optimizer steps run on the device, next to the weights).
 *
 * Keys every locator accepts, handled by the host: sparsity (fraction of all site units kept when
 * the host binarizes scores with a global top-k) and seed. Every other key of a plugin's config
 * ("key=value,...") is the plugin's to validate; an unknown key must fail create() with a message
 * listing the keys it knows. */
#ifndef VITEDIT_PLUGIN_H
#define VITEDIT_PLUGIN_H

#include "vitedit/abi.h"
#include "vitedit/backend.h"
#include "vitedit/host_api.h"
#include "vitedit/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The structured unit of an edit site (docs/method.md): a neuron row (fc1, H×D), a neuron column
 * (fc2, D×H) or an attention head (a block of rows of qkv / columns of proj). Kept general so a
 * locator over heads needs no ABI change. */
enum { VE_UNIT_ROW = 0, VE_UNIT_COL = 1, VE_UNIT_HEAD = 2 };
/* The gradient form of a site (ve_edit_session.select_grad_form). */
enum { VE_GRAD_FULL = 0, VE_GRAD_UNITS = 1 };

typedef struct ve_site {
    uint64_t struct_size;
    const char* name;   /* parameter name, e.g. "blocks.7.mlp.fc1.weight" */
    int32_t block;      /* transformer block index */
    int32_t unit;       /* VE_UNIT_* */
    int64_t rows;
    int64_t cols;
    int64_t units;      /* entries of this site's mask */
} ve_site;

/* Result of evaluating the current (possibly edited) model on the edit images. */
typedef struct ve_edit_eval {
    uint64_t struct_size;
    float loss;            /* mean cross-entropy against the labels */
    int32_t num_correct;   /* edit images whose top-1 is their label */
    int32_t num_images;
} ve_edit_eval;

typedef struct ve_edit_session {
    uint64_t struct_size;
    void* session;
    const ve_backend* backend;  /* owns every tensor below; run ops with backend->ops */
    int32_t num_sites;
    int32_t num_images;
    int32_t num_classes;
    int32_t feature_dim;        /* width of the CLS feature */
    const int32_t* labels;      /* [num_images] target labels */
    uint64_t seed;              /* the run's seed (key `seed`) */
    const char* model_id;       /* content hash of the original model (checkpoint compatibility) */
    const char* model_path;     /* the model file, "" when not from a file (companion files) */

    /* Every call below follows abi.h: a status, the message in last_error(session) on the same
     * thread; outputs (ve_site, ve_edit_eval) are written up to the caller's struct_size. */
    ve_status (*get_site)(void* session, int32_t index, ve_site* out);
    /* Device tensors of site `index`: the live weight (edit it in place), the weight before the
     * edit (read-only), the gradient buffer `evaluate` fills, and the binary mask [units] the host
     * chose (valid in editors; zero in locators). */
    ve_status (*site_weight)(void* session, int32_t index, ve_tensor* out);
    ve_status (*site_original)(void* session, int32_t index, ve_tensor* out);
    ve_status (*site_grad)(void* session, int32_t index, ve_tensor* out);
    ve_status (*site_mask)(void* session, int32_t index, ve_tensor* out);
    /* Forward the current model on the edit images; with want_grads, also the gradients of the mean
     * cross-entropy with respect to every site weight, in the form select_grad_form chose for
     * each site (VE_GRAD_FULL unless an editor asked otherwise). Once the masks are set
     * (editors), only the masked units' gradients are computed: in the full form the other
     * units of site_grad hold zero, or their true gradient on a backend without VE_EXT_UNITS.
     * Editors multiply by the mask anyway. */
    ve_status (*evaluate)(void* session, int32_t want_grads, ve_edit_eval* out);
    /* Host copies: logits [num_images, num_classes] of the last evaluate; the ORIGINAL model's
     * final CLS features [num_images, feature_dim] (what the hypernetwork reads). */
    ve_status (*logits)(void* session, float* out);
    ve_status (*features)(void* session, float* out);
    const char* (*last_error)(void* session);

    /* Which gradient `evaluate` writes for site `index`, for the rest of this edit:
     *   VE_GRAD_FULL   site_grad, the weight's shape (the default);
     *   VE_GRAD_UNITS  site_grad_units only: the masked units' gradient in compact form,
     *                  [count, cols] for a row site, [rows, count] for a column site, units in the
     *                  order of the mask's nonzero entries (an editor that updates only the masked
     *                  units then neither scatters nor gathers the gradient every step).
     * VE_ERR_UNSUPPORTED where the host cannot give VE_GRAD_UNITS (no masks yet, a backend
     * without VE_EXT_UNITS, a site that is not an FFN weight): the form stays VE_GRAD_FULL. */
    ve_status (*select_grad_form)(void* session, int32_t index, int32_t form);
    /* The compact gradient tensor of a site whose form is VE_GRAD_UNITS (VE_ERR_INVALID
     * otherwise). Reading it changes nothing. */
    ve_status (*site_grad_units)(void* session, int32_t index, ve_tensor* out);
} ve_edit_session;

/* An instance created from a config string. */
typedef struct ve_plugin_instance {
    uint64_t struct_size;
    void* ctx;
} ve_plugin_instance;

typedef struct ve_locator_entry {
    uint64_t struct_size;
    /* config: the plugin's own keys ("key=value,..."), never NULL. On failure returns != VE_OK,
     * the message in last_error(NULL). */
    ve_status (*create)(const ve_host_api* host, const char* config, ve_plugin_instance* out);
    void (*destroy)(void* ctx);
    /* Fill scores[i] (site i's `units` floats, host memory). Set *binary = 1 when the scores are
     * already the mask to use (values 0/1, e.g. `all`); else the host keeps the top `sparsity`
     * fraction of all units across sites. */
    ve_status (*locate)(void* ctx, const ve_edit_session* session, float* const* scores,
                        int32_t* binary);
    /* The calling thread's last failure (ctx NULL after a failed create). */
    const char* (*last_error)(void* ctx);
} ve_locator_entry;

typedef struct ve_edit_report {
    uint64_t struct_size;
    int32_t steps;     /* optimizer steps taken */
    float loss;        /* final mean loss on the edit images */
    int32_t success;   /* every edit image classified as its label */
} ve_edit_report;

typedef struct ve_editor_entry {
    uint64_t struct_size;
    ve_status (*create)(const ve_host_api* host, const char* config, ve_plugin_instance* out);
    void (*destroy)(void* ctx);
    /* Edit the session's site weights in place, changing only masked units (the host checks
     * after the edit: one that changed anything else is refused and the model restored). The
     * report is written up to report->struct_size, which the host sets. */
    ve_status (*edit)(void* ctx, const ve_edit_session* session, ve_edit_report* report);
    const char* (*last_error)(void* ctx);
} ve_editor_entry;

#ifdef __cplusplus
}
#endif

#endif

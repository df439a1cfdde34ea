/* Locator `gradnorm`, written in C against the C ABI alone (vitedit/plugin.h): a unit's score is
 * the squared L2 norm of the edit loss's gradient over its row (fc1) or column (fc2) — how
 * steeply the loss falls if that neuron moves. The host keeps the top `sparsity` of them.
 *
 * It shows everything a C plugin owes the host (vitedit/abi.h): a plain exported vitedit_query,
 * statuses with a per-thread message behind last_error, struct_size set on every struct it
 * hands over, and a config refused when it holds a key this locator does not know. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vitedit/plugin.h"

static _Thread_local char g_error[512];

static ve_status fail(ve_status status, const char* what) {
    snprintf(g_error, sizeof g_error, "gradnorm: %s", what);
    return status;
}

static const char* last_error(void* ctx) {
    (void)ctx;
    return g_error;
}

/* No options of its own: anything in config is a mistake worth reporting. */
static ve_status create(const ve_host_api* host, const char* config, ve_plugin_instance* out) {
    (void)host;
    if (config && config[0] != '\0') {
        snprintf(g_error, sizeof g_error, "unknown option '%s'; known options: none", config);
        return VE_ERR_INVALID;
    }
    out->ctx = NULL; /* stateless: the host passes ctx back, we never read it */
    return VE_OK;
}

static void destroy(void* ctx) { (void)ctx; }

static ve_status locate(void* ctx, const ve_edit_session* s, float* const* scores, int32_t* binary) {
    (void)ctx;
    ve_edit_eval eval;
    memset(&eval, 0, sizeof eval);
    eval.struct_size = sizeof eval;
    if (s->evaluate(s->session, 1, &eval) != VE_OK) return fail(VE_ERR_INTERNAL, s->last_error(s->session));
    for (int32_t i = 0; i < s->num_sites; ++i) {
        ve_site site;
        memset(&site, 0, sizeof site);
        site.struct_size = sizeof site;
        ve_tensor grad;
        if (s->get_site(s->session, i, &site) != VE_OK || s->site_grad(s->session, i, &grad) != VE_OK)
            return fail(VE_ERR_INTERNAL, s->last_error(s->session));
        if (site.unit != VE_UNIT_ROW && site.unit != VE_UNIT_COL) return fail(VE_ERR_UNSUPPORTED, "only row and column sites");
        const size_t n = (size_t)(site.rows * site.cols);
        float* g = malloc(n * sizeof *g);
        if (!g) return fail(VE_ERR_OOM, "out of memory");
        const ve_backend* be = s->backend;
        /* The gradient lives on the backend's device: copy it to the host (contiguous). */
        if (be->ops->download(be->ctx, grad.buffer, grad.offset, g, n * sizeof *g) != VE_OK) {
            free(g);
            return fail(VE_ERR_INTERNAL, be->ops->last_error(be->ctx));
        }
        float* sc = scores[i];
        memset(sc, 0, (size_t)site.units * sizeof *sc);
        for (int64_t r = 0; r < site.rows; ++r)
            for (int64_t c = 0; c < site.cols; ++c) {
                const float v = g[r * site.cols + c];
                sc[site.unit == VE_UNIT_COL ? c : r] += v * v;
            }
        free(g);
    }
    *binary = 0;
    return VE_OK;
}

static const ve_locator_entry entry = {sizeof(ve_locator_entry), &create, &destroy, &locate, &last_error};
static const ve_plugin_info info = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR, VITEDIT_ABI_MINOR, VE_KIND_LOCATOR,
                                    "gradnorm", "sample in C: neurons ranked by the squared norm of their edit-loss gradient",
                                    "1.0", &entry};

VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void) { return &info; }

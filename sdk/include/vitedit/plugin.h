/* vitedit — locator and editor plugin entry points (first draft; issue "Locate, then edit"
 * finalizes the edit-session services).
 *
 * A locator decides WHERE to edit: per-unit scores over the edit sites. An editor decides HOW:
 * it changes only the masked units. Both see the model only through ve_edit_session, a table
 * of host services bound to one edit (model, edit images, labels, sites). */
#ifndef VITEDIT_PLUGIN_H
#define VITEDIT_PLUGIN_H

#include "vitedit/abi.h"
#include "vitedit/host_api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The structured unit of an edit site (DESIGN.md §4.2): a neuron row (fc1), a neuron column
 * (fc2) or an attention head. Kept general so new locators need no ABI change. */
enum { VE_UNIT_ROW = 0, VE_UNIT_COL = 1, VE_UNIT_HEAD = 2 };

typedef struct ve_site {
    uint64_t struct_size;
    const char* name;   /* parameter name, e.g. "blocks.7.mlp.fc1.weight" */
    int32_t unit;       /* VE_UNIT_* */
    int64_t rows;
    int64_t cols;
    int64_t units;      /* number of units the mask of this site has */
} ve_site;

/* Services of one edit, provided by the host. Gradients and scores are host float arrays. */
typedef struct ve_edit_session {
    uint64_t struct_size;
    void* session;
    int32_t (*num_sites)(void* session);
    ve_status (*get_site)(void* session, int32_t index, ve_site* out);
    int32_t (*num_images)(void* session);
    int32_t (*num_classes)(void* session);
    /* Logits [num_images, num_classes] of the current model on the edit images. */
    ve_status (*forward)(void* session, float* logits);
    /* Mean cross-entropy of the edit images against their labels, and its gradient with
     * respect to each site's weight (site_grads[i]: rows*cols floats, NULL to skip a site). */
    ve_status (*site_gradients)(void* session, float* loss, float* const* site_grads);
    /* Read/write a site's weight (rows*cols floats, row-major). */
    ve_status (*read_site)(void* session, int32_t index, float* out);
    ve_status (*write_site)(void* session, int32_t index, const float* in);
    const char* (*last_error)(void* session);
} ve_edit_session;

/* An instance created from a config string ("key=value,..."). */
typedef struct ve_plugin_instance {
    uint64_t struct_size;
    void* ctx;
} ve_plugin_instance;

typedef struct ve_locator_entry {
    uint64_t struct_size;
    ve_status (*create)(const ve_host_api* host, const char* config, ve_plugin_instance* out,
                        char* err, uint64_t err_len);
    void (*destroy)(void* ctx);
    /* scores[i]: site i's units floats in [0, 1]; the host binarizes at the sparsity budget. */
    ve_status (*locate)(void* ctx, const ve_edit_session* session, float* const* scores);
    const char* (*last_error)(void* ctx);
} ve_locator_entry;

typedef struct ve_edit_report {
    uint64_t struct_size;
    int32_t steps;
    float loss;
    int32_t success;
} ve_edit_report;

typedef struct ve_editor_entry {
    uint64_t struct_size;
    ve_status (*create)(const ve_host_api* host, const char* config, ve_plugin_instance* out,
                        char* err, uint64_t err_len);
    void (*destroy)(void* ctx);
    /* masks[i]: site i's units floats, 1 = editable. */
    ve_status (*edit)(void* ctx, const ve_edit_session* session, const float* const* masks,
                      ve_edit_report* report);
    const char* (*last_error)(void* ctx);
} ve_editor_entry;

#ifdef __cplusplus
}
#endif

#endif

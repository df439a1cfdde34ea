/* vitedit — the C boundary's common vocabulary: ABI version, status codes, the error convention,
 * the entry point every library exports.
 *
 * Everything that crosses a shared-library boundary in vitedit is plain C (docs/versioning.md):
 * structs of function pointers that begin with their own size, opaque contexts, and integer
 * status codes. This folder (sdk/abi) is C only: a C compiler builds a plugin from it alone.
 *
 * THE ERROR CONVENTION (every table, both directions):
 *   - a call that can fail returns ve_status; VE_OK is success;
 *   - after a failure, the table's last_error(ctx) returns the message, on the same thread,
 *     until the next call into that library from that thread. Messages are kept per thread, so
 *     two threads using one instance never read each other's message. ctx may be NULL (a create
 *     or probe that failed before there was an instance): the message is the thread's last;
 *   - nothing else carries errors: no out-buffers, no errno.
 *
 * OUTPUT STRUCTS: a struct a callee fills (ve_site, ve_edit_eval, ve_edit_report, ...) starts
 * with struct_size, set by the CALLER to the size it was built with; the callee writes no byte
 * past it (an older caller gets the members it knows, a newer one keeps its zeroed tail). */
#ifndef VITEDIT_ABI_H
#define VITEDIT_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ABI major: must match exactly between host and plugin. Bumped when a shipped struct member
 * moves, changes type or meaning, or an entry is removed.
 * ABI minor: grows when members are appended to the end of a table. Every table starts with its
 * struct_size; the host reads only members within the size the plugin declared and treats the
 * rest as absent (zero); a NULL optional entry means "not provided". See docs/versioning.md.
 *
 * History (append a line with every bump):
 *   1.0  the first stable ABI: ve_plugin_info, ve_backend_entry, ve_backend_ops up to kl_div and
 *        the sgd/rmsprop/adam steps, ve_host_api, ve_locator_entry, ve_editor_entry,
 *        ve_edit_session, ve_site, ve_edit_eval, ve_edit_report.
 *   1.1  ve_backend_ops.penalty_grad appended (FT-L1/L2 editors); a 1.0 backend lacks it and
 *        vitedit::Backend::penalty_grad reports it as unsupported by name.
 *   1.2  ve_backend_ops.gather_units / scatter_units appended (weight gradients for the masked
 *        neurons only); the engine computes whole gradients on a backend without them.
 *   1.3  ve_backend_ops.linear_fwd appended (a linear layer with its bias and GELU fused into
 *        the product); vitedit::Backend runs gemm, bias_add and gelu_fwd on a backend without it.
 *        ve_edit_session.site_grad_units appended (the masked units' gradient in compact form);
 *        an editor on an older host reads site_grad.
 *   2.0  the C boundary in substance (docs/versioning.md, "Migrating from 1.x"):
 *        - vitedit_query is a plain exported C function (1.x: a Boost.DLL data alias);
 *        - one error convention: last_error(ctx) per thread on every table; create() and probe()
 *          lose their message buffers (ve_backend_entry, ve_locator_entry and ve_editor_entry
 *          gain last_error);
 *        - callees write output structs only up to the caller's struct_size;
 *        - ve_backend_ops is the stable core (the 1.0 ops) plus get_extension(ctx, name): the
 *          1.1-1.3 ops moved into named extension tables (VE_EXT_PENALTY, VE_EXT_UNITS,
 *          VE_EXT_LINEAR); a NULL answer is the capability query (no probing by running ops);
 *        - ve_backend_entry.probe returns a status and writes the score;
 *        - ve_edit_session.select_grad_form makes the compact unit gradient an explicit choice
 *          (1.3: the first site_grad_units call switched it). */
#define VITEDIT_ABI_MAJOR 2
#define VITEDIT_ABI_MINOR 0

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t ve_status;
enum {
    VE_OK = 0,
    VE_ERR_UNSUPPORTED = 1, /* the op or argument combination is not implemented here */
    VE_ERR_INVALID = 2,     /* bad argument: shapes, strides, dtypes, NULLs */
    VE_ERR_OOM = 3,         /* allocation failed */
    VE_ERR_UNAVAILABLE = 4, /* the device/runtime is not usable on this machine */
    VE_ERR_INTERNAL = 5     /* anything else; the message says what */
};

/* What a shared library provides. */
typedef enum ve_plugin_kind {
    VE_KIND_BACKEND = 1,
    VE_KIND_LOCATOR = 2,
    VE_KIND_EDITOR = 3
} ve_plugin_kind;

/* The one thing every vitedit library exports, a plain C function named VITEDIT_QUERY_SYMBOL:
 *     VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void) { return &info; }
 * It must not allocate, start threads or touch a device: the host calls it on every library
 * it finds, to list them. `entry` points to the kind's table (ve_backend_entry,
 * ve_locator_entry or ve_editor_entry); its layout is only trusted when abi_major matches. */
typedef struct ve_plugin_info {
    uint64_t struct_size;   /* sizeof(ve_plugin_info) as the plugin was built */
    uint32_t abi_major;     /* VITEDIT_ABI_MAJOR the plugin was built against */
    uint32_t abi_minor;     /* VITEDIT_ABI_MINOR the plugin was built against */
    int32_t kind;           /* ve_plugin_kind */
    const char* name;       /* short unique name within its kind, e.g. "onednn", "saliency" */
    const char* description;/* one line for `vitedit plugins` */
    const char* version;    /* the plugin's own version string */
    const void* entry;      /* kind-specific entry table */
} ve_plugin_info;

#define VITEDIT_QUERY_SYMBOL "vitedit_query"

#if defined(_WIN32)
#define VITEDIT_EXPORT __declspec(dllexport)
#else
#define VITEDIT_EXPORT __attribute__((visibility("default")))
#endif

/* Declared here so that a plugin's definition is checked against it; the host never calls it
 * by name (it looks it up in each library it loads). */
VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void);

#ifdef __cplusplus
}
#endif

#endif

/* vitedit — host services handed to every plugin and backend at create time.
 *
 * Plugins do not link the host: whatever they need from it arrives through this table
 * (docs/versioning.md), so a plugin binary does not depend on the host's build. */
#ifndef VITEDIT_HOST_API_H
#define VITEDIT_HOST_API_H

#include "vitedit/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { VE_LOG_DEBUG = 0, VE_LOG_INFO = 1, VE_LOG_WARN = 2, VE_LOG_ERROR = 3 };

typedef struct ve_host_api {
    uint64_t struct_size;
    uint32_t abi_major;
    uint32_t abi_minor;
    void* host;  /* opaque, passed back to every call */
    void (*log)(void* host, int32_t level, const char* message);
    /* Report progress of a long job: `done` out of `total` units of `task`. */
    void (*progress)(void* host, const char* task, double done, double total);
} ve_host_api;

#ifdef __cplusplus
}
#endif

#endif

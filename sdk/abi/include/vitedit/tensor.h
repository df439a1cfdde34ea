/* vitedit — tensor descriptors: how a tensor crosses the backend boundary.
 *
 * A descriptor is a view: a backend-owned buffer, a byte offset into it, a dtype, a shape and
 * strides (in elements). Descriptors are passed by pointer and never retained by a backend
 * beyond the call. Up to 4 dimensions: enough for [batch, heads, rows, cols] attention views. */
#ifndef VITEDIT_TENSOR_H
#define VITEDIT_TENSOR_H

#include "vitedit/abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handle to a backend allocation; only the backend that made it may interpret it. */
typedef struct ve_buffer_t* ve_buffer;

typedef enum ve_dtype {
    VE_F32 = 0,
    VE_BF16 = 1,
    VE_I32 = 2
} ve_dtype;

#define VE_MAX_DIMS 4

typedef struct ve_tensor {
    ve_buffer buffer;
    uint64_t offset;                /* bytes from the start of buffer to element [0,...,0] */
    int32_t dtype;                  /* ve_dtype */
    int32_t ndim;                   /* 1..VE_MAX_DIMS */
    int64_t shape[VE_MAX_DIMS];     /* entries past ndim are ignored */
    int64_t stride[VE_MAX_DIMS];    /* in elements; may be any non-negative value (views) */
} ve_tensor;

#ifdef __cplusplus
}
#endif

#endif

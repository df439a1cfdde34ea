// Validated F32 views of ve_tensor descriptors (device addresses), and the argument checks every
// op shares. Every check throws vitedit::author::Invalid (or Unsupported for another dtype) with
// a message that names the argument and prints its shape and strides.
#pragma once

#include <cstdint>
#include <string>

#include "vitedit/tensor.h"

namespace vitedit::cuda {

class DeviceMemory;

struct View {
    const char* name = "";
    float* data = nullptr;  // device address of element [0, ..., 0]
    int nd = 0;
    int64_t shape[VE_MAX_DIMS] = {0, 0, 0, 0};
    int64_t stride[VE_MAX_DIMS] = {0, 0, 0, 0};
    int64_t numel = 0;

    int64_t last() const { return shape[nd - 1]; }
    int64_t rows() const { return last() == 0 ? 0 : numel / last(); }
    bool contiguous() const;
};

// "x [3,5,7] strides [35,7,1]"
std::string describe(const View& v);

// Checks dtype (F32), ndim (1..4), non-negative shape and strides, a known buffer, an aligned
// offset and that every addressed element lies inside the allocation.
View make_view(const DeviceMemory& memory, const ve_tensor* t, const char* name);

void require_contiguous(const View& v);
void require_ndim(const View& v, int lo, int hi);
void require_same_shape(const View& a, const View& b);
// A parameter-like vector: contiguous with `n` elements (any shape, e.g. [C] or [1, 1, C]).
void require_vector(const View& v, int64_t n, const char* meaning);
// No dim of size > 1 with stride 0 (an output whose elements would overlap).
void require_no_zero_stride(const View& v, const char* role);
[[noreturn]] void fail(const std::string& message);

}  // namespace vitedit::cuda

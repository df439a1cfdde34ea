// The SDK's validated tensor views (vitedit/tensor_view.hpp), bound to this backend's memory.
#pragma once

#include "vitedit/tensor_view.hpp"

namespace vitedit::onednn {

class BufferRegistry;

using author::describe;
using author::fail;
using author::require_contiguous;
using author::require_ndim;
using author::require_no_zero_stride;
using author::require_same_shape;
using author::require_vector;
using author::View;

// author::make_view over this backend's allocations: the buffer must be known and the view's
// extent inside it.
View make_view(const BufferRegistry& registry, const ve_tensor* t, const char* name);

}  // namespace vitedit::onednn

// Turns oneDNN exceptions into the backend's exception types with a readable message.
#pragma once

#include <string>

#include <dnnl.hpp>

namespace vitedit::onednn {

// dnnl_unimplemented becomes author::Unsupported; anything else a std::runtime_error.
// `what` says what was being done, e.g. "creating the matmul for a [64,32] x [32,48]".
[[noreturn]] void rethrow_dnnl(const dnnl::error& e, const std::string& what);

}  // namespace vitedit::onednn

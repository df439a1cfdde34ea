#include "dnnl_errors.hpp"

#include <stdexcept>

#include <dnnl_debug.h>

#include "vitedit/backend_author.hpp"

namespace vitedit::onednn {

void rethrow_dnnl(const dnnl::error& e, const std::string& what) {
    std::string msg = what + ": oneDNN status " + dnnl_status2str(e.status) + " (" + e.what() + ")";
    if (e.status == dnnl_unimplemented) throw author::Unsupported(msg);
    if (e.status == dnnl_out_of_memory) throw std::bad_alloc();
    throw std::runtime_error(msg);
}

}  // namespace vitedit::onednn

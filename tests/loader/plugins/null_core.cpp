// A backend whose op table leaves a core op (gemm) NULL: every core op is required, so the host
// must refuse to create it, naming the op, instead of failing at the first product.
#include "host_memory_backend.hpp"

namespace {
const ve_backend_ops* ops() {
    static const ve_backend_ops o = [] {
        ve_backend_ops t = *vitedit::author::backend_ops();
        t.gemm = nullptr;
        return t;
    }();
    return &o;
}
ve_status create(const ve_host_api*, const char*, ve_backend* out) noexcept {
    out->struct_size = sizeof(ve_backend);
    out->ctx = static_cast<vitedit::author::BackendBase*>(new HostMemoryBackend("nullcore"));
    out->ops = ops();
    return VE_OK;
}
const ve_backend_entry entry = {sizeof(ve_backend_entry), &always_usable, &create, &vitedit::boundary::thread_error_entry};
const ve_plugin_info info = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR, VITEDIT_ABI_MINOR, VE_KIND_BACKEND,
                             "nullcore", "a core op left NULL", "1.0", &entry};
}  // namespace
extern "C" VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void) { return &info; }

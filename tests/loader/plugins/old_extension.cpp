// A backend whose VE_EXT_UNITS table is older than the host's (its struct_size ends before
// scatter_units) and that provides no VE_EXT_PENALTY. The host must treat the unit ops as
// absent — never reading the member past struct_size, which here holds a decoy that "succeeds"
// — and report penalty_grad as unsupported by name.
#include <cstddef>

#include "host_memory_backend.hpp"

namespace {

const ve_ext_units* old_units() {
    static const ve_ext_units units = [] {
        ve_ext_units u{};
        u.struct_size = offsetof(ve_ext_units, scatter_units);
        u.gather_units = [](void*, const ve_tensor*, int32_t, const int32_t*, int64_t, const ve_tensor*) noexcept {
            return static_cast<ve_status>(VE_OK);
        };
        u.scatter_units = u.gather_units;  // the decoy past struct_size
        return u;
    }();
    return &units;
}

const ve_backend_ops* ops() {
    static const ve_backend_ops o = [] {
        ve_backend_ops t = *vitedit::author::backend_ops();
        t.get_extension = [](void*, const char* name) noexcept -> const void* {
            return std::string(name) == VE_EXT_UNITS ? old_units() : nullptr;
        };
        return t;
    }();
    return &o;
}

ve_status create(const ve_host_api*, const char*, ve_backend* out) noexcept {
    out->struct_size = sizeof(ve_backend);
    out->ctx = static_cast<vitedit::author::BackendBase*>(new HostMemoryBackend("oldext"));
    out->ops = ops();
    return VE_OK;
}
const ve_backend_entry entry = {sizeof(ve_backend_entry), &always_usable, &create, &vitedit::boundary::thread_error_entry};
const ve_plugin_info info = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR, VITEDIT_ABI_MINOR, VE_KIND_BACKEND,
                             "oldext", "an older VE_EXT_UNITS table, no VE_EXT_PENALTY", "1.0", &entry};
}  // namespace
extern "C" VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void) { return &info; }

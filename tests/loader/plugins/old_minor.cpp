// A backend built as if against ABI 1.0, the minor before ve_backend_ops.penalty_grad was
// appended: its info says minor 0 and its op table's struct_size ends where penalty_grad begins.
// The host must load it, run its 1.0 ops, and report penalty_grad as unsupported by name —
// without reading the member past struct_size (which here holds a decoy that "succeeds").
#include <cstddef>

#include "host_memory_backend.hpp"

namespace {

// The table as a 1.0 plugin has it: everything up to, not including, penalty_grad.
const ve_backend_ops* old_ops() {
    static const ve_backend_ops ops = [] {
        ve_backend_ops o = *vitedit::author::backend_ops();
        o.struct_size = offsetof(ve_backend_ops, penalty_grad);
        o.penalty_grad = [](void*, const ve_tensor*, const ve_tensor*, const ve_tensor*, float, int32_t) noexcept {
            return static_cast<ve_status>(VE_OK);  // a host that reads past struct_size "succeeds" here
        };
        return o;
    }();
    return &ops;
}

ve_status create(const ve_host_api*, const char*, ve_backend* out, char*, uint64_t) noexcept {
    out->struct_size = sizeof(ve_backend);
    out->ctx = static_cast<vitedit::author::BackendBase*>(new HostMemoryBackend("oldminor"));
    out->ops = old_ops();
    return VE_OK;
}
const ve_backend_entry entry = {sizeof(ve_backend_entry), &always_usable, &create};
const ve_plugin_info info = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR, 0, VE_KIND_BACKEND,
                             "oldminor", "built against ABI 1.0 (no penalty_grad)", "1.0", &entry};
const ve_plugin_info* query() { return &info; }
}  // namespace
BOOST_DLL_ALIAS(query, vitedit_query)

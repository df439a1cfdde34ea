// A backend built against a newer minor of the same major: its info says minor
// VITEDIT_ABI_MINOR + 1 and its entry and op tables carry a member this host does not know,
// appended after the ones it does. The host must load it and use the members it knows.
#include "host_memory_backend.hpp"

namespace {

// The tables as the next minor would declare them: this SDK's members, then a new one.
struct next_backend_ops {
    ve_backend_ops known;
    ve_status (*future_op)(void* ctx, float x);
};
struct next_backend_entry {
    ve_backend_entry known;
    ve_status (*future_probe_detail)(int32_t* out);
};

const ve_backend_ops* next_ops() {
    static const next_backend_ops ops = [] {
        next_backend_ops o{};
        o.known = *vitedit::author::backend_ops();
        o.known.struct_size = sizeof(next_backend_ops);
        o.future_op = [](void*, float) noexcept { return static_cast<ve_status>(VE_OK); };
        return o;
    }();
    return &ops.known;
}

ve_status create(const ve_host_api*, const char*, ve_backend* out) noexcept {
    out->struct_size = sizeof(ve_backend);
    out->ctx = static_cast<vitedit::author::BackendBase*>(new HostMemoryBackend("newminor"));
    out->ops = next_ops();
    return VE_OK;
}
const next_backend_entry entry = {{sizeof(next_backend_entry), &always_usable, &create, &vitedit::boundary::thread_error_entry},
                                  [](int32_t*) noexcept { return static_cast<ve_status>(VE_OK); }};
const ve_plugin_info info = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR, VITEDIT_ABI_MINOR + 1, VE_KIND_BACKEND,
                             "newminor", "built against a newer minor of this ABI major", "1.0", &entry};
}  // namespace
extern "C" VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void) { return &info; }

// A backend built as if against ABI 1.0, the minor before ve_backend_ops.penalty_grad was
// appended: its info says minor 0 and its op table's struct_size ends where penalty_grad begins.
// The host must load it, run its 1.0 ops, and report penalty_grad as unsupported by name —
// without reading the member past struct_size (which here holds a decoy that "succeeds").
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "vitedit/backend_author.hpp"

namespace {
struct OldBackend : vitedit::author::BackendBase {
    const char* name() const override { return "oldminor"; }
    ve_buffer alloc(uint64_t n) override { return static_cast<ve_buffer>(std::malloc(n ? n : 1)); }
    void free(ve_buffer b) override { std::free(b); }
    void upload(ve_buffer d, uint64_t off, const void* s, uint64_t n) override {
        std::memcpy(reinterpret_cast<char*>(d) + off, s, n);
    }
    void download(ve_buffer s, uint64_t off, void* d, uint64_t n) override {
        std::memcpy(d, reinterpret_cast<const char*>(s) + off, n);
    }
    void fill(const ve_tensor& t, float v) override {
        float* p = reinterpret_cast<float*>(reinterpret_cast<char*>(t.buffer) + t.offset);
        for (int64_t i = 0; i < vitedit::author::numel(t); ++i) p[i] = v;
    }
};

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

int32_t probe(char* reason, uint64_t len) noexcept {
    if (reason && len) reason[0] = '\0';
    return 1;
}
ve_status create(const ve_host_api*, const char*, ve_backend* out, char*, uint64_t) noexcept {
    out->struct_size = sizeof(ve_backend);
    out->ctx = static_cast<vitedit::author::BackendBase*>(new OldBackend);
    out->ops = old_ops();
    return VE_OK;
}
const ve_backend_entry entry = {sizeof(ve_backend_entry), &probe, &create};
const ve_plugin_info info = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR, 0, VE_KIND_BACKEND,
                             "oldminor", "built against ABI 1.0 (no penalty_grad)", "1.0", &entry};
const ve_plugin_info* query() { return &info; }
}  // namespace
BOOST_DLL_ALIAS(query, vitedit_query)

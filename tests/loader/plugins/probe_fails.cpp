// A backend that says it cannot run here (as cuda does without a GPU).
#include "vitedit/backend_author.hpp"

namespace {
struct NoDeviceBackend : vitedit::author::BackendBase {
    NoDeviceBackend(const ve_host_api*, const char*) {}
    const char* name() const override { return "nodevice"; }
    ve_buffer alloc(uint64_t) override { return nullptr; }
    void free(ve_buffer) override {}
    void upload(ve_buffer, uint64_t, const void*, uint64_t) override {}
    void download(ve_buffer, uint64_t, void*, uint64_t) override {}
};
int32_t probe(std::string& why) {
    why = "no accelerator device found";
    return 0;
}
}  // namespace
VITEDIT_DEFINE_BACKEND(NoDeviceBackend, "nodevice", "never available", "0.0", probe)

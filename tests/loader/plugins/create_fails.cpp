// A backend whose probe passes but whose create call fails.
#include "vitedit/backend_author.hpp"

namespace {
struct FailingBackend : vitedit::author::BackendBase {
    FailingBackend(const ve_host_api*, const char*) { throw std::runtime_error("simulated initialization failure"); }
    const char* name() const override { return "failing"; }
    ve_buffer alloc(uint64_t) override { return nullptr; }
    void free(ve_buffer) override {}
    void upload(ve_buffer, uint64_t, const void*, uint64_t) override {}
    void download(ve_buffer, uint64_t, void*, uint64_t) override {}
};
int32_t probe(std::string&) { return 1; }
}  // namespace
VITEDIT_DEFINE_BACKEND(FailingBackend, "failing", "always fails to create", "0.0", probe)

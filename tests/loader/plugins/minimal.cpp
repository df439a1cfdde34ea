// A backend that implements only memory: every op must be reported as unsupported by name.
#include <cstdlib>
#include <cstring>

#include "vitedit/backend_author.hpp"

namespace {
struct MemoryOnlyBackend : vitedit::author::BackendBase {
    MemoryOnlyBackend(const ve_host_api*, const char*) {}
    const char* name() const override { return "memonly"; }
    ve_buffer alloc(uint64_t n) override { return static_cast<ve_buffer>(std::malloc(n)); }
    void free(ve_buffer b) override { std::free(b); }
    void upload(ve_buffer d, uint64_t off, const void* s, uint64_t n) override {
        std::memcpy(reinterpret_cast<char*>(d) + off, s, n);
    }
    void download(ve_buffer s, uint64_t off, void* d, uint64_t n) override {
        std::memcpy(d, reinterpret_cast<const char*>(s) + off, n);
    }
};
int32_t probe(std::string&) { return 1; }
}  // namespace
VITEDIT_DEFINE_BACKEND(MemoryOnlyBackend, "memonly", "memory only, no ops", "0.0", probe)

// The smallest working backend for the loader's version tests: malloc'd host memory, uploads,
// downloads and fill; every other op answers "unsupported". Each test plugin wraps it in the
// tables of the ABI revision it pretends to be built against.
#pragma once

#include <cstdlib>
#include <cstring>

#include "vitedit/backend_author.hpp"

struct HostMemoryBackend : vitedit::author::BackendBase {
    explicit HostMemoryBackend(const char* name) : name_(name) {}
    const char* name() const override { return name_; }
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
    const char* name_;
};

// A probe that always accepts.
inline ve_status always_usable(int32_t* score) noexcept {
    *score = 1;
    return VE_OK;
}

#include "buffer_registry.hpp"

#include <cstdlib>
#include <new>
#include <string>

#include "vitedit/backend_author.hpp"

namespace vitedit::onednn {

using author::Invalid;

BufferRegistry::~BufferRegistry() {
    for (auto& kv : sizes_) std::free(const_cast<void*>(kv.first));
    for (auto& kv : cached_) std::free(kv.second);
}

namespace {
uint64_t rounded_size(uint64_t bytes) {
    const uint64_t a = BufferRegistry::kAlignment;
    const uint64_t r = (bytes + a - 1) / a * a;
    return r == 0 ? a : r;
}
}  // namespace

ve_buffer BufferRegistry::alloc(uint64_t bytes) {
    if (bytes > UINT64_MAX - kAlignment) throw std::bad_alloc();
    const uint64_t rounded = rounded_size(bytes);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = cached_.find(rounded);
        if (it != cached_.end()) {
            void* p = it->second;
            sizes_.emplace(p, bytes);  // may throw: the block then stays cached
            cached_.erase(it);
            cached_bytes_ -= rounded;
            return static_cast<ve_buffer>(p);
        }
    }
    void* p = std::aligned_alloc(kAlignment, static_cast<size_t>(rounded));
    if (!p) throw std::bad_alloc();
    try {
        std::lock_guard<std::mutex> lock(mutex_);
        sizes_.emplace(p, bytes);
    } catch (...) {
        std::free(p);
        throw;
    }
    return static_cast<ve_buffer>(p);
}

void BufferRegistry::free(ve_buffer buffer) {
    if (!buffer) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(buffer);
    if (it == sizes_.end()) return;
    const uint64_t rounded = rounded_size(it->second);
    sizes_.erase(it);
    if (cached_bytes_ + rounded <= kMaxCachedBytes) {
        try {
            cached_.emplace(rounded, buffer);
            cached_bytes_ += rounded;
            return;
        } catch (...) {
        }
    }
    std::free(buffer);
}

uint64_t BufferRegistry::size_of(ve_buffer buffer, const char* what) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = sizes_.find(buffer);
    if (it == sizes_.end())
        throw Invalid(std::string(what) + ": buffer handle was not allocated by this backend "
                      "instance (or was freed)");
    return it->second;
}

unsigned char* BufferRegistry::range(ve_buffer buffer, uint64_t offset, uint64_t bytes,
                                     const char* what) const {
    uint64_t size = size_of(buffer, what);
    if (offset > size || bytes > size - offset)
        throw Invalid(std::string(what) + ": bytes [" + std::to_string(offset) + ", " +
                      std::to_string(offset) + " + " + std::to_string(bytes) +
                      ") exceed the buffer's " + std::to_string(size) + " bytes");
    return reinterpret_cast<unsigned char*>(buffer) + offset;
}

}  // namespace vitedit::onednn

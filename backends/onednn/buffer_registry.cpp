#include "buffer_registry.hpp"

#include <cstdlib>
#include <new>
#include <string>

#include "vitedit/backend_author.hpp"

namespace vitedit::onednn {

using author::Invalid;

BufferRegistry::~BufferRegistry() {
    for (auto& kv : sizes_) std::free(const_cast<void*>(kv.first));
}

ve_buffer BufferRegistry::alloc(uint64_t bytes) {
    if (bytes > UINT64_MAX - kAlignment) throw std::bad_alloc();
    uint64_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    if (rounded == 0) rounded = kAlignment;
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
    sizes_.erase(it);
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

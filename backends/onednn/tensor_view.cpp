#include "tensor_view.hpp"

#include "buffer_registry.hpp"

namespace vitedit::onednn {

View make_view(const BufferRegistry& registry, const ve_tensor* t, const char* name) {
    return author::make_view(t, name, [&](ve_buffer buffer, uint64_t offset, uint64_t bytes, const char* what) {
        return registry.range(buffer, offset, bytes, what);
    });
}

}  // namespace vitedit::onednn

#include "tensor_view.hpp"

#include "device_memory.hpp"

namespace vitedit::cuda {

View make_view(const DeviceMemory& memory, const ve_tensor* t, const char* name) {
    return author::make_view(t, name, [&](ve_buffer buffer, uint64_t offset, uint64_t bytes, const char* what) {
        return memory.range(buffer, offset, bytes, what);
    });
}

}  // namespace vitedit::cuda

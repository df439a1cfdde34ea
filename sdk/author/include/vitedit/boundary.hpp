// vitedit — the C boundary's conventions (abi.h), C++ side, for both sides of it: the calling
// thread's last error message, writes bounded by the caller's struct_size, and extension lookup.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "vitedit/backend.h"

namespace vitedit::boundary {

// The calling thread's last failure message in this library. Every last_error entry of a table
// this library exports returns it, so a message never leaks between threads.
inline std::string& thread_error() {
    static thread_local std::string message;
    return message;
}
inline const char* thread_error_entry(void*) noexcept { return thread_error().c_str(); }

// Writes `src` into the caller's `dst` up to dst->struct_size (the size the caller was built
// with), keeping that size: an older caller gets the members it knows and nothing past them.
template <class T>
void write_sized(T* dst, const T& src) noexcept {
    const uint64_t size = dst->struct_size;
    const size_t n = size < sizeof(T) ? static_cast<size_t>(size) : sizeof(T);
    if (n > sizeof(uint64_t))
        std::memcpy(reinterpret_cast<char*>(dst) + sizeof(uint64_t), reinterpret_cast<const char*>(&src) + sizeof(uint64_t),
                    n - sizeof(uint64_t));
}

// The extension table `name` of a backend instance, or NULL when it is absent or older than
// the table this code was compiled with (an extension grows only by appending).
template <class T>
const T* extension(const ve_backend& be, const char* name) noexcept {
    if (!be.ops->get_extension) return nullptr;
    const void* t = be.ops->get_extension(be.ctx, name);
    return t && *static_cast<const uint64_t*>(t) >= sizeof(T) ? static_cast<const T*>(t) : nullptr;
}

}  // namespace vitedit::boundary

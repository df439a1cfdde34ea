// A backend whose real library is loaded only when an instance is created.
//
// Every vitedit command scans the plugin folders and loads each library to read its name and
// probe it. For LibTorch and CUDA that load alone costs ~0.75 s (LibTorch registers thousands of
// operators, cuBLAS maps hundreds of MB) — more than most commands take on the bundled model —
// while the command usually runs on onednn. So those backends ship as two files: this small
// front, in the plugin folder, which answers the scan, and the real backend in the `deferred/`
// subfolder (not scanned), loaded at the first create() and kept for the process' lifetime.
//
// Built once per deferred backend with these definitions (backends/deferred/CMakeLists.txt):
//   DEFERRED_NAME, DEFERRED_DESCRIPTION, DEFERRED_VERSION — what the scan reports;
//   DEFERRED_FILE   — the real library's file name inside `deferred/`;
//   DEFERRED_SCORE  — probe score without loading anything (> 0), or
//   DEFERRED_NEEDS_NVIDIA — probe: 0 when no NVIDIA driver is present (nothing loaded), else the
//                    real library's own probe.
#include <dlfcn.h>

#include <mutex>
#include <string>
#include <sys/stat.h>

#include "vitedit/backend_author.hpp"

namespace {

// The folder this library was loaded from.
std::string own_folder() {
    Dl_info info{};
    if (!dladdr(reinterpret_cast<void*>(&own_folder), &info) || !info.dli_fname) return ".";
    std::string path = info.dli_fname;
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string impl_path() { return own_folder() + "/deferred/" DEFERRED_FILE; }

// The real backend's entry table, loading its library on first use; null with `why` on failure.
const ve_backend_entry* real_entry(std::string& why) {
    static std::mutex mutex;
    static const ve_backend_entry* entry = nullptr;
    static std::string error;
    std::lock_guard<std::mutex> lock(mutex);
    if (entry || !error.empty()) {
        why = error;
        return entry;
    }
    const std::string path = impl_path();
    // rtld_local as the host loads plugins; never closed (instances hold its code).
    void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* e = dlerror();
        error = "cannot load " + path + ": " + (e ? e : "unknown error");
    } else if (void* sym = dlsym(lib, "vitedit_query"); !sym) {
        error = path + " exports no vitedit_query";
    } else {
        const auto query = reinterpret_cast<const ve_plugin_info* (*)()>(sym);
        const ve_plugin_info* info = query();
        if (!info || info->abi_major != VITEDIT_ABI_MAJOR || info->kind != VE_KIND_BACKEND || !info->entry ||
            std::string(info->name ? info->name : "") != DEFERRED_NAME)
            error = path + " is not the '" DEFERRED_NAME "' backend of vitedit ABI " + std::to_string(VITEDIT_ABI_MAJOR) + ".x";
        else
            entry = static_cast<const ve_backend_entry*>(info->entry);
    }
    why = error;
    return entry;
}

// Failures as abi.h has them: a status and this library's per-thread message.
ve_status fail(ve_status st, const std::string& why) {
    vitedit::boundary::thread_error() = why;
    return st;
}
// A call into the real library failed: its message (kept by that library) becomes ours.
ve_status forward_failure(const ve_backend_entry* e, ve_status st) {
    const char* why = e->last_error(nullptr);
    return fail(st, why ? why : "");
}

ve_status probe(int32_t* score) noexcept {
    *score = 0;
    try {
        struct stat st{};
        if (stat(impl_path().c_str(), &st) != 0) return fail(VE_ERR_UNAVAILABLE, "its library " + impl_path() + " is missing");
#ifdef DEFERRED_NEEDS_NVIDIA
        if (stat("/proc/driver/nvidia/version", &st) != 0)
            return fail(VE_ERR_UNAVAILABLE, "no NVIDIA driver on this machine (/proc/driver/nvidia/version is absent)");
        std::string why;
        const ve_backend_entry* e = real_entry(why);
        if (!e) return fail(VE_ERR_UNAVAILABLE, why);
        const ve_status r = e->probe(score);
        return r == VE_OK ? r : forward_failure(e, r);
#else
        *score = DEFERRED_SCORE;
        return VE_OK;
#endif
    } catch (...) {
        return fail(VE_ERR_INTERNAL, "probe failed");
    }
}

ve_status create(const ve_host_api* host, const char* config, ve_backend* out) noexcept {
    try {
        std::string why;
        const ve_backend_entry* e = real_entry(why);
        if (!e) return fail(VE_ERR_UNAVAILABLE, why);
        const ve_status r = e->create(host, config, out);
        return r == VE_OK ? r : forward_failure(e, r);
    } catch (...) {
        return fail(VE_ERR_INTERNAL, "create failed");
    }
}

const ve_backend_entry entry = {sizeof(ve_backend_entry), &probe, &create, &vitedit::boundary::thread_error_entry};
const ve_plugin_info info = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR, VITEDIT_ABI_MINOR, VE_KIND_BACKEND,
                             DEFERRED_NAME, DEFERRED_DESCRIPTION, DEFERRED_VERSION, &entry};

}  // namespace

extern "C" VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void) { return &info; }

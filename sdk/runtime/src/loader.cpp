// vitedit — the plugin registry: find libraries, check them, keep them loaded.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstddef>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sstream>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <boost/filesystem.hpp>

#include "vitedit/backend.h"
#include "vitedit/op_profile.hpp"
#include "vitedit/plugin.h"
#include "vitedit/registry.hpp"

namespace fs = boost::filesystem;
namespace dll = boost::dll;

namespace vitedit {

const char* kind_name(int kind) {
    switch (kind) {
    case VE_KIND_BACKEND: return "backend";
    case VE_KIND_LOCATOR: return "locator";
    case VE_KIND_EDITOR: return "editor";
    default: return "unknown";
    }
}

namespace {

void host_log(void*, int32_t level, const char* message) {
    static const char* names[] = {"debug", "info", "warning", "error"};
    // Info and debug messages only when asked for: stderr is for what the user must see.
    static const int threshold = std::getenv("VITEDIT_VERBOSE") ? VE_LOG_DEBUG : VE_LOG_WARN;
    if (level < threshold) return;
    std::fprintf(stderr, "vitedit: %s: %s\n", names[std::clamp(level, 0, 3)], message ? message : "");
}

void host_progress(void*, const char*, double, double) {}

// The smallest size of each kind's entry table a plugin of this major may have: the members the
// host calls unconditionally. Newer minors append members; the host reads those only if present.
uint64_t min_entry_size(int kind) {
    switch (kind) {
    case VE_KIND_BACKEND: return offsetof(ve_backend_entry, last_error) + sizeof(void*);
    case VE_KIND_LOCATOR: return offsetof(ve_locator_entry, last_error) + sizeof(void*);
    case VE_KIND_EDITOR: return offsetof(ve_editor_entry, last_error) + sizeof(void*);
    default: return 0;
    }
}

// The core entries of ve_backend_ops a table leaves NULL (all are required; get_extension may be
// NULL: no extensions), by name.
std::string missing_core_ops(const ve_backend_ops& o) {
#define VE_CORE(op) {#op, o.op == nullptr},
    const std::pair<const char*, bool> core[] = {
        VE_CORE(destroy) VE_CORE(alloc) VE_CORE(free) VE_CORE(upload) VE_CORE(download) VE_CORE(synchronize)
        VE_CORE(last_error) VE_CORE(copy) VE_CORE(fill) VE_CORE(axpby) VE_CORE(add) VE_CORE(gemm) VE_CORE(bias_add)
        VE_CORE(bias_grad) VE_CORE(layernorm_fwd) VE_CORE(layernorm_bwd) VE_CORE(gelu_fwd) VE_CORE(gelu_bwd)
        VE_CORE(softmax_fwd) VE_CORE(softmax_bwd) VE_CORE(im2col) VE_CORE(col2im) VE_CORE(tokens_fwd) VE_CORE(tokens_bwd)
        VE_CORE(cross_entropy) VE_CORE(kl_div) VE_CORE(sgd_step) VE_CORE(rmsprop_step) VE_CORE(adam_step)};
#undef VE_CORE
    std::string missing;
    for (const auto& [name, null] : core)
        if (null) missing += (missing.empty() ? "" : ", ") + std::string(name);
    return missing;
}

// True when `address` is a data object, not a function: what an ABI-1 plugin exported under
// vitedit_query (a Boost.DLL alias, a pointer to its query function).
bool is_data_symbol(void* address) {
#if defined(__GLIBC__)
    Dl_info info{};
    ElfW(Sym)* sym = nullptr;
    if (dladdr1(address, &info, reinterpret_cast<void**>(&sym), RTLD_DL_SYMENT) && sym)
        return ELF64_ST_TYPE(sym->st_info) == STT_OBJECT;
#else
    (void)address;
#endif
    return false;
}

}  // namespace

const ve_host_api* Registry::host_api() {
    static const ve_host_api api = {sizeof(ve_host_api), VITEDIT_ABI_MAJOR, VITEDIT_ABI_MINOR, nullptr,
                                    &host_log, &host_progress};
    return &api;
}

std::vector<std::string> Registry::default_search_path(const std::vector<std::string>& explicit_dirs) {
    std::vector<std::string> dirs(explicit_dirs);
    if (const char* env = std::getenv("VITEDIT_PLUGIN_PATH")) {
        std::stringstream ss(env);
        std::string d;
        while (std::getline(ss, d, ':'))
            if (!d.empty()) dirs.push_back(d);
    }
    boost::system::error_code ec;
    fs::path exe_dir = dll::program_location(ec).parent_path();
    if (!ec) {
        dirs.push_back((exe_dir.parent_path() / "lib" / "vitedit" / "plugins").string());
        dirs.push_back((exe_dir / "plugins").string());
    }
    return dirs;
}

const PluginRecord& Registry::add_library(const std::string& path) {
    PluginRecord rec;
    rec.path = path;
    auto lib = std::make_shared<dll::shared_library>();
    boost::system::error_code ec;
    // rtld_now: a missing symbol fails here, not at the first call; rtld_local: no pollution.
    lib->load(path, dll::load_mode::rtld_now | dll::load_mode::rtld_local, ec);
    if (ec) {
        rec.state = "load failed";
        const char* why = nullptr;
#if defined(__unix__)
        why = ::dlerror();
#endif
        rec.reason = why ? why : ec.message();
        records_.push_back(rec);
        return records_.back();
    }
    rec.library = lib;
    if (!lib->has(VITEDIT_QUERY_SYMBOL)) {
        rec.state = "not a vitedit plugin";
        rec.reason = "it exports no '" VITEDIT_QUERY_SYMBOL "' symbol";
        records_.push_back(rec);
        return records_.back();
    }
    const ve_plugin_info* info = nullptr;
    try {
        auto& query = lib->get<const ve_plugin_info*()>(VITEDIT_QUERY_SYMBOL);
        if (is_data_symbol(reinterpret_cast<void*>(&query))) {
            rec.state = "incompatible ABI";
            rec.reason = "its '" VITEDIT_QUERY_SYMBOL "' is a data alias (Boost.DLL), as plugins built for ABI 1.x export "
                         "it; this host speaks ABI " + std::to_string(VITEDIT_ABI_MAJOR) + "." + std::to_string(VITEDIT_ABI_MINOR) +
                         " and calls a plain C function: rebuild the plugin against this SDK (docs/versioning.md)";
            records_.push_back(rec);
            return records_.back();
        }
        info = query();
    } catch (const std::exception& e) {
        rec.state = "query failed";
        rec.reason = e.what();
        records_.push_back(rec);
        return records_.back();
    }
    if (!info || info->struct_size < offsetof(ve_plugin_info, entry) + sizeof(void*)) {
        rec.state = "query failed";
        rec.reason = info ? "its ve_plugin_info is too small (" + std::to_string(info->struct_size) + " bytes)"
                          : "vitedit_query() returned NULL";
        records_.push_back(rec);
        return records_.back();
    }
    rec.info = info;
    rec.name = info->name ? info->name : "";
    rec.kind = info->kind;
    if (info->abi_major != VITEDIT_ABI_MAJOR) {
        rec.state = "incompatible ABI";
        rec.reason = "plugin '" + rec.name + "' (" + path + ") was built for vitedit ABI " +
                     std::to_string(info->abi_major) + "." + std::to_string(info->abi_minor) +
                     "; this host speaks ABI " + std::to_string(VITEDIT_ABI_MAJOR) + "." +
                     std::to_string(VITEDIT_ABI_MINOR) + " (majors must match)";
        records_.push_back(rec);
        return records_.back();
    }
    if (rec.name.empty() || min_entry_size(rec.kind) == 0 || !info->entry ||
        *static_cast<const uint64_t*>(info->entry) < min_entry_size(rec.kind)) {
        rec.state = "invalid plugin";
        rec.reason = rec.name.empty() ? "it has no name" : min_entry_size(rec.kind) == 0 ? "unknown kind " + std::to_string(rec.kind)
                                                                                        : "its entry table is missing or too small";
        records_.push_back(rec);
        return records_.back();
    }
    for (const auto& other : records_) {
        if (other.usable && other.kind == rec.kind && other.name == rec.name) {
            rec.state = "shadowed";
            rec.reason = "a " + std::string(kind_name(rec.kind)) + " named '" + rec.name + "' was already loaded from " + other.path;
            records_.push_back(rec);
            return records_.back();
        }
    }
    if (rec.kind == VE_KIND_BACKEND) {
        auto* entry = static_cast<const ve_backend_entry*>(info->entry);
        int32_t score = 0;
        const ve_status st = entry->probe(&score);
        rec.score = st == VE_OK ? score : 0;
        if (rec.score <= 0) {
            const char* why = st != VE_OK ? entry->last_error(nullptr) : nullptr;
            rec.state = "unavailable";
            rec.reason = why && *why ? why : "its probe says it cannot run here";
            records_.push_back(rec);
            return records_.back();
        }
    }
    rec.usable = true;
    rec.state = "ok";
    records_.push_back(rec);
    return records_.back();
}

void Registry::scan(const std::vector<std::string>& dirs) {
    std::vector<std::string> seen;
    for (const auto& d : dirs) {
        boost::system::error_code ec;
        fs::path dir = fs::canonical(d, ec);
        if (ec || !fs::is_directory(dir, ec)) continue;
        if (std::find(seen.begin(), seen.end(), dir.string()) != seen.end()) continue;
        seen.push_back(dir.string());
        std::vector<std::string> files;
        for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
            if (fs::is_regular_file(it->path(), ec) && it->path().extension() == ".so")
                files.push_back(it->path().string());
        }
        std::sort(files.begin(), files.end());
        for (const auto& f : files) add_library(f);
    }
}

const PluginRecord& Registry::find(int kind, const std::string& name) const {
    std::string found, refused;
    for (const auto& r : records_) {
        if (r.kind != kind) continue;
        if (r.usable && r.name == name) return r;
        if (r.usable) found += (found.empty() ? "" : ", ") + r.name;
        else if (r.name == name) refused += "\n  " + r.path + ": " + r.state + (r.reason.empty() ? "" : " (" + r.reason + ")");
    }
    std::string msg = "no usable " + std::string(kind_name(kind)) + " named '" + name + "'";
    if (!refused.empty()) msg += "; refused:" + refused;
    msg += "\n  available: " + (found.empty() ? std::string("none") : found);
    msg += "\n  (see `vitedit plugins` for everything found and why)";
    throw Error(msg);
}

const PluginRecord& Registry::backend_record(const std::string& name) const {
    if (!name.empty()) return find(VE_KIND_BACKEND, name);
    const PluginRecord* rec = nullptr;
    for (const auto& r : records_)
        if (r.usable && r.kind == VE_KIND_BACKEND && (!rec || r.score > rec->score)) rec = &r;
    if (!rec) throw Error("no usable backend found (see `vitedit plugins`)");
    return *rec;
}

std::shared_ptr<Backend> Registry::create_backend(const std::string& name, const std::string& config) {
    const PluginRecord* rec = &backend_record(name);
    auto* entry = static_cast<const ve_backend_entry*>(rec->info->entry);
    ve_backend be{};
    be.struct_size = sizeof be;
    const ve_status st = entry->create(host_api(), config.empty() ? nullptr : config.c_str(), &be);
    const std::string failed = "backend '" + rec->name + "' (" + rec->path + ") failed to initialize: ";
    if (st != VE_OK) {
        const char* why = entry->last_error(nullptr);
        throw Error(failed + (why && *why ? std::string(why) : "status " + std::to_string(st)));
    }
    if (!be.ops || be.ops->struct_size < offsetof(ve_backend_ops, adam_step) + sizeof(void*))
        throw Error(failed + "its op table is missing or too small");
    const std::string missing = missing_core_ops(*be.ops);
    if (!missing.empty()) {
        if (be.ops->destroy) be.ops->destroy(be.ctx);
        throw Error(failed + "its op table lacks the core ops " + missing + " (every core op is required; optional ops are extensions)");
    }
    // Every op goes through the profiling decorator (free when profiling is off), the plugins'
    // calls included: they are handed this same table.
    return std::make_shared<Backend>(rec->name, op_profile::wrap(be), rec->library);
}

}  // namespace vitedit

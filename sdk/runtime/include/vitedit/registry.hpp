// vitedit — discovering, checking and loading backend/locator/editor libraries.
//
// The registry scans plugin directories, calls each library's vitedit_query(), checks the ABI
// major and struct sizes, and records a state for each ("ok", or why not). Libraries are never
// unloaded (CUDA/OpenMP threads may outlive any object): the registry owns them for the process
// lifetime, and every object created from a library keeps that library alive.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vitedit/abi.h"
#include "vitedit/backend.hpp"
#include "vitedit/host_api.h"

namespace vitedit {

struct PluginRecord {
    std::string path;         // the library file
    std::string name;         // from its info ("" when it has none)
    int kind = 0;             // ve_plugin_kind, 0 when unknown
    bool usable = false;      // loaded, compatible, and (backends) probe > 0
    std::string state;        // "ok", "not a vitedit plugin", "incompatible ABI", "probe failed", ...
    std::string reason;       // human-readable detail ("" when ok)
    int32_t score = 0;        // backend probe score
    const ve_plugin_info* info = nullptr;
    std::shared_ptr<void> library;  // keeps the library mapped
};

const char* kind_name(int kind);  // "backend", "locator", "editor", "unknown"

class Registry {
public:
    // The default search path (README, Architecture): explicit dirs first, then $VITEDIT_PLUGIN_PATH
    // (colon-separated), then <exe>/../lib/vitedit/plugins (installed), then <exe>/plugins
    // (build tree). Never the current directory.
    static std::vector<std::string> default_search_path(const std::vector<std::string>& explicit_dirs);

    // Scans every regular *.so file in the directories (non-recursive). A name found twice is
    // loaded from the first directory; later copies are recorded as "shadowed".
    void scan(const std::vector<std::string>& dirs);
    // Loads one library file and records it (used by scan; public for tests).
    const PluginRecord& add_library(const std::string& path);

    const std::vector<PluginRecord>& records() const { return records_; }
    // The usable record of that kind and name; throws vitedit::Error listing what was found
    // (and why an unusable one with that name was refused) otherwise.
    const PluginRecord& find(int kind, const std::string& name) const;

    // The usable backend of that name ("" = the usable backend with the highest probe score);
    // throws vitedit::Error when there is none.
    const PluginRecord& backend_record(const std::string& name) const;
    // Creates a backend by name (as backend_record chooses it).
    std::shared_ptr<Backend> create_backend(const std::string& name, const std::string& config = "");

    // The host services table handed to plugins (logging to stderr by default).
    static const ve_host_api* host_api();

private:
    std::vector<PluginRecord> records_;
};

}  // namespace vitedit

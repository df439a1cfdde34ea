// vitedit backend conformance suite — the runner.
//
//   vitedit_conformance --backend NAME [Catch2 options...]
//
// Loads backend NAME through vitedit::Registry from the build tree's plugin directory (and
// $VITEDIT_PLUGIN_PATH), then runs every test case against it. Exit codes:
//   77  the backend is not there or says it cannot run on this machine (probe), printed as
//       "SKIPPED: backend NAME: STATE: REASON" (ctest shows the test as skipped);
//    2  usage error; 1 a failure, including a plugin that is present but broken (load failed,
//       incompatible ABI, create failed): a broken plugin is a bug, never a skip;
//    0  every check passed.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "vitedit/registry.hpp"

#ifndef VITEDIT_PLUGIN_DIR
#error "VITEDIT_PLUGIN_DIR must name the build tree's plugin directory"
#endif

namespace conf {
namespace {
std::shared_ptr<vitedit::Backend> g_backend;
}
vitedit::Backend& be() { return *g_backend; }
}  // namespace conf

namespace {

constexpr int kSkip = 77;

// Plugin files are named vitedit-backend-<name>.so; a library that failed to load has no name
// from its info, so match on the file name too.
bool is_record_of(const vitedit::PluginRecord& r, const std::string& name) {
    if (r.kind == VE_KIND_BACKEND && r.name == name) return true;
    if (!r.name.empty()) return false;
    const std::string file = r.path.substr(r.path.find_last_of('/') + 1);
    return file == "vitedit-backend-" + name + ".so";
}

}  // namespace

int main(int argc, char** argv) {
    std::string name, config;
    std::vector<char*> args{argv[0]};
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--backend" && i + 1 < argc) {
            name = argv[++i];
        } else if (a.rfind("--backend=", 0) == 0) {
            name = a.substr(10);
        } else if (a == "--backend-config" && i + 1 < argc) {
            config = argv[++i];
        } else {
            args.push_back(argv[i]);
        }
    }
    if (name.empty()) {
        std::fprintf(stderr, "usage: %s --backend NAME [--backend-config K=V,...] [Catch2 options]\n", argv[0]);
        return 2;
    }

    static vitedit::Registry registry;  // libraries stay loaded for the process lifetime
    std::vector<std::string> dirs{VITEDIT_PLUGIN_DIR};
    if (const char* env = std::getenv("VITEDIT_PLUGIN_PATH")) {
        std::stringstream ss(env);
        std::string d;
        while (std::getline(ss, d, ':'))
            if (!d.empty()) dirs.push_back(d);
    }
    registry.scan(dirs);

    const vitedit::PluginRecord* rec = nullptr;
    for (const auto& r : registry.records())
        if (is_record_of(r, name) && r.state != "shadowed") { rec = &r; break; }
    if (!rec) {
        std::string found;
        for (const auto& r : registry.records())
            if (r.kind == VE_KIND_BACKEND && !r.name.empty()) found += (found.empty() ? "" : ", ") + r.name;
        std::printf("SKIPPED: backend %s: not found: no backend plugin named '%s' in %s (found: %s)\n",
                    name.c_str(), name.c_str(), VITEDIT_PLUGIN_DIR, found.empty() ? "none" : found.c_str());
        return kSkip;
    }
    if (!rec->usable) {
        // "unavailable" = its probe says it cannot run here (no GPU, no driver, missing ISA).
        const bool skip = rec->state == "unavailable";
        std::printf("%s: backend %s: %s: %s (%s)\n", skip ? "SKIPPED" : "FAILED", name.c_str(), rec->state.c_str(),
                    rec->reason.c_str(), rec->path.c_str());
        return skip ? kSkip : 1;
    }
    try {
        conf::g_backend = registry.create_backend(name, config);
    } catch (const std::exception& e) {
        std::printf("FAILED: backend %s: create failed: %s\n", name.c_str(), e.what());
        return 1;
    }
    std::printf("conformance: backend %s (%s)%s%s\n", name.c_str(), rec->path.c_str(),
                config.empty() ? "" : ", config ", config.c_str());
    std::fflush(stdout);

    int rc = Catch::Session().run(static_cast<int>(args.size()), args.data());
    conf::g_backend.reset();  // destroy the instance while its library and LibTorch are alive
    return rc;
}

// vitedit — the main() of the Catch2 suites that run the engine on one backend and replay it in
// LibTorch (tests/engine, tests/edit, tests/meta): `--backend NAME` (default onednn) picks the
// backend from the build's plugins; a GPU backend that cannot run here skips the suite (exit 77,
// which ctest reports as skipped, with the reason), a CPU backend that cannot is a failure.
// Include after <catch2/catch.hpp> with CATCH_CONFIG_RUNNER defined; call backend_test::main().
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "vitedit/registry.hpp"

namespace backend_test {

inline std::string name = "onednn";
inline std::shared_ptr<vitedit::Backend> backend;  // the backend under test
inline vitedit::Registry* registry = nullptr;      // the build's plugins (locators, editors)

inline int main(int argc, char** argv) {
    std::vector<char*> rest;
    for (int i = 0; i < argc; ++i) {
        if (std::string(argv[i]) == "--backend" && i + 1 < argc) name = argv[++i];
        else rest.push_back(argv[i]);
    }
    vitedit::Registry reg;
    reg.scan({VITEDIT_PLUGIN_DIR});
    registry = &reg;
    const bool gpu = name == "cuda";
    for (const auto& r : reg.records()) {
        if (r.kind == VE_KIND_BACKEND && r.name == name && !r.usable) {
            std::printf("%s: backend %s: %s: %s\n", gpu ? "SKIPPED" : "FAILED", name.c_str(), r.state.c_str(), r.reason.c_str());
            return gpu ? 77 : 1;
        }
    }
    try {
        backend = reg.create_backend(name);
    } catch (const std::exception& e) {
        std::printf("%s: backend %s: %s\n", gpu ? "SKIPPED" : "FAILED", name.c_str(), e.what());
        return gpu ? 77 : 1;
    }
    torch::set_num_threads(2);
    const int rc = Catch::Session().run(static_cast<int>(rest.size()), rest.data());
    backend.reset();
    registry = nullptr;
    return rc;
}

}  // namespace backend_test

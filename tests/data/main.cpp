// Catch2 runner for the data tests: the [train] tests need a usable backend
// ($VITEDIT_TEST_BACKEND, default: the best one found); without it they exit 77 (skipped).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <string>

#include "vitedit/registry.hpp"

int main(int argc, char** argv) {
    bool train = false;
    for (int i = 1; i < argc; ++i) train = train || std::string(argv[i]).find("[train]") != std::string::npos;
    if (train) {
        const char* want = std::getenv("VITEDIT_TEST_BACKEND");
        vitedit::Registry reg;
        reg.scan({VITEDIT_PLUGIN_DIR});
        std::string why;
        if (want && *want) {
            try {
                reg.find(VE_KIND_BACKEND, want);
            } catch (const std::exception& e) {
                why = e.what();
            }
        } else {
            bool any = false;
            for (const auto& r : reg.records()) any = any || (r.usable && r.kind == VE_KIND_BACKEND);
            if (!any) why = "no usable backend in " VITEDIT_PLUGIN_DIR;
        }
        if (!why.empty()) {
            std::cout << "SKIPPED: backend '" << (want ? want : "") << "' is not usable here: " << why << "\n";
            return 77;
        }
    }
    return Catch::Session().run(argc, argv);
}

// The registry refuses incompatible or broken libraries with a message that names them, and
// keeps loading the rest.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "vitedit/registry.hpp"

using namespace vitedit;

namespace {
const PluginRecord& record_for(const Registry& reg, const std::string& file) {
    for (const auto& r : reg.records())
        if (r.path.size() >= file.size() && r.path.compare(r.path.size() - file.size(), file.size(), file) == 0) return r;
    FAIL("no record for " << file);
    throw 0;
}
}  // namespace

TEST_CASE("incompatible, foreign and broken libraries are refused by name", "[loader]") {
    Registry reg;
    reg.scan({LOADER_PLUGIN_DIR});

    const auto& abi = record_for(reg, "test-other_abi.so");
    CHECK_FALSE(abi.usable);
    CHECK(abi.state == "incompatible ABI");
    CHECK_THAT(abi.reason, Catch::Contains("future") && Catch::Contains("ABI " + std::to_string(VITEDIT_ABI_MAJOR + 1)) &&
                               Catch::Contains("this host speaks ABI " + std::to_string(VITEDIT_ABI_MAJOR)));

    const auto& foreign = record_for(reg, "test-foreign.so");
    CHECK_FALSE(foreign.usable);
    CHECK(foreign.state == "not a vitedit plugin");

    const auto& garbage = record_for(reg, "garbage.so");
    CHECK_FALSE(garbage.usable);
    CHECK(garbage.state == "load failed");
    CHECK_FALSE(garbage.reason.empty());

    const auto& nodev = record_for(reg, "test-probe_fails.so");
    CHECK_FALSE(nodev.usable);
    CHECK(nodev.state == "unavailable");
    CHECK(nodev.reason == "no accelerator device found");

    const auto& failing = record_for(reg, "test-create_fails.so");
    CHECK(failing.usable);  // its probe passes; creating it fails
    REQUIRE_THROWS_WITH(reg.create_backend("failing"),
                        Catch::Contains("failing") && Catch::Contains("test-create_fails.so") &&
                            Catch::Contains("simulated initialization failure"));

    REQUIRE_THROWS_WITH(reg.create_backend("future"), Catch::Contains("incompatible ABI"));
    REQUIRE_THROWS_WITH(reg.create_backend("nodevice"), Catch::Contains("no accelerator device found"));
    REQUIRE_THROWS_WITH(reg.create_backend("nonexistent"), Catch::Contains("no usable backend named 'nonexistent'"));
}

TEST_CASE("an op a backend does not implement is reported with op and backend names", "[loader]") {
    Registry reg;
    reg.scan({LOADER_PLUGIN_DIR});
    auto be = reg.create_backend("memonly");
    Tensor t = be->empty({4, 3});
    REQUIRE_THROWS_WITH(be->fill(t, 1.0f), Catch::Contains("memonly") && Catch::Contains("fill") &&
                                               Catch::Contains("not implemented"));
    t.upload(std::vector<float>(12, 2.0f));
    CHECK(t.download()[11] == 2.0f);
}

TEST_CASE("the build tree's backends load next to the foreign ones", "[loader]") {
    Registry reg;
    reg.scan({LOADER_PLUGIN_DIR, VITEDIT_PLUGIN_DIR});
    bool onednn = false, torch = false;
    for (const auto& r : reg.records()) {
        if (r.kind == VE_KIND_BACKEND && r.usable && r.name == "onednn") onednn = true;
        if (r.kind == VE_KIND_BACKEND && r.usable && r.name == "torch") torch = true;
    }
    CHECK(onednn);
    CHECK(torch);
}

TEST_CASE("the search path puts explicit directories first and never the current directory", "[loader]") {
    setenv("VITEDIT_PLUGIN_PATH", "/env/a:/env/b", 1);
    auto dirs = Registry::default_search_path({"/explicit"});
    unsetenv("VITEDIT_PLUGIN_PATH");
    REQUIRE(dirs.size() >= 3);
    CHECK(dirs[0] == "/explicit");
    CHECK(dirs[1] == "/env/a");
    CHECK(dirs[2] == "/env/b");
    for (const auto& d : dirs) CHECK(d != "." );
}

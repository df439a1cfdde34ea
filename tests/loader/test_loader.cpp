// The registry refuses incompatible or broken libraries with a message that names them, and
// keeps loading the rest.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstddef>
#include <filesystem>
#include <unistd.h>

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
    CHECK_THAT(abi.reason, Catch::Contains("future") && Catch::Contains("test-other_abi.so") &&
                               Catch::Contains("ABI " + std::to_string(VITEDIT_ABI_MAJOR + 1) + ".0") &&
                               Catch::Contains("this host speaks ABI " + std::to_string(VITEDIT_ABI_MAJOR) + "." +
                                               std::to_string(VITEDIT_ABI_MINOR)));

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

// Members shipped in a minor never move (docs/versioning.md): ABI 1.0's ops table ends where
// 1.1's penalty_grad begins, after struct_size and 29 op pointers.
static_assert(offsetof(ve_backend_ops, struct_size) == 0, "every table starts with its size");
static_assert(offsetof(ve_backend_ops, penalty_grad) == sizeof(uint64_t) + 29 * sizeof(void*),
              "a shipped member of ve_backend_ops moved: that needs an ABI major bump");
// 1.2's gather_units / scatter_units follow penalty_grad.
static_assert(offsetof(ve_backend_ops, gather_units) == sizeof(uint64_t) + 30 * sizeof(void*) &&
                  offsetof(ve_backend_ops, scatter_units) == sizeof(uint64_t) + 31 * sizeof(void*),
              "a shipped member of ve_backend_ops moved: that needs an ABI major bump");
// 1.3's linear_fwd follows them.
static_assert(offsetof(ve_backend_ops, linear_fwd) == sizeof(uint64_t) + 32 * sizeof(void*),
              "a shipped member of ve_backend_ops moved: that needs an ABI major bump");
static_assert(sizeof(void*) != 8 || offsetof(ve_plugin_info, entry) == 48, "a shipped member of ve_plugin_info moved");

TEST_CASE("a plugin built against an older minor loads; the member it lacks is unsupported by name", "[loader][abi]") {
    Registry reg;
    reg.scan({LOADER_PLUGIN_DIR});
    const auto& old = record_for(reg, "test-old_minor.so");
    REQUIRE(old.usable);
    CHECK(old.state == "ok");
    CHECK(old.info->abi_major == VITEDIT_ABI_MAJOR);
    CHECK(old.info->abi_minor == 0);

    auto be = reg.create_backend("oldminor");
    REQUIRE(be->raw().ops->struct_size == offsetof(ve_backend_ops, penalty_grad));
    Tensor w = be->empty({2, 3});
    be->fill(w, 3.0f);  // a 1.0 op works
    CHECK(w.download() == std::vector<float>(6, 3.0f));
    // The 1.1 member lies past the plugin's struct_size: never read, reported by name.
    REQUIRE_THROWS_WITH(be->penalty_grad(w, w, w, 1.0f, 2),
                        Catch::Contains("penalty_grad") && Catch::Contains("oldminor") && Catch::Contains("not supported"));
}

TEST_CASE("a plugin built against a newer minor of the same major loads and works", "[loader][abi]") {
    Registry reg;
    reg.scan({LOADER_PLUGIN_DIR});
    const auto& next = record_for(reg, "test-new_minor.so");
    REQUIRE(next.usable);
    CHECK(next.info->abi_minor == VITEDIT_ABI_MINOR + 1);
    CHECK(*static_cast<const uint64_t*>(next.info->entry) > sizeof(ve_backend_entry));

    auto be = reg.create_backend("newminor");
    CHECK(be->raw().ops->struct_size > sizeof(ve_backend_ops));
    Tensor w = be->empty({4});
    be->fill(w, -1.5f);
    CHECK(w.download() == std::vector<float>(4, -1.5f));
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

// torch and cuda are deferred (backends/deferred): the scan loads only their small fronts, the real
// library is loaded by create(). A front without its library says so and is not usable.
TEST_CASE("a deferred backend loads its library on create, and names it when it is missing", "[loader]") {
    namespace fs = std::filesystem;
    const fs::path front = fs::path(VITEDIT_PLUGIN_DIR) / "vitedit-backend-torch.so";
    if (!fs::exists(fs::path(VITEDIT_PLUGIN_DIR) / "deferred" / "vitedit-backend-torch.so")) {
        WARN("the torch backend is not built: skipped");
        return;
    }
    {
        Registry reg;
        reg.scan({VITEDIT_PLUGIN_DIR});
        auto be = reg.create_backend("torch");
        CHECK(be->name() == "torch");
        Tensor x = be->from_host({2}, {1.0f, 2.0f}), y = be->zeros({2});
        be->axpby(2.0f, x, 0.0f, y);
        CHECK(y.download() == std::vector<float>{2.0f, 4.0f});
    }
    const fs::path alone = fs::temp_directory_path() / ("vitedit-deferred-" + std::to_string(::getpid()));
    fs::create_directories(alone);
    fs::copy_file(front, alone / front.filename(), fs::copy_options::overwrite_existing);
    {
        Registry reg;
        reg.scan({alone.string()});
        const auto& r = record_for(reg, "vitedit-backend-torch.so");
        CHECK_FALSE(r.usable);
        CHECK_THAT(r.reason, Catch::Contains("deferred/vitedit-backend-torch.so") && Catch::Contains("missing"));
    }
    fs::remove_all(alone);
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

// The registry refuses incompatible or broken libraries with a message that names them, and
// keeps loading the rest.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cstddef>
#include <filesystem>
#include <thread>
#include <unistd.h>

#include "vitedit/plugin.h"
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

    const auto& abi1 = record_for(reg, "test-abi1_alias.so");
    CHECK_FALSE(abi1.usable);
    CHECK(abi1.state == "incompatible ABI");
    CHECK_THAT(abi1.reason, Catch::Contains("data alias") && Catch::Contains("rebuild"));

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

    REQUIRE_THROWS_WITH(reg.create_backend("nullcore"), Catch::Contains("nullcore") && Catch::Contains("core ops gemm"));
    REQUIRE_THROWS_WITH(reg.create_backend("future"), Catch::Contains("incompatible ABI"));
    REQUIRE_THROWS_WITH(reg.create_backend("nodevice"), Catch::Contains("no accelerator device found"));
    REQUIRE_THROWS_WITH(reg.create_backend("nonexistent"), Catch::Contains("no usable backend named 'nonexistent'"));
}

// Members shipped in a minor never move (docs/versioning.md). ABI 2.0's core table: struct_size,
// 7 lifetime/memory/error entries (destroy .. get_extension), then the 22 ops.
static_assert(offsetof(ve_backend_ops, struct_size) == 0, "every table starts with its size");
static_assert(offsetof(ve_backend_ops, get_extension) == sizeof(uint64_t) + 7 * sizeof(void*),
              "a shipped member of ve_backend_ops moved: that needs an ABI major bump");
static_assert(offsetof(ve_backend_ops, adam_step) == sizeof(uint64_t) + 29 * sizeof(void*) &&
                  sizeof(ve_backend_ops) == sizeof(uint64_t) + 30 * sizeof(void*),
              "a shipped member of ve_backend_ops moved: that needs an ABI major bump");
static_assert(offsetof(ve_ext_units, scatter_units) == sizeof(uint64_t) + sizeof(void*), "a shipped member of ve_ext_units moved");
static_assert(offsetof(ve_edit_session, site_grad_units) == offsetof(ve_edit_session, select_grad_form) + sizeof(void*),
              "a shipped member of ve_edit_session moved");
static_assert(sizeof(void*) != 8 || offsetof(ve_plugin_info, entry) == 48, "a shipped member of ve_plugin_info moved");

TEST_CASE("an extension table older than the host's is absent; a missing extension is unsupported by name", "[loader][abi]") {
    Registry reg;
    reg.scan({LOADER_PLUGIN_DIR});
    const auto& old = record_for(reg, "test-old_extension.so");
    REQUIRE(old.usable);
    CHECK(old.state == "ok");

    auto be = reg.create_backend("oldext");
    Tensor w = be->empty({2, 3});
    be->fill(w, 3.0f);  // a core op works
    CHECK(w.download() == std::vector<float>(6, 3.0f));
    // Its VE_EXT_UNITS ends before scatter_units: not used at all (the decoy is never called).
    CHECK_FALSE(be->has_unit_ops());
    REQUIRE_THROWS_WITH(be->scatter_units(w, VE_MASK_ROWS, {0}, w),
                        Catch::Contains("scatter_units") && Catch::Contains("oldext") && Catch::Contains("not supported"));
    CHECK_FALSE(be->has_penalty());
    REQUIRE_THROWS_WITH(be->penalty_grad(w, w, w, 1.0f, 2),
                        Catch::Contains("penalty_grad") && Catch::Contains(VE_EXT_PENALTY) && Catch::Contains("not supported"));
}

TEST_CASE("a backend's error messages are per thread", "[loader][abi]") {
    Registry reg;
    reg.scan({LOADER_PLUGIN_DIR});
    auto be = reg.create_backend("memonly");
    const ve_backend& raw = be->raw();
    Tensor t = be->empty({4});
    // Two threads fail different ops on one instance, over and over: each reads its own message.
    auto hammer = [&](bool use_fill, int& wrong) {
        for (int i = 0; i < 2000; ++i) {
            const ve_status st = use_fill ? raw.ops->fill(raw.ctx, t.ptr(), 1.0f) : raw.ops->gelu_fwd(raw.ctx, t.ptr(), t.ptr());
            const std::string msg = raw.ops->last_error(raw.ctx);
            if (st != VE_ERR_UNSUPPORTED || msg.find(use_fill ? "fill" : "gelu_fwd") == std::string::npos) ++wrong;
        }
    };
    int wrong_a = 0, wrong_b = 0;
    std::thread a(hammer, true, std::ref(wrong_a)), b(hammer, false, std::ref(wrong_b));
    a.join();
    b.join();
    CHECK(wrong_a == 0);
    CHECK(wrong_b == 0);
}

TEST_CASE("a plugin built against a newer minor of the same major loads and works", "[loader][abi]") {
    Registry reg;
    reg.scan({LOADER_PLUGIN_DIR});
    const auto& next = record_for(reg, "test-new_minor.so");
    REQUIRE(next.usable);
    CHECK(next.info->abi_minor == VITEDIT_ABI_MINOR + 1);
    CHECK(*static_cast<const uint64_t*>(next.info->entry) > sizeof(ve_backend_entry));

    auto be = reg.create_backend("newminor");
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

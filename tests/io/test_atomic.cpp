// write_file_atomic / write_safetensors: all or nothing, no temporary left behind.
#include <catch2/catch.hpp>

#include <csignal>
#include <sys/resource.h>

#include "io_util.hpp"
#include "vitedit/backend.hpp"
#include "vitedit/safetensors.hpp"

using Catch::Contains;
using io_test::TempDir;

TEST_CASE("write_file_atomic creates and replaces files, leaving nothing else", "[atomic]") {
    TempDir dir;
    const std::string path = dir.file("report.json");
    vitedit::write_file_atomic(path, "first");
    REQUIRE(io_test::read_raw(path) == "first");
    REQUIRE(dir.entries() == std::vector<std::string>{"report.json"});

    vitedit::write_file_atomic(path, std::string("sec\0ond", 7));
    REQUIRE(io_test::read_raw(path) == std::string("sec\0ond", 7));
    vitedit::write_file_atomic(path, "");
    REQUIRE(io_test::read_raw(path).empty());
    REQUIRE(dir.entries() == std::vector<std::string>{"report.json"});

    // Many writes in a row: unique temporaries, still one file.
    for (int i = 0; i < 50; ++i) vitedit::write_file_atomic(path, std::to_string(i));
    REQUIRE(io_test::read_raw(path) == "49");
    REQUIRE(dir.entries() == std::vector<std::string>{"report.json"});
}

TEST_CASE("write_file_atomic to a missing directory throws with the path and errno text", "[atomic]") {
    TempDir dir;
    const std::string path = dir.file("no/such/dir/out.bin");
    REQUIRE_THROWS_AS(vitedit::write_file_atomic(path, "x"), vitedit::Error);
    REQUIRE_THROWS_WITH(vitedit::write_file_atomic(path, "x"),
                        Contains(path) && Contains("No such file or directory"));
    REQUIRE(dir.entries().empty());
}

TEST_CASE("write_file_atomic onto a directory fails and leaves the target and folder as they were",
          "[atomic]") {
    TempDir dir;
    const std::string target = dir.file("model.safetensors");
    std::filesystem::create_directory(target);
    io_test::write_raw(dir.file("model.safetensors/inside"), "keep");
    io_test::write_raw(dir.file("other"), "untouched");

    REQUIRE_THROWS_AS(vitedit::write_file_atomic(target, "new"), vitedit::Error);
    REQUIRE_THROWS_WITH(vitedit::write_file_atomic(target, "new"), Contains(target) && Contains("rename"));
    vitedit::SafeTensorsFile f;
    f.tensors["w"] = vitedit::HostTensor{{2}, {1.0f, 2.0f}};
    REQUIRE_THROWS_WITH(vitedit::write_safetensors(target, f), Contains(target));

    REQUIRE(std::filesystem::is_directory(target));
    REQUIRE(io_test::read_raw(dir.file("model.safetensors/inside")) == "keep");
    REQUIRE(io_test::read_raw(dir.file("other")) == "untouched");
    REQUIRE(dir.entries() == (std::vector<std::string>{"model.safetensors", "other"}));

    REQUIRE_THROWS_WITH(vitedit::write_file_atomic(dir.path.string() + "/", "x"), Contains("directory"));
    REQUIRE_THROWS_AS(vitedit::write_file_atomic("", "x"), vitedit::Error);
}

TEST_CASE("a write that fails midway leaves the existing target intact and no temporary", "[atomic]") {
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    vitedit::SafeTensorsFile old;
    old.tensors["w"] = vitedit::HostTensor{{3}, {1.0f, 2.0f, 3.0f}};
    old.metadata["v"] = "old";
    vitedit::write_safetensors(path, old);
    const std::string before = io_test::read_raw(path);

    // Limit the file size so the write fails with EFBIG (root cannot be stopped by permissions).
    struct rlimit saved {};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = saved;
    small.rlim_cur = 4096;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);

    std::string err_atomic, err_st;
    try {
        vitedit::write_file_atomic(path, std::string(100000, 'x'));
    } catch (const vitedit::Error& e) {
        err_atomic = e.what();
    }
    vitedit::SafeTensorsFile big;
    big.tensors["w"] = vitedit::HostTensor{{100000}, std::vector<float>(100000, 0.5f)};
    try {
        vitedit::write_safetensors(path, big);
    } catch (const vitedit::Error& e) {
        err_st = e.what();
    }
    setrlimit(RLIMIT_FSIZE, &saved);
    std::signal(SIGXFSZ, old_handler);

    REQUIRE_THAT(err_atomic, Contains(path) && Contains("File too large"));
    REQUIRE_THAT(err_st, Contains(path) && Contains("File too large"));
    REQUIRE(io_test::read_raw(path) == before);
    REQUIRE(dir.entries() == std::vector<std::string>{"model.safetensors"});
    REQUIRE(vitedit::read_safetensors(path).metadata.at("v") == "old");
}

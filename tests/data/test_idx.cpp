// IDX reading: valid files (gzip and plain), and clear errors that name the file.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "data_util.hpp"
#include "vitedit/backend.hpp"
#include "vitedit/dataset.hpp"

using namespace vitedit;
using datatest::TempDir;
using Catch::Matchers::Contains;

namespace {

std::vector<uint8_t> seq(size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7);
    return v;
}

// Writes a 3-image 2x2 set with labels 1, 9, 0.
void write_set(const TempDir& d, const std::string& prefix) {
    datatest::write_gz(d / (prefix + "-images-idx3-ubyte.gz"), datatest::idx_bytes(0x803, {3, 2, 2}, seq(12)));
    datatest::write_gz(d / (prefix + "-labels-idx1-ubyte.gz"), datatest::idx_bytes(0x801, {3}, {1, 9, 0}));
}

}  // namespace

TEST_CASE("IDX images and labels are read from gzip and plain files", "[idx]") {
    TempDir d;
    datatest::write_gz(d / "im.gz", datatest::idx_bytes(0x803, {3, 2, 2}, seq(12)));
    datatest::write_raw(d / "im", datatest::idx_bytes(0x803, {3, 2, 2}, seq(12)));
    for (const char* name : {"im.gz", "im"}) {
        const IdxImages im = read_idx_images(d / name);
        CHECK(im.count == 3);
        CHECK(im.rows == 2);
        CHECK(im.cols == 2);
        CHECK(im.pixels == seq(12));
    }
    datatest::write_gz(d / "lab.gz", datatest::idx_bytes(0x801, {3}, {1, 9, 0}));
    CHECK(read_idx_labels(d / "lab.gz") == std::vector<uint8_t>{1, 9, 0});

    const Dataset ds = load_idx_pair(d / "im.gz", d / "lab.gz", "pair");
    REQUIRE(ds.size() == 3);
    CHECK(ds.labels == std::vector<int32_t>{1, 9, 0});
    CHECK(ds.images[1].width == 2);
    CHECK(ds.images[1].channels == 1);
    CHECK(ds.images[1].pixels == std::vector<uint8_t>{28, 35, 42, 49});
    CHECK(ds.num_classes() == 10);
    CHECK(ds.class_names.at(9) == "Ankle boot");
}

TEST_CASE("IDX errors: bad magic, truncation, trailing bytes, count mismatch", "[idx]") {
    TempDir d;
    SECTION("bad magic number") {
        datatest::write_gz(d / "a.gz", datatest::idx_bytes(0x801, {3, 2, 2}, seq(12)));  // a label magic
        CHECK_THROWS_WITH(read_idx_images(d / "a.gz"), Contains("bad magic number 0x00000801") && Contains(d / "a.gz"));
        datatest::write_gz(d / "b.gz", datatest::idx_bytes(0x12345678, {3}, {1, 2, 3}));
        CHECK_THROWS_WITH(read_idx_labels(d / "b.gz"), Contains("bad magic") && Contains("not an IDX file"));
        datatest::write_gz(d / "c.gz", datatest::idx_bytes(0x0D03, {1, 1, 1}, {0, 0, 0, 0}));  // float elements
        CHECK_THROWS_WITH(read_idx_images(d / "c.gz"), Contains("not unsigned byte"));
    }
    SECTION("payload shorter than the header promises") {
        datatest::write_gz(d / "t.gz", datatest::idx_bytes(0x803, {3, 2, 2}, seq(8)));
        CHECK_THROWS_WITH(read_idx_images(d / "t.gz"), Contains("truncated") && Contains("12 bytes of pixels") && Contains(d / "t.gz"));
        datatest::write_gz(d / "l.gz", datatest::idx_bytes(0x801, {5}, {1, 2}));
        CHECK_THROWS_WITH(read_idx_labels(d / "l.gz"), Contains("truncated") && Contains("5 bytes of labels"));
    }
    SECTION("header cut short") {
        datatest::write_gz(d / "h.gz", datatest::idx_bytes(0x803, {3}, {}));
        CHECK_THROWS_WITH(read_idx_images(d / "h.gz"), Contains("truncated IDX header"));
        datatest::write_raw(d / "e", "");
        CHECK_THROWS_WITH(read_idx_labels(d / "e"), Contains("truncated") && Contains(d / "e"));
    }
    SECTION("gzip stream cut short") {
        std::vector<uint8_t> px(4000);
        for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
        datatest::write_gz(d / "full.gz", datatest::idx_bytes(0x803, {10, 20, 20}, px));
        const std::string bytes = datatest::read_raw(d / "full.gz");
        datatest::write_raw(d / "cut.gz", bytes.substr(0, bytes.size() / 2));
        CHECK_THROWS_WITH(read_idx_images(d / "cut.gz"), Contains("truncated") && Contains(d / "cut.gz"));
    }
    SECTION("trailing bytes") {
        datatest::write_gz(d / "x.gz", datatest::idx_bytes(0x801, {2}, {1, 2, 3}));
        CHECK_THROWS_WITH(read_idx_labels(d / "x.gz"), Contains("trailing"));
    }
    SECTION("image and label counts disagree") {
        datatest::write_gz(d / "im.gz", datatest::idx_bytes(0x803, {3, 2, 2}, seq(12)));
        datatest::write_gz(d / "lab.gz", datatest::idx_bytes(0x801, {2}, {1, 2}));
        CHECK_THROWS_WITH(load_idx_pair(d / "im.gz", d / "lab.gz", "p"),
                          Contains("2 labels for the 3 images") && Contains(d / "lab.gz"));
    }
    SECTION("labels beyond the ten classes") {
        datatest::write_gz(d / "im.gz", datatest::idx_bytes(0x803, {3, 2, 2}, seq(12)));
        datatest::write_gz(d / "lab.gz", datatest::idx_bytes(0x801, {3}, {1, 12, 2}));
        CHECK_THROWS_WITH(load_idx_pair(d / "im.gz", d / "lab.gz", "p"), Contains("label 12 of item 1"));
    }
    SECTION("missing file") {
        CHECK_THROWS_WITH(read_idx_images(d / "nope.gz"), Contains("cannot open") && Contains(d / "nope.gz"));
    }
}

TEST_CASE("fmnist splits come from $VITEDIT_FMNIST_DIR", "[idx]") {
    TempDir d;
    write_set(d, "train");
    write_set(d, "t10k");
    ::setenv("VITEDIT_FMNIST_DIR", d.path.c_str(), 1);
    CHECK(fmnist_dir() == d.path.string());
    const Dataset tr = load_dataset("fmnist:train");
    CHECK(tr.size() == 3);
    CHECK(tr.spec == "fmnist:train");
    CHECK(load_fmnist("test").labels == std::vector<int32_t>{1, 9, 0});
    std::filesystem::remove(d / "t10k-labels-idx1-ubyte.gz");
    CHECK_THROWS_WITH(load_fmnist("test"), Contains("t10k-labels-idx1-ubyte.gz not found") && Contains("VITEDIT_FMNIST_DIR"));
    ::unsetenv("VITEDIT_FMNIST_DIR");
}

TEST_CASE("the installed Fashion-MNIST test split loads", "[idx]") {
    ::unsetenv("VITEDIT_FMNIST_DIR");
    if (!std::filesystem::exists(fmnist_dir() + "/t10k-images-idx3-ubyte.gz")) {
        WARN("Fashion-MNIST is not installed at " << fmnist_dir() << " (Debian: dataset-fashion-mnist); skipped");
        return;
    }
    const Dataset t = load_fmnist("test");
    REQUIRE(t.size() == 10000);
    CHECK(t.images[0].width == 28);
    CHECK(t.images[0].height == 28);
    std::vector<int> per(10, 0);
    for (int32_t l : t.labels) ++per.at(l);
    for (int n : per) CHECK(n == 1000);
}

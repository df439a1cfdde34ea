// Image folders (ROOT/<index>[_name]/<image>) and data specs.
#include <catch2/catch.hpp>

#include "data_util.hpp"
#include "vitedit/backend.hpp"
#include "vitedit/dataset.hpp"

using namespace vitedit;
using datatest::TempDir;
using Catch::Matchers::Contains;

namespace {

Image gray(int w, int h, uint8_t v) {
    Image im;
    im.width = w, im.height = h, im.channels = 1;
    im.pixels.assign(static_cast<size_t>(w) * h, v);
    return im;
}

}  // namespace

TEST_CASE("class folder names start with the class index", "[folder]") {
    int idx = -1;
    std::string name = "?";
    CHECK(parse_class_folder("3", &idx, &name));
    CHECK(idx == 3);
    CHECK(name.empty());
    CHECK(parse_class_folder("3_dress", &idx, &name));
    CHECK((idx == 3 && name == "dress"));
    CHECK(parse_class_folder("12-ankle boot", &idx, &name));
    CHECK((idx == 12 && name == "ankle boot"));
    CHECK(parse_class_folder("007 bond", &idx, &name));
    CHECK((idx == 7 && name == "bond"));
    CHECK_FALSE(parse_class_folder("dress", &idx, &name));
    CHECK_FALSE(parse_class_folder("3dress", &idx, &name));
    CHECK_FALSE(parse_class_folder("", &idx, &name));
    CHECK_FALSE(parse_class_folder("_3", &idx, &name));
}

TEST_CASE("an image folder loads in class and file order", "[folder]") {
    TempDir d;
    std::filesystem::create_directories(d / "1_trouser");
    std::filesystem::create_directories(d / "0");
    std::filesystem::create_directories(d / ".hidden");
    save_png(d / "1_trouser/b.png", gray(4, 4, 20));
    save_png(d / "1_trouser/a.png", gray(4, 4, 10));
    save_png(d / "0/z.png", gray(6, 5, 30));
    datatest::write_raw(d / "1_trouser/notes.txt", "not an image");
    datatest::write_raw(d / "README", "ignored");
    const Dataset ds = load_dataset(d.path.string());
    REQUIRE(ds.size() == 3);
    CHECK(ds.labels == std::vector<int32_t>{0, 1, 1});
    CHECK(ds.images[0].width == 6);
    CHECK(ds.images[1].pixels[0] == 10);
    CHECK(ds.images[2].pixels[0] == 20);
    CHECK(ds.sources[1] == d / "1_trouser/a.png");
    CHECK(ds.class_names == std::vector<std::string>{"", "trouser"});
    CHECK(ds.num_classes() == 2);
}

TEST_CASE("image folder errors name the problem", "[folder]") {
    TempDir d;
    SECTION("no class folders") {
        CHECK_THROWS_WITH(load_image_folder(d.path.string()), Contains("no class folders"));
    }
    SECTION("a folder without an index") {
        std::filesystem::create_directories(d / "cats");
        CHECK_THROWS_WITH(load_image_folder(d.path.string()), Contains("'cats' does not start with its class index"));
    }
    SECTION("two folders with one index") {
        std::filesystem::create_directories(d / "2_a");
        std::filesystem::create_directories(d / "2_b");
        CHECK_THROWS_WITH(load_image_folder(d.path.string()), Contains("class index 2 is used by both"));
    }
    SECTION("an undecodable image") {
        std::filesystem::create_directories(d / "0");
        datatest::write_raw(d / "0/broken.png", "this is not a png");
        CHECK_THROWS_WITH(load_image_folder(d.path.string()), Contains("broken.png"));
    }
    SECTION("class folders without images") {
        std::filesystem::create_directories(d / "0");
        CHECK_THROWS_WITH(load_image_folder(d.path.string()), Contains("hold no images"));
    }
}

TEST_CASE("data specs: fmnist:train, fmnist:test or a folder", "[folder]") {
    TempDir d;
    DataSpec s = parse_data_spec("fmnist:train");
    CHECK(s.kind == DataSpec::Fmnist);
    CHECK(s.split == "train");
    CHECK(parse_data_spec("fmnist:test").split == "test");
    s = parse_data_spec(d.path.string());
    CHECK(s.kind == DataSpec::Folder);
    CHECK(s.path == d.path.string());
    CHECK_THROWS_WITH(parse_data_spec("fmnist:val"), Contains("unknown Fashion-MNIST split 'val'") && Contains("fmnist:train"));
    CHECK_THROWS_WITH(parse_data_spec(d / "missing"), Contains("no such folder"));
    datatest::write_raw(d / "file.png", "x");
    CHECK_THROWS_WITH(parse_data_spec(d / "file.png"), Contains("is a file, not a folder"));
    CHECK_THROWS_WITH(parse_data_spec(""), Contains("empty data spec"));
}

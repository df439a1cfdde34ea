// `vitedit train` and `vitedit eval` end to end on a tiny synthetic image folder: the loss goes
// down, a run stopped early and resumed from its checkpoint ends bitwise equal to an
// uninterrupted run, a resume with other options is refused, and eval reports sane numbers.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "data_util.hpp"
#include "vitedit/image.hpp"
#include "vitedit/safetensors.hpp"

using datatest::TempDir;
using Catch::Matchers::Contains;

namespace {

// 4 classes of 12x12 gray images: a horizontal bar, a vertical bar, a diagonal, a 4x4 square,
// at random positions, on noise.
void write_toy_folder(const std::string& root) {
    std::mt19937_64 r(11);
    const char* names[] = {"0_hbar", "1_vbar", "2_diag", "3_square"};
    for (int c = 0; c < 4; ++c) {
        std::filesystem::create_directories(root + "/" + names[c]);
        for (int i = 0; i < 48; ++i) {
            vitedit::Image im;
            im.width = im.height = 12, im.channels = 1;
            im.pixels.resize(144);
            const int a = static_cast<int>(r() % 8) + 2, b = static_cast<int>(r() % 8) + 2;
            for (int y = 0; y < 12; ++y)
                for (int x = 0; x < 12; ++x) {
                    bool on = false;
                    if (c == 0) on = y == a || y == a + 1;
                    if (c == 1) on = x == a || x == a + 1;
                    if (c == 2) on = std::abs(x - y - (a - 5)) <= 1;
                    if (c == 3) on = std::abs(x - a) <= 1 && std::abs(y - b) <= 1;
                    im.pixels[y * 12 + x] = static_cast<uint8_t>((on ? 200 : 0) + r() % 50);
                }
            char file[32];
            std::snprintf(file, sizeof file, "/%03d.png", i);
            vitedit::save_png(root + "/" + names[c] + file, im);
        }
    }
}

int run(const std::string& args, const std::string& log) {
    const char* be = std::getenv("VITEDIT_TEST_BACKEND");
    std::string cmd = std::string(VITEDIT_EXE) + " " + args;
    if (be && *be) cmd += std::string(" --backend ") + be;
    cmd += " > '" + log + "' 2>&1";
    const int st = std::system(cmd.c_str());
    const int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (rc != 0) UNSCOPED_INFO("command: " << cmd << "\nexit " << rc << "\n" << datatest::read_raw(log));
    return rc;
}

nlohmann::json training_meta(const std::string& model) {
    return nlohmann::json::parse(vitedit::read_safetensors(model).metadata.at("vitedit.training"));
}

}  // namespace

TEST_CASE("train: loss goes down; resume is bitwise identical; eval reports", "[train]") {
    TempDir d;
    const std::string data = d / "toy";
    write_toy_folder(data);
    const std::string common = "train --data '" + data + "' --epochs 8 --batch 16 --lr 3e-3 --warmup-epochs 0.5 --dim 32 "
                               "--depth 2 --heads 2 --mlp 64 --patch 4 --shift 1 --seed 3 --holdout-classes 3 --holdout-k 2";

    // Uninterrupted.
    REQUIRE(run(common + " --out '" + (d / "a.safetensors") + "'", d / "a.log") == 0);
    const auto meta = training_meta(d / "a.safetensors");
    CHECK(meta.at("complete").get<bool>());
    const auto& hist = meta.at("history");
    REQUIRE(hist.size() == 8);
    const double first = hist.front().at("loss").get<double>(), last = hist.back().at("loss").get<double>();
    INFO("train loss per epoch: " << hist.dump());
    CHECK(last < 0.8 * first);
    CHECK(hist.back().at("accuracy").get<double>() > 0.5);
    CHECK(std::filesystem::exists(d / "a.holdout.json"));
    const auto manifest = nlohmann::json::parse(datatest::read_raw(d / "a.holdout.json"));
    CHECK(manifest.at("k") == 2);
    CHECK(manifest.at("classes").at(0).at("label") == 3);
    CHECK(!manifest.at("train_indices").empty());

    // Stopped mid-epoch, then resumed.
    REQUIRE(run(common + " --max-steps 30 --out '" + (d / "b.safetensors") + "'", d / "b1.log") == 0);
    CHECK(std::filesystem::exists(d / "b.ckpt.safetensors"));
    CHECK_FALSE(training_meta(d / "b.safetensors").at("complete").get<bool>());
    REQUIRE(run(common + " --max-steps 60 --checkpoint-every-epoch --out '" + (d / "b.safetensors") + "' --resume", d / "b2.log") == 0);
    REQUIRE(run(common + " --out '" + (d / "b.safetensors") + "' --resume", d / "b3.log") == 0);
    CHECK_THAT(datatest::read_raw(d / "b2.log"), Contains("resuming from"));
    const auto a = vitedit::read_safetensors(d / "a.safetensors"), b = vitedit::read_safetensors(d / "b.safetensors");
    REQUIRE(a.tensors.size() == b.tensors.size());
    for (const auto& [name, t] : a.tensors) {
        INFO(name);
        REQUIRE(b.tensors.count(name));
        CHECK(t.shape == b.tensors.at(name).shape);
        CHECK(std::memcmp(t.data.data(), b.tensors.at(name).data.data(), t.data.size() * sizeof(float)) == 0);
    }
    CHECK(a.metadata.at("vitedit.holdout") == b.metadata.at("vitedit.holdout"));
    CHECK(training_meta(d / "b.safetensors").at("history") == hist);

    // A resume with other options is refused.
    CHECK(run(common + " --wd 0.01 --out '" + (d / "b.safetensors") + "' --resume", d / "c.log") == 1);
    CHECK_THAT(datatest::read_raw(d / "c.log"), Contains("other options") && Contains("weight_decay"));

    // eval: JSON with accuracy, n, per-class, confusion and the held-out split.
    REQUIRE(run("eval --model '" + (d / "a.safetensors") + "' --data '" + data + "' --json", d / "e.log") == 0);
    const std::string out = datatest::read_raw(d / "e.log");
    const auto j = nlohmann::json::parse(out.substr(out.rfind("\n{") + 1));
    CHECK(j.at("n") == 192);
    CHECK(j.at("accuracy").get<double>() > 0.5);
    CHECK(j.at("accuracy").get<double>() <= 1.0);
    CHECK(j.at("per_class").size() == 4);
    CHECK(j.at("confusion").size() == 4);
    CHECK(j.at("holdout_membership") == "indices");
    CHECK(j.at("n_holdout").get<int>() == static_cast<int>(manifest.at("train_indices").size()));
    CHECK(j.contains("accuracy_without_holdout"));
    REQUIRE(run("eval --model '" + (d / "a.safetensors") + "' --data '" + data + "' --json --exclude-holdout", d / "f.log") == 0);
    const std::string out2 = datatest::read_raw(d / "f.log");
    const auto k = nlohmann::json::parse(out2.substr(out2.rfind("\n{") + 1));
    CHECK(k.at("n").get<int>() == 192 - j.at("n_holdout").get<int>());
    CHECK(k.at("accuracy") == j.at("accuracy_without_holdout"));
}

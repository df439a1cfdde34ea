// Seeded k-means and the held-out subpopulations.
#include <catch2/catch.hpp>

#include <random>

#include "vitedit/backend.hpp"
#include "vitedit/holdout.hpp"

using namespace vitedit;
using Catch::Matchers::Contains;

namespace {

// Three well separated blobs in 16 dimensions, shuffled.
std::vector<std::vector<float>> blobs(std::vector<int>* truth) {
    std::mt19937_64 r(5);
    std::vector<std::vector<float>> pts;
    for (int i = 0; i < 150; ++i) {
        const int c = static_cast<int>(r() % 3);
        std::vector<float> p(16);
        for (int d = 0; d < 16; ++d) p[d] = (d % 3 == c ? 5.0f : 0.0f) + static_cast<float>(r() % 1000) / 1000.0f;
        pts.push_back(p);
        truth->push_back(c);
    }
    return pts;
}

// A data set of 8x8 gray images: class 0 has a bright top half (40 images) or a bright left half
// (20 images); class 1 is uniform grey.
Dataset toy(const std::string& spec) {
    Dataset d;
    d.spec = spec;
    std::mt19937_64 r(9);
    auto add = [&](int label, auto pixel) {
        Image im;
        im.width = im.height = 8, im.channels = 1;
        for (int y = 0; y < 8; ++y)
            for (int x = 0; x < 8; ++x) im.pixels.push_back(static_cast<uint8_t>(std::min<int>(255, pixel(y, x) + r() % 20)));
        d.images.push_back(im);
        d.labels.push_back(label);
    };
    for (int i = 0; i < 60; ++i) {
        if (i % 3 == 2) add(0, [](int, int x) { return x < 4 ? 220 : 10; });
        else add(0, [](int y, int) { return y < 4 ? 220 : 10; });
        add(1, [](int, int) { return 120; });
    }
    return d;
}

}  // namespace

TEST_CASE("k-means is deterministic and finds separated clusters", "[holdout]") {
    std::vector<int> truth;
    const auto pts = blobs(&truth);
    const KMeansResult a = kmeans(pts, 3, 42), b = kmeans(pts, 3, 42);
    CHECK(a.assignment == b.assignment);
    CHECK(a.centroids == b.centroids);
    // The clusters match the blobs up to relabelling.
    std::map<int, int> map;
    for (size_t i = 0; i < pts.size(); ++i) {
        auto [it, fresh] = map.emplace(truth[i], a.assignment[i]);
        CHECK(it->second == a.assignment[i]);
    }
    CHECK(map.size() == 3);
    int64_t total = 0;
    for (auto s : a.sizes) total += s;
    CHECK(total == 150);
    // Every point sits at its nearest centroid.
    for (size_t i = 0; i < pts.size(); ++i) CHECK(nearest_centroid(a.centroids, pts[i].data()) == a.assignment[i]);
    CHECK_THROWS_WITH(kmeans(pts, 0, 1), Contains("k = 0"));
    CHECK_THROWS(kmeans(std::vector<std::vector<float>>(2, std::vector<float>(3)), 3, 1));
}

TEST_CASE("held-out clusters: deterministic, recorded, and recomputable from centroids", "[holdout]") {
    const Dataset train = toy("toy:train");
    const Holdout a = make_holdout(train, {0}, 2, 7), b = make_holdout(train, {0}, 2, 7);
    CHECK(a.to_json() == b.to_json());
    REQUIRE(a.classes.size() == 1);
    const HoldoutClass& c = a.classes[0];
    CHECK(c.label == 0);
    CHECK(c.cluster_sizes[0] + c.cluster_sizes[1] == 60);
    CHECK(std::min(c.cluster_sizes[0], c.cluster_sizes[1]) == 20);  // the two appearances
    CHECK(a.train_indices.size() == static_cast<size_t>(c.cluster_sizes[c.held_cluster]));
    for (int64_t i : a.train_indices) CHECK(train.labels[i] == 0);

    // "smallest" holds out the 20 left-bright images.
    const Holdout s = make_holdout(train, {0}, 2, 7, "smallest");
    CHECK(s.train_indices.size() == 20);
    for (int64_t i : s.train_indices) CHECK(train.images[i].pixels[0 * 8 + 7] < 40);  // right half dark

    // JSON round trip, and membership by indices (same spec) or by centroids (other data).
    Holdout t = Holdout::from_json(s.to_json());
    CHECK(t.to_json() == s.to_json());
    std::string how;
    std::vector<bool> by_idx = t.membership(train, &how);
    CHECK(how == "indices");
    Dataset copy = train;
    copy.spec = "elsewhere";
    std::vector<bool> by_centroid = t.membership(copy, &how);
    CHECK(how == "centroids");
    CHECK(by_idx == by_centroid);

    Dataset test = toy("toy:test");
    assign_holdout_test(t, test);
    CHECK(t.has_test);
    CHECK(t.test_indices.size() == 20);
    CHECK(Holdout::from_json(t.to_json()).membership(test, &how) == t.membership(test));
    CHECK(how == "indices");

    CHECK_THROWS_WITH(make_holdout(train, {5}, 2, 7), Contains("class 5 has no images"));
    CHECK_THROWS_WITH(make_holdout(train, {0}, 2, 7, "biggest"), Contains("unknown policy"));
    CHECK_THROWS_WITH(Holdout::from_json("{}"), Contains("holdout"));
}

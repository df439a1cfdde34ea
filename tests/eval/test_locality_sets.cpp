// The locality sets' selection rules (the bundled benchmark's are checked in tests/bundle).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "vitedit/eval/locality_sets.hpp"

using namespace vitedit::eval;

TEST_CASE("the typical set draws correct, non-excluded images, seeded, in index order", "[locality_sets]") {
    const size_t N = 200;
    std::vector<int32_t> labels(N), pred(N);
    std::vector<bool> excl(N, false);
    for (size_t i = 0; i < N; ++i) {
        labels[i] = static_cast<int32_t>(i % 5);
        pred[i] = i % 7 == 0 ? -1 : labels[i];  // every 7th wrong
        excl[i] = i % 11 == 0;
    }
    const LocalityCandidates c{&pred, &labels, &excl};
    const auto a = draw_typical_set(c, 50, 3), b = draw_typical_set(c, 50, 3), other = draw_typical_set(c, 50, 4);
    CHECK(a == b);
    CHECK(a != other);
    REQUIRE(a.size() == 50);
    CHECK(std::is_sorted(a.begin(), a.end()));
    CHECK(std::set<int64_t>(a.begin(), a.end()).size() == 50);
    for (int64_t i : a) {
        CHECK(pred[i] == labels[i]);
        CHECK_FALSE(excl[i]);
    }
    const auto everything = draw_typical_set(c, 10000, 3);  // fewer qualify than asked
    size_t qualify = 0;
    for (size_t i = 0; i < N; ++i) qualify += !excl[i] && pred[i] == labels[i];
    CHECK(everything.size() == qualify);
}

TEST_CASE("the sensitive set is the narrowest-margin correct images", "[locality_sets]") {
    // Three images of two classes: margins from the logits' softmax.
    const std::vector<int32_t> labels{0, 1, 0, 1}, pred{0, 1, 0, 0};
    const std::vector<bool> excl{false, false, true, false};
    const std::vector<float> logits{3.0f, 0.0f, /**/ 0.1f, 0.2f, /**/ 0.0f, 0.0f, /**/ 1.0f, 0.0f};
    std::vector<double> m;
    const auto s = pick_sensitive_set({&pred, &labels, &excl}, logits, 2, 5, &m);
    CHECK(s == std::vector<int64_t>{1, 0});  // image 2 excluded, image 3 wrong
    REQUIRE(m.size() == 2);
    CHECK(m[0] < m[1]);
    CHECK_THROWS(pick_sensitive_set({&pred, &labels, &excl}, logits, 3, 5));
}

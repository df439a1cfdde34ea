// Fronts, ΔGR at matched locality and the paired bootstrap, on hand-made points with known answers.
#include <catch2/catch.hpp>

#include <random>

#include "vitedit/eval/compare.hpp"
#include "vitedit/eval/front.hpp"

using namespace vitedit::eval;
using Catch::Detail::Approx;

namespace {
Front front(std::vector<SweepPoint> p) { return build_front(p, 0.99); }
}  // namespace

TEST_CASE("a front keeps the undominated points that fix the edit images, by LR", "[front]") {
    const Front f = front({{0.90, 0.30, 1.0},   // on the front
                           {0.80, 0.50, 1.0},   // on the front
                           {0.85, 0.25, 1.0},   // dominated by (0.90, 0.30)
                           {0.95, 0.60, 0.50},  // would dominate, but fails SR
                           {0.90, 0.20, 1.0},   // same LR, lower GR
                           {0.70, 0.50, 1.0}}); // same GR, less local
    REQUIRE(f.points.size() == 2);
    CHECK(f.points[0].lr == 0.80);
    CHECK(f.points[0].gr == 0.50);
    CHECK(f.points[1].lr == 0.90);
    CHECK(f.points[1].gr == 0.30);
    CHECK(f.gr_at(0.85) == Approx(0.40));
    CHECK_THROWS(f.gr_at(0.95));
    CHECK(front({{0.9, 0.5, 0.5}}).empty());
}

TEST_CASE("ΔGR of a dominating front is its lead, of the reverse its negative", "[front]") {
    const Front a = front({{0.80, 0.50, 1}, {0.90, 0.30, 1}}), b = front({{0.80, 0.40, 1}, {0.90, 0.20, 1}});
    REQUIRE(delta_gr(a, b));
    CHECK(*delta_gr(a, b) == Approx(0.10));
    CHECK(*delta_gr(b, a) == Approx(-0.10));
    CHECK(*delta_gr(a, a) == Approx(0.0).margin(1e-15));
}

TEST_CASE("ΔGR of crossing fronts is the mean signed gap", "[front]") {
    // a − b is +0.2 at LR 0.8 and −0.1 at 0.9, linear between: mean +0.05.
    const Front a = front({{0.80, 0.60, 1}, {0.90, 0.10, 1}}), b = front({{0.80, 0.40, 1}, {0.90, 0.20, 1}});
    CHECK(*delta_gr(a, b) == Approx(0.05));
    // c has a breakpoint inside d's segment: the gap is piecewise linear over both sets of points.
    const Front c = front({{0.80, 0.45, 1}, {0.85, 0.40, 1}, {0.90, 0.20, 1}});
    REQUIRE(c.points.size() == 3);
    const Front d = front({{0.80, 0.50, 1}, {0.90, 0.30, 1}});
    // d − c: +0.05 at 0.80, 0 at 0.85, +0.10 at 0.90: means 0.025 and 0.05 over the two halves
    // (the endpoints alone would give 0.075).
    CHECK(*delta_gr(d, c) == Approx(0.0375));
}

TEST_CASE("ΔGR is taken over the common LR range only, and undefined without one", "[front]") {
    const Front a = front({{0.70, 0.60, 1}, {0.90, 0.20, 1}});  // GR = 0.6 − 2 (LR − 0.7)
    const Front b = front({{0.80, 0.30, 1}, {1.00, 0.10, 1}});  // GR = 0.3 − (LR − 0.8)
    // common range [0.8, 0.9]: a − b goes 0.4 − 0.3 = 0.1 to 0.2 − 0.2 = 0: mean 0.05.
    CHECK(*delta_gr(a, b) == Approx(0.05));
    const Front far = front({{0.95, 0.1, 1}, {0.99, 0.05, 1}});
    CHECK_FALSE(delta_gr(a, far));
    CHECK_FALSE(delta_gr(a, Front{}));
    // Fronts meeting at one LR: the difference there.
    const Front touch = front({{0.90, 0.15, 1}, {0.95, 0.05, 1}});
    CHECK(*delta_gr(a, touch) == Approx(0.05));
}

TEST_CASE("the best point under floors", "[front]") {
    const std::vector<SweepPoint> p = {{0.99, 0.10, 1}, {0.95, 0.30, 1}, {0.99, 0.20, 0.5}, {0.995, 0.15, 1}};
    CHECK(*best_point(p, 0.99) == 3);
    CHECK(*best_point(p, 0.90) == 1);
    CHECK_FALSE(best_point(p, 0.999));
}

namespace {
// A method whose GR per group is `base` plus noise; two sweep points at LR 0.8 and 0.9.
MethodSweep noisy_method(const std::string& name, double base, size_t groups, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> noise(0.0, 0.1);
    MethodSweep m{name, {{}, {}}};
    for (size_t p = 0; p < 2; ++p)
        for (size_t g = 0; g < groups; ++g)
            for (int e = 0; e < 3; ++e) {
                EditRecord r;
                r.group = g, r.image = e, r.sr = 1, r.has_gr = true;
                r.gr = base - 0.2 * static_cast<double>(p) + noise(rng);
                r.lr = r.lr_sensitive = 0.8 + 0.1 * static_cast<double>(p) + 0.01 * noise(rng);
                m.points[p].push_back(r);
            }
    return m;
}
// Every group twice (as groups G..2G−1): the same means, twice the evidence.
MethodSweep duplicated(const MethodSweep& m, size_t groups) {
    MethodSweep d = m;
    for (size_t p = 0; p < m.points.size(); ++p)
        for (auto r : m.points[p]) {
            r.group += groups;
            d.points[p].push_back(r);
        }
    return d;
}
}  // namespace

TEST_CASE("the paired bootstrap is deterministic for a seed and narrows as groups are duplicated", "[bootstrap]") {
    const size_t G = 12;
    const MethodSweep a = noisy_method("a", 0.5, G, 1), b = noisy_method("b", 0.45, G, 2);
    BootstrapOptions o;
    o.replicates = 1000;
    o.seed = 7;
    const DeltaGr d1 = PairedBootstrap(G, o).delta_gr(a, b, Axis::typical);
    const DeltaGr d2 = PairedBootstrap(G, o).delta_gr(a, b, Axis::typical);
    REQUIRE(d1.lo);
    CHECK(*d1.lo == *d2.lo);
    CHECK(*d1.hi == *d2.hi);
    CHECK(*d1.lo < *d1.delta);
    CHECK(*d1.delta < *d1.hi);
    CHECK(d1.defined == 1000);
    o.seed = 8;
    const DeltaGr d3 = PairedBootstrap(G, o).delta_gr(a, b, Axis::typical);
    CHECK((*d3.lo != *d1.lo || *d3.hi != *d1.hi));

    o.seed = 7;
    const DeltaGr dd = PairedBootstrap(2 * G, o).delta_gr(duplicated(a, G), duplicated(b, G), Axis::typical);
    CHECK(*dd.delta == Approx(*d1.delta));
    const double w1 = *d1.hi - *d1.lo, w2 = *dd.hi - *dd.lo;
    CHECK(w2 < 0.85 * w1);  // ~1/sqrt(2) of the width
    CHECK(w2 > 0.55 * w1);
}

TEST_CASE("a clear lead is significant, a method against itself is a tie", "[bootstrap]") {
    const size_t G = 10;
    const MethodSweep a = noisy_method("a", 0.7, G, 3), b = noisy_method("b", 0.4, G, 4);
    const PairedBootstrap boot(G, {500, 1, 0.99, 0.95});
    const DeltaGr d = boot.delta_gr(a, b, Axis::sensitive);
    CHECK(d.significant());
    CHECK(*d.lo > 0);
    const DeltaGr self = boot.delta_gr(a, a, Axis::sensitive);
    CHECK(*self.delta == Approx(0.0).margin(1e-12));
    CHECK_FALSE(self.significant());
}

TEST_CASE("group sums resample the edits' means", "[bootstrap]") {
    std::vector<EditRecord> e(3);
    e[0].group = 0, e[0].sr = 1, e[0].gr = 0.2, e[0].has_gr = true, e[0].lr = 0.9;
    e[1].group = 1, e[1].sr = 0, e[1].gr = 0.6, e[1].has_gr = true, e[1].lr = 0.7;
    e[2].group = 1, e[2].sr = 1, e[2].has_gr = false, e[2].lr = 0.8;
    const GroupSums s(e, 2);
    const Summary all = s.weighted({1, 1});
    CHECK(all.sr == Approx(2.0 / 3));
    CHECK(all.gr == Approx(0.4));
    CHECK(all.lr == Approx(0.8));
    const Summary twice0 = s.weighted({2, 0});
    CHECK(twice0.gr == Approx(0.2));
    CHECK(twice0.edits == 2);
    CHECK_THROWS(GroupSums(e, 1));
}

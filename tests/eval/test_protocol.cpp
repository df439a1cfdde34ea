// Protocols expand to the options they name; explicit options override them.
#include <catch2/catch.hpp>

#include <algorithm>

#include "vitedit/eval/metrics.hpp"
#include "vitedit/eval/protocol.hpp"

using namespace vitedit::eval;

namespace {
std::vector<std::string> values(const std::vector<ProtocolOption>& o, const std::string& key) {
    std::vector<std::string> v;
    for (const auto& x : o)
        if (x.key == key) v.push_back(x.value);
    return v;
}
}  // namespace

TEST_CASE("the paper protocol is the reference setting", "[protocol]") {
    CHECK(values(find_protocol("paper-reference").options, "editor") == std::vector<std::string>{"rmsprop:lr=2e-5,steps=100,stop_loss=0.01"});
    const Protocol& p = find_protocol("paper");
    const auto all = protocol_defaults(p, {});
    CHECK(values(all, "editor") == std::vector<std::string>{"rmsprop:lr=5e-4,steps=100,stop_loss=0.01"});
    CHECK(values(find_protocol("paper-reference").options, "sweep") == values(all, "sweep"));
    CHECK(values(all, "locator") == std::vector<std::string>{"hypernet", "saliency", "random"});
    CHECK(values(all, "baseline") == std::vector<std::string>{"ft-l1", "ft-l2"});
    CHECK(values(all, "sweep") == std::vector<std::string>{"sparsity=0.05,0.1,0.25,0.5,0.75"});
    CHECK(values(all, "penalty") == std::vector<std::string>{"0.1,0.05,0.025,0.01,0.005,0.001,0"});
    CHECK(values(all, "max-edits-per-group") == std::vector<std::string>{"3"});
}

TEST_CASE("explicit options override a protocol's; the methods are one choice", "[protocol]") {
    const Protocol& p = find_protocol("paper");
    const auto rest = protocol_defaults(p, {"editor", "model", "seed"});
    CHECK(values(rest, "editor").empty());
    CHECK(values(rest, "locator").size() == 3);
    const auto one = protocol_defaults(p, {"locator"});
    CHECK(values(one, "locator").empty());
    CHECK(values(one, "baseline").empty());  // --locator X means: only X
    CHECK(values(one, "sweep").size() == 1);
    CHECK(protocol_defaults(p, {"baseline"}).size() == p.options.size() - 5);
    CHECK(override_group("baseline") == "methods");
    CHECK(override_group("sweep") == "sweep");
}

TEST_CASE("protocols are found by name; an unknown one names the known", "[protocol]") {
    CHECK(protocols().front().name == default_protocol());
    CHECK(find_protocol("quick").name == "quick");
    CHECK(find_protocol("none").options.empty());
    try {
        find_protocol("papr");
        FAIL("no error");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("paper") != std::string::npos);
    }
}

TEST_CASE("SR, GR, LR and accuracy are defined once", "[metrics]") {
    CHECK(generalization_rate({3, 3, 1, 3}, 3) == 0.75);
    CHECK(generalization_rate({3, 3, 1, 3}, 3, {0, 1}) == 0.5);  // the edit images excluded
    CHECK(generalization_rate({3}, 3, {0}) < 0);                  // nothing left
    CHECK(locality_rate({1, 2, 3, 4}, {1, 2, 0, 4}) == 0.75);
    CHECK(locality_rate({}, {}) == 1.0);
    CHECK_THROWS(locality_rate({1}, {1, 2}));
    CHECK(success_rate({1, 2}, {1, 1}) == 0.5);
    CHECK(accuracy({0, 1, 2, 3}, {0, 1, 2, 0}) == 0.75);
}

// vitedit host — best sweep point per locator under locality/success floors.
#include "bench_summary.hpp"

#include <iomanip>

namespace vitedit::cli {

nlohmann::json best_under_floors(const nlohmann::json& runs, const Floors& floors) {
    nlohmann::json out = nlohmann::json::array();
    auto entry_for = [&](const std::string& locator) -> nlohmann::json& {
        for (auto& e : out)
            if (e["locator"] == locator) return e;
        out.push_back({{"locator", locator}, {"min_LR", floors.min_lr}, {"min_SR", floors.min_sr}, {"best", nullptr}});
        return out.back();
    };
    for (const auto& r : runs) {
        nlohmann::json& e = entry_for(r["locator"].get<std::string>());
        const double sr = r["SR"].get<double>(), gr = r["GR"].get<double>(), lr = r["LR"].get<double>();
        if (lr < floors.min_lr || sr < floors.min_sr) continue;
        if (!e["best"].is_null() && e["best"]["GR"].get<double>() >= gr) continue;
        e["best"] = {{"SR", sr}, {"GR", gr}, {"LR", lr}};
        if (r.contains("sweep")) e["best"]["sweep"] = r["sweep"];
    }
    return out;
}

void print_best(std::ostream& out, const nlohmann::json& best) {
    if (best.empty()) return;
    out << std::fixed << std::setprecision(2) << "best GR with LR >= " << best[0]["min_LR"].get<double>() << " and SR >= " << best[0]["min_SR"].get<double>()
        << ":\n";
    for (const auto& e : best) {
        out << "  " << std::left << std::setw(12) << e["locator"].get<std::string>() << std::right;
        if (e["best"].is_null()) {
            out << "no sweep point meets the floors\n";
            continue;
        }
        const auto& b = e["best"];
        out << std::fixed << std::setprecision(3) << "GR " << b["GR"].get<double>() << "  (LR " << b["LR"].get<double>()
            << ", SR " << b["SR"].get<double>() << ")";
        if (b.contains("sweep")) out << " at " << b["sweep"]["key"].get<std::string>() << "=" << b["sweep"]["value"].get<std::string>();
        out << "\n";
    }
}

}  // namespace vitedit::cli

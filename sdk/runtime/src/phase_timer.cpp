// vitedit — per-phase wall-clock times.
#include "vitedit/phase_timer.hpp"

#include <cstdio>

namespace vitedit {

void PhaseTimer::add(const std::string& phase, double seconds) {
    for (auto& [name, s] : phases_)
        if (name == phase) {
            s += seconds;
            return;
        }
    phases_.emplace_back(phase, seconds);
}

void PhaseTimer::begin(const std::string& phase) {
    end();
    add(phase, 0.0);  // listed from when it starts, before phases that end inside it
    begun_ = phase;
    begun_at_ = Clock::now();
}

void PhaseTimer::end() {
    if (begun_.empty()) return;
    add(begun_, std::chrono::duration<double>(Clock::now() - begun_at_).count());
    begun_.clear();
}

double PhaseTimer::seconds(const std::string& phase) const {
    for (const auto& [name, s] : phases_)
        if (name == phase) return s;
    return 0.0;
}

double PhaseTimer::total() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

std::string PhaseTimer::summary() const {
    std::string out;
    char buf[64];
    for (const auto& [name, s] : phases_) {
        std::snprintf(buf, sizeof buf, "%.3g s", s);
        out += (out.empty() ? "" : ", ") + name + " " + buf;
    }
    return out;
}

}  // namespace vitedit

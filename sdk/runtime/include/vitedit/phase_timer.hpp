// vitedit — wall-clock seconds per named phase of a command (load, hash, prefix, ...).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace vitedit {

// Accumulates the wall time of named phases, listed in the order they first ran. A phase may
// run several times (its seconds add up); time outside every phase counts in total() only.
class PhaseTimer {
public:
    PhaseTimer() : start_(Clock::now()) {}

    // Runs f(), adds its wall time to `phase` (also when f throws) and returns what f returns.
    template <class F>
    decltype(auto) time(const std::string& phase, F&& f) {
        Scope s(*this, phase);
        return f();
    }
    // For a phase that is a stretch of code rather than one call: begin() starts it (ending the
    // one begun before, if any), end() ends it.
    void begin(const std::string& phase);
    void end();
    void add(const std::string& phase, double seconds);
    double seconds(const std::string& phase) const;  // 0 for a phase that never ran
    double total() const;                            // since construction
    const std::vector<std::pair<std::string, double>>& phases() const { return phases_; }
    // "load 0.21 s, hash 0.20 s, ..." for the human-readable reports.
    std::string summary() const;

private:
    using Clock = std::chrono::steady_clock;
    struct Scope {
        Scope(PhaseTimer& t, const std::string& p) : timer(t), phase(p), t0(Clock::now()) {}
        ~Scope() { timer.add(phase, std::chrono::duration<double>(Clock::now() - t0).count()); }
        PhaseTimer& timer;
        const std::string& phase;
        Clock::time_point t0;
    };
    Clock::time_point start_, begun_at_;
    std::string begun_;  // the phase begin() started, "" when none runs
    std::vector<std::pair<std::string, double>> phases_;
};

}  // namespace vitedit

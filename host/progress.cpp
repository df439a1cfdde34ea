// vitedit host — the progress bar.
#include "progress.hpp"

#include "mpi_world.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <iomanip>

#include <unistd.h>

namespace vitedit::cli {

Progress::Progress(std::string label, int64_t total, int64_t start, double items_per_step, double line_interval_s)
    : label_(std::move(label)), total_(total), start_(start), done_(start), items_per_step_(items_per_step),
      interval_(line_interval_s), tty_(isatty(fileno(stderr)) == 1), silent_(!World::get().root()) {
    t0_ = last_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
    if (!finished_ && open_ && tty_) std::cerr << "\n";
}

std::string Progress::format_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "--:--";
    const int64_t t = static_cast<int64_t>(std::llround(s));
    char buf[32];
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                                 static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
    else std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
    return buf;
}

std::string Progress::render(bool final) const {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
    const int64_t steps = done_ - start_;
    const double rate = elapsed > 0 ? steps / elapsed : 0;
    std::ostringstream o;
    o << label_ << " ";
    const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(done_) / total_) : 0;
    if (tty_) {
        const int width = 24, fill = static_cast<int>(frac * width);
        o << "[" << std::string(fill, '=') << (fill < width ? ">" : "") << std::string(std::max(0, width - fill - 1), ' ') << "] ";
    }
    o << done_ << "/" << total_ << " (" << std::fixed << std::setprecision(1) << 100 * frac << "%)";
    if (!note_.empty()) o << " " << note_;
    o << std::defaultfloat;
    for (const auto& [k, v] : metrics_) o << " " << k << " " << std::setprecision(4) << v;
    o << std::fixed;
    o << std::setprecision(rate < 10 ? 2 : 1) << " " << rate << " it/s";
    if (items_per_step_ > 0) o << std::setprecision(0) << " " << rate * items_per_step_ << " img/s";
    if (final) o << " in " << format_duration(elapsed);
    else o << " ETA " << format_duration(rate > 0 ? (total_ - done_) / rate : -1);
    return o.str();
}

void Progress::draw(bool final) {
    if (silent_) return;
    const std::string line = render(final);
    if (tty_) {
        std::cerr << "\r" << line << "\x1b[K";
        if (final) std::cerr << "\n";
        open_ = !final;
    } else {
        std::cerr << line << "\n";
    }
    std::cerr.flush();
}

void Progress::update(int64_t done, const std::vector<std::pair<std::string, double>>& metrics, const std::string& note) {
    done_ = done;
    if (!metrics.empty()) metrics_ = metrics;
    if (!note.empty()) note_ = note;
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    if (since >= (tty_ ? 0.1 : interval_)) {
        last_ = now;
        draw(false);
    }
}

void Progress::finish() {
    if (finished_) return;
    finished_ = true;
    draw(true);
}

void Progress::message(const std::string& text) {
    if (silent_) return;
    if (tty_ && open_) std::cerr << "\r\x1b[K";
    std::cerr << text << "\n";
    if (tty_ && open_) std::cerr << render(false);
    std::cerr.flush();
}

}  // namespace vitedit::cli

// vitedit host — a progress bar on stderr: done/total, named metrics, it/s, ETA.
//
// On a terminal it redraws one line with '\r' (at most ~10 times a second); otherwise (a log file,
// a pipe) it prints a full line every few seconds, so logs stay readable. In an MPI job only rank
// 0 draws: the bar shows rank 0's share.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vitedit::cli {

class Progress {
public:
    // total: the number of steps of the whole run; start: steps already done (a resumed run).
    // items_per_step: to show items/s (e.g. images) beside it/s; 0 hides it.
    Progress(std::string label, int64_t total, int64_t start = 0, double items_per_step = 0,
             double line_interval_s = 5.0);
    ~Progress();

    // Reports `done` steps finished, with metrics such as {"loss", 0.51}, and a free-form note
    // ("epoch 3/20"). Draws when due.
    void update(int64_t done, const std::vector<std::pair<std::string, double>>& metrics = {},
                const std::string& note = "");
    // Draws the final state and ends the line.
    void finish();
    // Prints a message on its own line without garbling the bar.
    void message(const std::string& text);

    static std::string format_duration(double seconds);  // "1:02:03", "4:05"
    bool tty() const { return tty_; }

private:
    void draw(bool final);
    std::string render(bool final) const;

    std::string label_;
    int64_t total_, start_, done_;
    double items_per_step_, interval_;
    bool tty_, silent_, open_ = false, finished_ = false;
    std::vector<std::pair<std::string, double>> metrics_;
    std::string note_;
    std::chrono::steady_clock::time_point t0_, last_;
};

}  // namespace vitedit::cli

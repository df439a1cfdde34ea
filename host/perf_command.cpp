// vitedit perf — the whole edit command against the Python PyTorch eager script, cold processes.
#include "perf_command.hpp"
#include "scratch_dir.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <random>
#include <sstream>

#include <boost/filesystem.hpp>

#include "vitedit/backend.hpp"
#include "vitedit/safetensors.hpp"

namespace vitedit::cli {

namespace {

namespace fs = boost::filesystem;

// A binary PGM/PPM of seeded noise at the model's input size: a format both sides read as is.
void write_noise_image(const std::string& path, const VitConfig& cfg) {
    std::mt19937_64 rng(11);
    std::ostringstream o;
    o << (cfg.in_chans == 1 ? "P5 " : "P6 ") << cfg.image_w() << " " << cfg.image_h() << " 255\n";
    std::string bytes = o.str();
    for (int64_t i = 0; i < int64_t(cfg.in_chans) * cfg.image_h() * cfg.image_w(); ++i)
        bytes += static_cast<char>(rng() & 0xff);
    write_file_atomic(path, bytes);
}

struct Run {
    double wall_s = 0;
    nlohmann::json report;  // what the command printed (its phases, peak RSS)
};

// Runs `cmd` (stdout to `out`), timing its whole process; `ok_codes` are the exit statuses that
// count as done (an edit that did not fix its image exits 3 yet did all the work).
Run timed(const std::string& cmd, const std::string& out, const std::string& what) {
    const auto t0 = std::chrono::steady_clock::now();
    const int rc = std::system((cmd + " > '" + out + "'").c_str());
    Run r;
    r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const int status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    if (status != 0 && status != 3) throw Error(what + " (" + cmd + ") failed with status " + std::to_string(rc));
    std::ifstream in(out);
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty() && line[0] == '{') last = line;
    if (last.empty()) throw Error(what + " printed no JSON report");
    r.report = nlohmann::json::parse(last);
    return r;
}

nlohmann::json side(std::vector<Run> runs) {
    std::vector<double> each;
    for (const Run& r : runs) each.push_back(r.wall_s);
    std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) { return a.wall_s < b.wall_s; });
    const Run& median = runs[runs.size() / 2];
    nlohmann::json j = {{"wall_s", median.wall_s}, {"wall_s_each", each}};
    for (const char* k : {"phases", "peak_rss_mb"})
        if (median.report.contains(k)) j[k] = median.report[k];
    return j;
}

}  // namespace

nlohmann::json race_edit_command(const ModelFile& model, const CommandRace& race, bool quiet) {
    const VitConfig& cfg = model.config;
    const ScratchDir scratch("vitedit-perf-command-");
    const fs::path& dir = scratch.path();
    std::string model_path = model.path;
    if (model_path.empty() || !fs::exists(model_path)) {
        model_path = (dir / "model.safetensors").string();
        save_model(model_path, cfg, model.tensors);
    }
    const std::string image = (dir / (cfg.in_chans == 1 ? "image.pgm" : "image.ppm")).string();
    write_noise_image(image, cfg);
    const int label = 1 % cfg.num_classes;
    std::ostringstream lr;
    lr << std::setprecision(15) << race.lr;
    std::ostringstream sparsity;
    sparsity << std::setprecision(15) << race.sparsity;
    const std::string common = " --model '" + model_path + "' --image '" + image + "' --label " + std::to_string(label);
    const std::string mine = "'" + race.vitedit + "' edit" + common + " --patch '" + (dir / "edit.vtp").string() +
                             "' --force --json" + (race.backend.empty() ? "" : " --backend " + race.backend) + " --locator saliency --sparsity " +
                             sparsity.str() + " --editor rmsprop:lr=" + lr.str() + ",steps=" + std::to_string(race.steps) +
                             ",stop_loss=0";
    const std::string theirs = "OMP_NUM_THREADS=" + std::to_string(race.threads) + " " + race.python + " --edit-command" +
                               common + " --out '" + (dir / "python-edit.safetensors").string() + "' --sparsity " +
                               sparsity.str() + " --steps " + std::to_string(race.steps) + " --lr " + lr.str() +
                               " --threads " + std::to_string(race.threads);
    std::vector<Run> v, p;
    for (int k = 0; k < race.runs; ++k) {
        if (!quiet) std::cerr << "perf: whole edit command, run " << k + 1 << " of " << race.runs << " each side\n";
        v.push_back(timed(mine, (dir / "vitedit.out").string(), "vitedit edit"));
        p.push_back(timed(theirs, (dir / "python.out").string(), "the Python PyTorch edit script"));
    }
    nlohmann::json j = {{"steps", race.steps}, {"sparsity", race.sparsity}, {"locator", "saliency"},
                        {"vitedit", side(v)}, {"python", side(p)}};
    j["speedup"] = j["python"]["wall_s"].get<double>() / j["vitedit"]["wall_s"].get<double>();
    return j;
}

}  // namespace vitedit::cli

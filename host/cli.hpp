// vitedit host — what every command shares: the command table, common options, the registry.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "vitedit/phase_timer.hpp"

#include "vitedit/registry.hpp"
#include "vitedit/vit_config.hpp"

namespace vitedit::cli {

namespace po = boost::program_options;

// A bad command line: printed with the command's usage, exit status 2.
struct UsageError : std::runtime_error { using std::runtime_error::runtime_error; };

struct Command {
    const char* name;
    const char* summary;
    std::function<int(const std::vector<std::string>& args)> run;
    bool multi_rank = false;  // shares its work across the ranks of `mpirun -np N` (docs/scaling.md)
};
const std::vector<Command>& commands();

// Parses args against desc (+ --help). Returns false when --help was printed.
bool parse(const std::string& command, const std::string& usage, po::options_description& desc,
           const std::vector<std::string>& args, po::variables_map& vm,
           const po::positional_options_description* positional = nullptr);

// --plugin-dir (repeatable) and --backend.
void add_plugin_options(po::options_description& desc);
// --backend and --precision (f32, or bf16 GEMMs on the onednn backend).
void add_backend_option(po::options_description& desc);
// The backend's config string from --precision and, where the command has it, --backend-config.
std::string backend_config(const po::variables_map& vm);
// The backend --backend names (or the best usable one), configured by backend_config(); refuses
// --precision bf16 on a backend that does not provide it.
std::shared_ptr<Backend> create_backend(const po::variables_map& vm);
void check_precision(const po::variables_map& vm, const Backend& backend);
// Scans the search path (explicit --plugin-dir first).
Registry& registry(const po::variables_map& vm);

// --cache-mb: the budget of the frozen-prefix cache of evaluation image sets; bytes, or -1 for
// no limit (the default).
void add_cache_option(po::options_description& desc);
int64_t cache_budget_bytes(const po::variables_map& vm);
// Says on stderr how much of an image set the budget let be cached, when not all of it.
void report_cache(const std::string& what, int64_t cached, int64_t total, const po::variables_map& vm);
// Peak resident memory of this process so far (VmHWM; getrusage where /proc is missing), MiB.
double peak_rss_mb();
// Starts a new peak: peak_rss_mb() then reports the peak since this call (Linux clear_refs);
// false where the kernel does not allow it (the peak stays the process' own).
bool reset_peak_rss();

// A command's phases for its --json report: {"load": seconds, ..., "total": seconds}.
nlohmann::json phases_json(const PhaseTimer& phases);
// The same for people (-v): "phases: load 0.21 s, ... (total 3.2 s), peak RSS 700 MB".
void print_phases(std::ostream& out, const PhaseTimer& phases);

// --heads, --ln-eps, --mean, --std, --classes: override the model file's metadata.
void add_model_overrides(po::options_description& desc);
ConfigOverrides model_overrides(const po::variables_map& vm);

}  // namespace vitedit::cli

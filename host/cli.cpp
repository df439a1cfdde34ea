// vitedit host — shared option handling.
#include "cli.hpp"

#include <malloc.h>
#include <sys/resource.h>

#include <fstream>
#include <iostream>
#include <sstream>

namespace vitedit::cli {

void add_cache_option(po::options_description& desc) {
    desc.add_options()("cache-mb", po::value<double>(),
                       "memory budget (MiB) for the cached frozen prefix of evaluation images; images beyond it are "
                       "recomputed from scratch at every evaluation (default: no limit)");
}

int64_t cache_budget_bytes(const po::variables_map& vm) {
    if (!vm.count("cache-mb")) return -1;
    const double mb = vm["cache-mb"].as<double>();
    if (!(mb >= 0)) throw UsageError("--cache-mb must be >= 0");
    return static_cast<int64_t>(mb * 1024.0 * 1024.0);
}

void report_cache(const std::string& what, int64_t cached, int64_t total, const po::variables_map& vm) {
    if (cached >= total || !vm.count("cache-mb")) return;
    std::cerr << "note: --cache-mb " << vm["cache-mb"].as<double>() << " holds the frozen prefix of " << cached << " of "
              << total << " " << what << "; the other " << (total - cached)
              << " run the whole model at every evaluation (slower)\n";
}

double peak_rss_mb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0;  // KiB on Linux
}

nlohmann::json phases_json(const PhaseTimer& phases) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, s] : phases.phases()) j[name] = s;
    j["total"] = phases.total();
    return j;
}

void print_phases(std::ostream& out, const PhaseTimer& phases) {
    char total[64];
    std::snprintf(total, sizeof total, "%.3g s), peak RSS %.0f MB", phases.total(), peak_rss_mb());
    out << "phases: " << phases.summary() << " (total " << total << "\n";
}

bool reset_peak_rss() {
    malloc_trim(0);  // hand freed heap back first, or it still counts as resident
    std::ofstream out("/proc/self/clear_refs");
    out << "5";  // 5: reset the peak resident set size (VmHWM) to the current one
    out.flush();
    return static_cast<bool>(out);
}

bool parse(const std::string& command, const std::string& usage, po::options_description& desc,
           const std::vector<std::string>& args, po::variables_map& vm,
           const po::positional_options_description* positional) {
    desc.add_options()("help,h", "show this help");
    try {
        auto parser = po::command_line_parser(args).options(desc);
        if (positional) parser.positional(*positional);
        po::store(parser.run(), vm);
        if (vm.count("help")) {
            std::cout << "usage: vitedit " << command << " " << usage << "\n\n" << desc << "\n";
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::ostringstream o;
        o << e.what() << "\nusage: vitedit " << command << " " << usage << "\n(see `vitedit " << command << " --help`)";
        throw UsageError(o.str());
    }
    return true;
}

void add_plugin_options(po::options_description& desc) {
    desc.add_options()("plugin-dir", po::value<std::vector<std::string>>()->composing(),
                       "extra directory to search for backends and plugins (repeatable; searched before "
                       "$VITEDIT_PLUGIN_PATH, the install's and the executable's plugin folders)");
}

void add_backend_option(po::options_description& desc) {
    desc.add_options()("backend", po::value<std::string>()->default_value(""),
                       "compute backend: onednn, torch, cuda (default: the best usable one)")
        ("precision", po::value<std::string>()->default_value("f32"),
         "matrix-product precision: f32, or bf16 (onednn: bf16 operands, f32 accumulation, f32 master weights)")
        ("backend-config", po::value<std::string>()->default_value(""),
         "backend settings, key=value,... (onednn: max_gemm_plans=N, weight_cache_mb=N — packed copies of unchanged "
         "weights, default 1024, 0 = none)");
}

std::string backend_config(const po::variables_map& vm) {
    std::string config = vm.count("backend-config") ? vm["backend-config"].as<std::string>() : "";
    const std::string precision = vm.count("precision") ? vm["precision"].as<std::string>() : "f32";
    if (precision != "f32" && precision != "bf16")
        throw UsageError("--precision '" + precision + "': expected f32 or bf16");
    if (precision == "bf16") {
        const std::string name = vm["backend"].as<std::string>();
        if (!name.empty() && name != "onednn")
            throw UsageError("--precision bf16 is provided by the onednn backend only, not '" + name + "'");
        config += std::string(config.empty() ? "" : ",") + "precision=bf16";
    }
    return config;
}

void check_precision(const po::variables_map& vm, const Backend& backend) {
    if (vm.count("precision") && vm["precision"].as<std::string>() == "bf16" && backend.name() != "onednn")
        throw UsageError(std::string("--precision bf16 is provided by the onednn backend only; the best usable backend here is '") +
                         backend.name() + "' (choose --backend onednn)");
}

std::shared_ptr<Backend> create_backend(const po::variables_map& vm) {
    auto backend = registry(vm).create_backend(vm["backend"].as<std::string>(), backend_config(vm));
    check_precision(vm, *backend);
    return backend;
}

Registry& registry(const po::variables_map& vm) {
    static Registry reg;
    static bool scanned = false;
    if (!scanned) {
        std::vector<std::string> dirs;
        if (vm.count("plugin-dir")) dirs = vm["plugin-dir"].as<std::vector<std::string>>();
        reg.scan(Registry::default_search_path(dirs));
        scanned = true;
    }
    return reg;
}

void add_model_overrides(po::options_description& desc) {
    desc.add_options()
        ("heads", po::value<int>(), "attention heads (overrides the file's vitedit.num_heads)")
        ("ln-eps", po::value<float>(), "LayerNorm epsilon (overrides vitedit.ln_eps)")
        ("mean", po::value<std::string>(), "input mean, one value or one per channel, comma-separated")
        ("std", po::value<std::string>(), "input std, one value or one per channel, comma-separated")
        ("classes", po::value<std::string>(), "class names, comma-separated");
}

static std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) out.push_back(item);
    return out;
}

static std::vector<float> floats(const std::string& s, const char* flag) {
    std::vector<float> v;
    for (const auto& x : split_commas(s)) {
        try {
            size_t used = 0;
            v.push_back(std::stof(x, &used));
            if (used != x.size()) throw std::invalid_argument(x);
        } catch (const std::exception&) {
            throw UsageError(std::string("--") + flag + ": '" + x + "' is not a number");
        }
    }
    return v;
}

ConfigOverrides model_overrides(const po::variables_map& vm) {
    ConfigOverrides o;
    if (vm.count("heads")) {
        o.heads = vm["heads"].as<int>();
        if (o.heads <= 0) throw UsageError("--heads must be positive");
    }
    if (vm.count("ln-eps")) {
        o.ln_eps = vm["ln-eps"].as<float>();
        if (!(o.ln_eps > 0)) throw UsageError("--ln-eps must be positive");
    }
    if (vm.count("mean")) o.mean = floats(vm["mean"].as<std::string>(), "mean");
    if (vm.count("std")) o.std = floats(vm["std"].as<std::string>(), "std");
    if (vm.count("classes")) o.classes = split_commas(vm["classes"].as<std::string>());
    return o;
}

}  // namespace vitedit::cli

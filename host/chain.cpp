// vitedit host — chain options and the chain.ini reader.
#include "chain.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include <boost/filesystem.hpp>

namespace vitedit::cli {

namespace {
std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t\r"), b = s.find_last_not_of(" \t\r");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

void read_ini(const std::string& path, Chain& chain) {
    std::ifstream in(path);
    if (!in) throw Error(path + ": cannot open chain config");
    parse_chain_ini(in, path, chain);
}
}  // namespace

void parse_chain_ini(std::istream& in, const std::string& path, Chain& chain) {
    // Boost's config-file grammar: [section] headers, key = value lines, '#' comments; a key in
    // section S arrives as "S.key". Every key is a plugin's own, so none is registered.
    po::parsed_options parsed(nullptr);
    try {
        parsed = po::parse_config_file(in, po::options_description(), true);
    } catch (const po::error& e) {
        throw Error(path + ": " + e.what());
    }
    std::set<std::string> seen;
    for (const po::option& o : parsed.options) {
        const std::string& full = o.string_key;
        const std::string value = o.value.empty() ? std::string() : o.value.front();
        auto bad = [&](const std::string& why) { throw Error(path + ": " + full + ": " + why); };
        const auto dot = full.find('.');
        if (dot == std::string::npos) bad("key outside a section (expected [locator], [editor] or [sites])");
        const std::string section = full.substr(0, dot), key = full.substr(dot + 1);
        if (section != "locator" && section != "editor" && section != "sites")
            bad("unknown section [" + section + "] (expected [locator], [editor] or [sites])");
        if (!seen.insert(full).second) bad("given twice");
        if (section == "sites") {
            if (key != "blocks") bad("unknown key in [sites] (expected blocks)");
            chain.edit_blocks = parse_blocks(value);
            continue;
        }
        // A plugin sees its options as one "key=value,..." string: a ',' or '=' inside a key, or a
        // ',' inside a value, would silently become other options; a NUL would cut it short.
        if (key.empty() || key.find_first_of(",=") != std::string::npos) bad("not a valid key");
        for (char c : full + value)
            if (static_cast<unsigned char>(c) < 0x20 && c != '\t') bad("control character (code " + std::to_string(static_cast<int>(c)) + ")");
        if (value.find(',') != std::string::npos) bad("the value contains ',' (one value per key)");
        PluginSpec& spec = section == "locator" ? chain.locator : chain.editor;
        if (key == "name") {
            if (value.empty() || value.find(':') != std::string::npos) bad("'" + value + "' is not a plugin name");
            spec.name = value;
        } else {
            spec.options[key] = value;
        }
    }
}

std::vector<int> parse_blocks(const std::string& text) {
    std::vector<int> blocks;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            int b = std::stoi(trim(item), &used);
            if (used != trim(item).size() || b < 0) throw std::invalid_argument("");
            blocks.push_back(b);
        } catch (const std::exception&) {
            throw UsageError("--edit-blocks: '" + item + "' is not a block index (expected e.g. 7,8,9)");
        }
    }
    if (blocks.empty()) throw UsageError("--edit-blocks: no blocks given");
    return blocks;
}

std::string companion_path(const std::string& path, const std::string& suffix) {
    const std::string ext = ".safetensors";
    if (path.size() > ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0)
        return path.substr(0, path.size() - ext.size()) + suffix;
    return path + suffix;
}

std::string default_locator() { return std::string("saliency:sparsity=") + kDefaultSparsity; }

bool has_hypernet(const std::string& model_path) {
    boost::system::error_code ec;
    return boost::filesystem::exists(companion_path(model_path, ".hypernet.safetensors"), ec);
}

void add_chain_options(po::options_description& desc) {
    desc.add_options()
        ("locator", po::value<std::string>(), (std::string("where to edit: NAME[:key=val,...] (default: saliency, sparsity ") + kDefaultSparsity +
                                                           ", the best measured; hypernet uses MODEL.hypernet.safetensors); every locator takes "
                                                           "sparsity (fraction of site neurons kept) and seed").c_str())
        ("editor", po::value<std::string>(), (std::string("how to edit: NAME[:key=val,...] (default ") + kDefaultEditor +
                                              "); editors take lr, steps, stop_loss").c_str())
        ("sparsity", po::value<double>(), "the budget: fraction of the sites' neurons the edit may change (overrides the locator's "
                                          "sparsity=). Higher generalizes further, lower disturbs less: see the GR-LR curve in the README")
        ("edit-blocks", po::value<std::string>(), "blocks whose fc1/fc2 are the edit sites, e.g. 7,8,9 (default: the last 2 blocks of models up to 8 deep, else 3 from floor(7*depth/12))")
        ("config", po::value<std::string>(), "chain config file (INI: [locator] name=.. key=.., [editor] ..., [sites] blocks=..)");
}

Chain read_chain(const po::variables_map& vm) {
    Chain chain;
    if (vm.count("config")) read_ini(vm["config"].as<std::string>(), chain);
    if (vm.count("locator")) chain.locator = parse_plugin_spec(vm["locator"].as<std::string>(), "--locator");
    if (vm.count("editor")) chain.editor = parse_plugin_spec(vm["editor"].as<std::string>(), "--editor");
    if (chain.locator.name.empty()) {
        PluginSpec d = parse_plugin_spec(default_locator(), "default locator");
        for (auto& [k, v] : chain.locator.options) d.options[k] = v;  // [locator] keys without a name
        chain.locator = d;
    }
    if (chain.editor.name.empty()) {
        PluginSpec d = parse_plugin_spec(kDefaultEditor, "default editor");
        for (auto& [k, v] : chain.editor.options) d.options[k] = v;
        chain.editor = d;
    }
    if (vm.count("sparsity")) {
        const double rho = vm["sparsity"].as<double>();
        if (!(rho > 0 && rho <= 1)) throw UsageError("--sparsity " + std::to_string(rho) + ": expected a fraction in (0, 1]");
        std::ostringstream text;
        text << rho;
        chain.locator.options["sparsity"] = text.str();
    }
    if (vm.count("edit-blocks")) chain.edit_blocks = parse_blocks(vm["edit-blocks"].as<std::string>());
    return chain;
}

}  // namespace vitedit::cli

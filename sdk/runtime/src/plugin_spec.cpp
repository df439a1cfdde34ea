// vitedit — "NAME[:key=val,...]" plugin specs (--locator, --editor), parsed apart from the plugin
// host so that the parser can be fuzzed without the engine.
#include <stdexcept>

#include "vitedit/backend.hpp"
#include "vitedit/options.hpp"
#include "vitedit/plugin_host.hpp"

namespace vitedit {

namespace {
std::string trim(const std::string& s) {
    size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}
}  // namespace

std::string PluginSpec::config() const {
    std::string out;
    for (const auto& [k, v] : options) out += (out.empty() ? "" : ",") + k + "=" + v;
    return out;
}

PluginSpec parse_plugin_spec(const std::string& text, const std::string& what) {
    PluginSpec spec;
    // A plugin receives its options as a C string: a NUL would cut them short, and no control
    // character belongs in a name, key or value.
    for (char c : text)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
            throw Error(what + ": contains a control character (code " + std::to_string(static_cast<int>(c)) + ")");
    const auto colon = text.find(':');
    spec.name = trim(text.substr(0, colon));
    if (spec.name.empty()) throw Error(what + " '" + text + "': expected NAME[:key=value,...]");
    if (colon == std::string::npos) return spec;
    try {
        for (auto& [key, value] : author::parse_key_values(text.substr(colon + 1))) spec.options[key] = std::move(value);
    } catch (const std::invalid_argument& e) {
        throw Error(what + " '" + text + "': " + e.what());
    }
    return spec;
}

}  // namespace vitedit

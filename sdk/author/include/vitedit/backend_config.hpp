// vitedit — a backend's configuration string ("key=value,...", from `--backend-config` and the
// host's own settings such as precision=bf16), parsed the same way by every backend.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "vitedit/options.hpp"

namespace vitedit::author {

// Calls f(key, value) for every item of `config` (NULL: none), in order, as parse_key_values
// splits it; a malformed item throws std::invalid_argument "backend config: ...".
template <class F>
void for_each_config_item(const char* config, F&& f) {
    if (!config) return;
    std::vector<std::pair<std::string, std::string>> items;
    try {
        items = parse_key_values(config);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("backend config: ") + e.what());
    }
    for (const auto& [key, value] : items) f(key, value);
}

// `value` as an integer in [min, max]; otherwise std::invalid_argument
// "<backend> backend: <key> must be <what> in [min, max], got '<value>'".
inline long long config_integer(const char* backend, const std::string& key, const std::string& value, long long min,
                                long long max, const char* what = "an integer") {
    char* end = nullptr;
    const long long n = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || n < min || n > max)
        throw std::invalid_argument(std::string(backend) + " backend: " + key + " must be " + what + " in [" +
                                    std::to_string(min) + ", " + std::to_string(max) + "], got '" + value + "'");
    return n;
}

}  // namespace vitedit::author

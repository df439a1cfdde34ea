// vitedit — the one "key=value,key=value" option parser: a plugin's config, a backend's config,
// the chain's per-plugin options. Header-only (plugins compile it in).
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace vitedit::author {

// The one tokenizer of "key=value,key=value" text (plugin options, backend configs, the host's
// NAME:key=value specs): items split at ',', blanks around keys and values trimmed, blank items
// skipped. An item without '=', an empty key or a key given twice throws std::invalid_argument
// naming it. Pairs come back in the order given.
inline std::vector<std::pair<std::string, std::string>> parse_key_values(const std::string& text) {
    auto trim = [](const std::string& s) {
        const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
        return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
    };
    std::vector<std::pair<std::string, std::string>> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (trim(item).empty()) continue;
        const auto eq = item.find('=');
        const std::string key = eq == std::string::npos ? std::string() : trim(item.substr(0, eq));
        if (key.empty()) throw std::invalid_argument("'" + trim(item) + "' is not key=value");
        for (const auto& kv : out)
            if (kv.first == key) throw std::invalid_argument("'" + key + "' given twice");
        out.emplace_back(key, trim(item.substr(eq + 1)));
    }
    return out;
}

// "key=value,key=value" with typed, range-checked getters. finish() refuses keys nobody read,
// listing the keys the plugin knows.
class Options {
public:
    explicit Options(const char* config) {
        try {
            for (auto& [key, value] : parse_key_values(config ? config : "")) values_[key] = std::move(value);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument(std::string("option ") + e.what());
        }
    }
    double number(const std::string& key, double fallback, double lo, double hi) {
        known_.push_back(key + " (number in [" + fmt(lo) + ", " + fmt(hi) + "], default " + fmt(fallback) + ")");
        auto it = values_.find(key);
        if (it == values_.end()) return fallback;
        used_.push_back(key);
        double v;
        try {
            size_t used = 0;
            v = std::stod(it->second, &used);
            if (used != it->second.size()) throw std::invalid_argument("");
        } catch (const std::exception&) {
            throw std::invalid_argument("option " + key + "='" + it->second + "' is not a number");
        }
        if (!(v >= lo && v <= hi))
            throw std::invalid_argument("option " + key + "=" + it->second + " is out of range [" + fmt(lo) + ", " + fmt(hi) + "]");
        return v;
    }
    int64_t integer(const std::string& key, int64_t fallback, int64_t lo, int64_t hi) {
        double v = number(key, static_cast<double>(fallback), static_cast<double>(lo), static_cast<double>(hi));
        known_.back() = key + " (integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], default " +
                        std::to_string(fallback) + ")";
        if (v != std::floor(v)) throw std::invalid_argument("option " + key + " must be an integer");
        return static_cast<int64_t>(v);
    }
    std::string text(const std::string& key, const std::string& fallback) {
        known_.push_back(key + " (text, default '" + fallback + "')");
        auto it = values_.find(key);
        if (it == values_.end()) return fallback;
        used_.push_back(key);
        return it->second;
    }
    void finish() const {
        for (const auto& [k, v] : values_) {
            bool ok = false;
            for (const auto& u : used_) ok = ok || u == k;
            if (!ok) {
                std::string msg = "unknown option '" + k + "'; known options: ";
                for (size_t i = 0; i < known_.size(); ++i) msg += (i ? ", " : "") + known_[i];
                if (known_.empty()) msg += "none";
                throw std::invalid_argument(msg);
            }
        }
    }

private:
    static std::string fmt(double v) {
        std::ostringstream o;
        o << v;
        return o.str();
    }
    std::map<std::string, std::string> values_;
    std::vector<std::string> used_, known_;
};

}  // namespace vitedit::author

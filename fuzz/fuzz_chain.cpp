// Fuzz target: the plugin chain as a user writes it: `--locator/--editor NAME:key=v,...`, the
// `--edit-blocks` list and the INI --config file. The input's first line is a plugin spec, the
// second an edit-blocks list, the rest an INI file. Besides "parse or throw vitedit::Error", it
// checks what the plugin will see: every spec's options, joined to the "key=value,..." string a
// plugin receives and parsed back by the SDK's author-side parser, must give the same options.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "chain.hpp"
#include "vitedit/plugin_author.hpp"
#include "vitedit/plugin_host.hpp"

namespace {
// The options a plugin's create() would see must be exactly the spec's.
void check_round_trip(const vitedit::PluginSpec& spec) {
    const std::string cfg = spec.config();
    vitedit::author::Options opts(cfg.c_str());  // must not throw: the host built this string
    for (const auto& [k, v] : spec.options)
        if (opts.text(k, "\x01<absent>") != v) std::abort();
    opts.finish();  // and nothing more (throws on an extra key)
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const size_t nl1 = text.find('\n');
    const std::string spec_line = text.substr(0, nl1);
    const size_t nl2 = nl1 == std::string::npos ? std::string::npos : text.find('\n', nl1 + 1);
    const std::string blocks_line = nl1 == std::string::npos ? "" : text.substr(nl1 + 1, nl2 - nl1 - 1);
    const std::string ini = nl2 == std::string::npos ? "" : text.substr(nl2 + 1);
    try {
        check_round_trip(vitedit::parse_plugin_spec(spec_line, "--locator"));
    } catch (const vitedit::Error&) {
    }
    try {
        for (int b : vitedit::cli::parse_blocks(blocks_line))
            if (b < 0) std::abort();
    } catch (const vitedit::cli::UsageError&) {
    }
    try {
        vitedit::cli::Chain chain;
        std::istringstream in(ini);
        vitedit::cli::parse_chain_ini(in, "fuzz.ini", chain);
        check_round_trip(chain.locator);
        check_round_trip(chain.editor);
    } catch (const vitedit::Error&) {
    } catch (const vitedit::cli::UsageError&) {
    }
    return 0;
}

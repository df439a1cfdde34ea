// vitedit host — the locator/editor chain from --locator/--editor/--edit-blocks or --config.
#pragma once

#include <string>
#include <vector>

#include "cli.hpp"
#include "vitedit/plugin_host.hpp"

namespace vitedit::cli {

// The default chain: where the bundled hypernetwork is not available, saliency.
constexpr const char* kDefaultLocator = "saliency:sparsity=0.1";
constexpr const char* kDefaultEditor = "rmsprop";

struct Chain {
    PluginSpec locator, editor;
    std::vector<int> edit_blocks;  // empty: the model's default
};

// --locator, --editor, --edit-blocks, --config.
void add_chain_options(po::options_description& desc);
// Command line over config file over defaults. INI format:
//   [locator]           [editor]          [sites]
//   name = saliency     name = rmsprop    blocks = 7,8,9
//   sparsity = 0.1      lr = 1e-4
Chain read_chain(const po::variables_map& vm);
std::vector<int> parse_blocks(const std::string& text);

}  // namespace vitedit::cli

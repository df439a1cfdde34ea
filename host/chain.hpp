// vitedit host — the locator/editor chain from --locator/--editor/--edit-blocks or --config.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "vitedit/plugin_host.hpp"

namespace vitedit::cli {

// The default chain is the best measured one (docs/bundle.md, "Levers"): the training-free
// saliency locator at 5 % of the sites' neurons, RMSprop. On the bundled benchmarks it fixes as
// many images as the meta-learned hypernetwork and generalizes as far or further at every budget;
// `--locator hypernet` uses MODEL.hypernet.safetensors (made by `vitedit meta-train`).
constexpr const char* kDefaultSparsity = "0.05";
constexpr const char* kDefaultEditor = "rmsprop";
std::string default_locator();
// Whether MODEL.hypernet.safetensors exists (the protocols' `hypernet` method needs it).
bool has_hypernet(const std::string& model_path);
// PATH without its ".safetensors" extension, plus `suffix`: where companion files of a model live
// (MODEL.hypernet.safetensors, MODEL.ckpt.safetensors).
std::string companion_path(const std::string& path, const std::string& suffix);

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
// The INI text of a --config file (Boost.Program_options' config-file grammar: [section],
// key = value, '#' comments) into `chain`; keys set there win over what `chain` holds. Errors
// name `what` and the section.key.
void parse_chain_ini(std::istream& in, const std::string& what, Chain& chain);
std::vector<int> parse_blocks(const std::string& text);

}  // namespace vitedit::cli

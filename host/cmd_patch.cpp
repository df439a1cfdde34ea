// vitedit apply / revert — put a patch on the model it was made on, or take it off again.
#include <iostream>

#include <boost/filesystem.hpp>

#include "cli.hpp"
#include "vitedit/model.hpp"
#include "vitedit/patch.hpp"

namespace vitedit::cli {

static int patch_command(const char* name, const std::vector<std::string>& args, bool forward) {
    po::options_description desc("options");
    desc.add_options()
        ("model", po::value<std::string>()->required(), forward ? "the model the patch was made on" : "the patched model")
        ("patch", po::value<std::string>()->required(), "the patch (.vtp) written by `vitedit edit --patch`")
        ("out", po::value<std::string>()->required(), "where to write the result (.safetensors)");
    po::variables_map vm;
    if (!parse(name, "--model M --patch P --out F", desc, args, vm)) return 0;
    const std::string in = vm["model"].as<std::string>(), out = vm["out"].as<std::string>();
    boost::system::error_code ec;
    const std::string patch_path = vm["patch"].as<std::string>();
    if (boost::filesystem::weakly_canonical(in, ec) == boost::filesystem::weakly_canonical(out, ec))
        throw UsageError("refusing to write over the input model " + in);
    if (boost::filesystem::weakly_canonical(patch_path, ec) == boost::filesystem::weakly_canonical(out, ec))
        throw UsageError("refusing to write over the patch " + patch_path);
    const ModelFile model = load_model(in);
    const Patch patch = load_patch(patch_path);
    std::map<std::string, HostTensor> tensors;
    try {
        tensors = forward ? apply_patch(model.tensors, patch) : revert_patch(model.tensors, patch);
    } catch (const Error& e) {
        throw Error(patch_path + " on " + in + ": " + e.what());
    }
    std::map<std::string, std::string> meta = model.metadata;
    save_model(out, model.config, tensors, meta);
    size_t units = 0;
    for (const auto& s : patch.sites) units += s.indices.size();
    std::cout << (forward ? "applied " : "reverted ") << units << " neurons over " << patch.sites.size() << " sites; wrote "
              << out << "\n";
    return 0;
}

int cmd_apply(const std::vector<std::string>& args) { return patch_command("apply", args, true); }
int cmd_revert(const std::vector<std::string>& args) { return patch_command("revert", args, false); }

}  // namespace vitedit::cli

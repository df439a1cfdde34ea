// vitedit predict — classify images.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "vitedit/image.hpp"
#include "vitedit/model.hpp"
#include "vitedit/predict.hpp"
#include "vitedit/vit.hpp"

namespace vitedit::cli {

int cmd_predict(const std::vector<std::string>& args) {
    po::options_description desc("options");
    desc.add_options()
        ("model", po::value<std::string>()->required(), "model weights (.safetensors; timm, Hugging Face or torchvision names)")
        ("image", po::value<std::vector<std::string>>()->required()->composing(), "image file (repeatable; PNG, JPEG, BMP, ...)")
        ("json", "print one JSON object per image and line, then one with the phases' seconds and the peak RSS")
        ("verbose,v", "also print the seconds of each phase (load, forward) and the peak RSS");
    add_backend_option(desc);
    add_plugin_options(desc);
    add_model_overrides(desc);
    po::variables_map vm;
    if (!parse("predict", "--model F --image P [--image P ...] [--backend B] [--json]", desc, args, vm)) return 0;

    PhaseTimer phases;
    phases.begin("load");  // the weights on the backend, the images decoded
    const auto paths = vm["image"].as<std::vector<std::string>>();
    std::shared_ptr<Backend> backend;
    std::vector<std::vector<float>> inputs;
    // Scoped: the host's view of the weights (a mapping) goes once the backend has its copy.
    std::optional<Vit> vit_holder;
    VitConfig cfg;
    std::string naming;
    {
        const ModelFile model = load_model(vm["model"].as<std::string>(), model_overrides(vm));
        cfg = model.config;
        naming = model.naming;
        // Decode everything before touching the backend: a bad image fails fast and names itself.
        for (const auto& p : paths) inputs.push_back(to_model_input(load_image(p), cfg));
        backend = create_backend(vm);
        vit_holder.emplace(backend, cfg, model.tensors);
    }
    Vit& vit = *vit_holder;
    phases.begin("forward");
    const bool json = vm.count("json") > 0;
    if (!json)
        std::cerr << "model: " << cfg.summary() << " (" << naming << " names), backend: " << backend->name() << "\n";

    const int K = cfg.num_classes;
    const Predictions out = predict(
        vit, inputs.size(), [&](size_t i, float* dst) { std::copy(inputs[i].begin(), inputs[i].end(), dst); }, 32, true);
    for (size_t i = 0; i < inputs.size(); ++i) {
        const float* l = &out.logits[i * K];
        const int label = out.labels[i];
        double z = 0;
        for (int k = 0; k < K; ++k) z += std::exp(static_cast<double>(l[k] - l[label]));
        const double prob = 1.0 / z;
        const std::string& path = paths[i];
        const std::string cls = label < static_cast<int>(cfg.classes.size()) ? cfg.classes[label] : "";
        if (json) {
            nlohmann::json j = {{"image", path}, {"logits", std::vector<float>(l, l + K)}, {"label", label}, {"prob", prob}};
            if (!cls.empty()) j["class"] = cls;
            std::cout << j.dump() << "\n";
        } else {
            std::cout << path << "\t" << label << (cls.empty() ? "" : " (" + cls + ")") << "\t" << std::fixed
                      << std::setprecision(4) << prob << "\n";
        }
    }
    phases.end();
    if (json) std::cout << nlohmann::json{{"phases", phases_json(phases)}, {"peak_rss_mb", peak_rss_mb()}}.dump() << "\n";
    else if (vm.count("verbose")) print_phases(std::cout, phases);
    return 0;
}

}  // namespace vitedit::cli

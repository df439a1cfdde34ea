// vitedit eval — accuracy, per-class accuracy and the confusion matrix of a model on a data set.
#include <iomanip>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "progress.hpp"
#include "vitedit/dataset.hpp"
#include "vitedit/eval/accuracy.hpp"
#include "vitedit/holdout.hpp"
#include "vitedit/model.hpp"
#include "vitedit/predict.hpp"
#include "vitedit/vit.hpp"

namespace vitedit::cli {

int cmd_eval(const std::vector<std::string>& args) {
    po::options_description desc("options");
    desc.add_options()
        ("model", po::value<std::string>()->required(), "model weights (.safetensors)")
        ("data", po::value<std::string>()->required(), "fmnist:train, fmnist:test, or an image folder ROOT/<index>[_name]/<image>")
        ("json", "end the output with one JSON object (accuracy, n, per_class, confusion, ...) on stdout")
        ("exclude-holdout", "score without the images of the model's held-out subpopulations")
        ("batch", po::value<int>()->default_value(256), "images per forward pass");
    add_backend_option(desc);
    add_plugin_options(desc);
    add_model_overrides(desc);
    po::variables_map vm;
    if (!parse("eval", "--model F --data SPEC [--backend B] [--json] [--exclude-holdout]", desc, args, vm)) return 0;
    const bool as_json = vm.count("json") > 0, exclude = vm.count("exclude-holdout") > 0;
    const int batch = vm["batch"].as<int>();
    if (batch < 1) throw UsageError("--batch must be at least 1");

    const std::string model_path = vm["model"].as<std::string>();
    const ModelFile model = load_model(model_path, model_overrides(vm));
    const VitConfig& cfg = model.config;
    const Dataset data = load_dataset(vm["data"].as<std::string>());
    if (data.size() == 0) throw Error(data.spec + ": no images");
    for (int32_t l : data.labels)
        if (l >= cfg.num_classes)
            throw Error(data.spec + ": label " + std::to_string(l) + " is beyond the model's " + std::to_string(cfg.num_classes) + " classes");

    // Held-out subpopulations recorded by `vitedit train`.
    Holdout holdout;
    std::vector<bool> held;
    std::string how;
    if (auto it = model.metadata.find("vitedit.holdout"); it != model.metadata.end()) {
        holdout = Holdout::from_json(it->second);
        held = holdout.membership(data, &how);
    } else if (exclude) {
        throw Error(model_path + ": --exclude-holdout, but the model records no held-out subpopulations (vitedit.holdout)");
    }

    auto backend = create_backend(vm);
    Vit vit(backend, cfg, model.tensors);
    std::cerr << "model: " << cfg.summary() << ", backend " << backend->name() << "; data: " << data.spec << " ("
              << data.size() << " images)\n";
    Progress bar("eval", static_cast<int64_t>(data.size()), 0, 0, 5.0);
    const std::vector<int32_t> pred = predict(vit, data, batch, false, [&](size_t done) { bar.update(static_cast<int64_t>(done)); }).labels;
    bar.finish();

    const int K = cfg.num_classes;
    std::vector<bool> kept;
    if (exclude) {
        kept.resize(held.size());
        for (size_t i = 0; i < held.size(); ++i) kept[i] = !held[i];
    }
    const eval::Accuracy s = eval::score(pred, data.labels, K, exclude ? &kept : nullptr);
    auto name = [&](int k) { return k < static_cast<int>(cfg.classes.size()) ? cfg.classes[k] : std::to_string(k); };

    nlohmann::json j;
    j["model"] = model_path;
    j["data"] = data.spec;
    j["backend"] = backend->name();
    j["excluded_holdout"] = exclude;
    if (!held.empty()) {
        std::vector<bool> rest(held.size());
        for (size_t i = 0; i < held.size(); ++i) rest[i] = !held[i];
        const eval::Accuracy h = eval::score(pred, data.labels, K, &held), r = eval::score(pred, data.labels, K, &rest);
        j["accuracy_without_holdout"] = r.accuracy();
        j["n_without_holdout"] = r.n;
        j["accuracy_holdout"] = h.accuracy();
        j["n_holdout"] = h.n;
        j["holdout_membership"] = how;
    }
    nlohmann::json per = nlohmann::json::array();
    for (int k = 0; k < K; ++k)
        per.push_back({{"label", k}, {"name", name(k)}, {"n", s.per_class_n[k]}, {"correct", s.per_class_correct[k]},
                       {"accuracy", s.per_class_n[k] ? static_cast<double>(s.per_class_correct[k]) / s.per_class_n[k] : 0.0}});
    j["per_class"] = per;
    j["confusion"] = s.confusion;
    j["n"] = s.n;
    j["correct"] = s.correct;
    j["accuracy"] = s.accuracy();

    std::ostream& o = as_json ? std::cerr : std::cout;
    o << std::fixed << std::setprecision(4);
    o << "accuracy " << s.accuracy() << " (" << s.correct << "/" << s.n << ")" << (exclude ? ", held-out subpopulations excluded" : "")
      << "\n";
    if (!held.empty())
        o << "without held-out subpopulations " << j["accuracy_without_holdout"].get<double>() << " (n " << j["n_without_holdout"]
          << "), held-out " << j["accuracy_holdout"].get<double>() << " (n " << j["n_holdout"] << ", membership by " << how << ")\n";
    size_t w = 5;
    for (int k = 0; k < K; ++k) w = std::max(w, name(k).size());
    o << "\nper class:\n";
    for (int k = 0; k < K; ++k)
        o << "  " << std::setw(3) << k << " " << std::left << std::setw(static_cast<int>(w)) << name(k) << std::right << "  "
          << std::setw(6) << s.per_class_correct[k] << "/" << std::setw(6) << std::left << s.per_class_n[k] << std::right << " "
          << per[k]["accuracy"].get<double>() << "\n";
    o << "\nconfusion (rows: true class, columns: predicted):\n     ";
    for (int k = 0; k < K; ++k) o << std::setw(6) << k;
    o << "\n";
    for (int t = 0; t < K; ++t) {
        o << "  " << std::setw(3) << t;
        for (int p = 0; p < K; ++p) o << std::setw(6) << s.confusion[t][p];
        o << "\n";
    }
    if (as_json) std::cout << j.dump() << "\n";
    return 0;
}

}  // namespace vitedit::cli

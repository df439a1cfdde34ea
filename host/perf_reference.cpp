// vitedit-torch-reference — the reference approach to editing, for `vitedit perf` to race against.
//
// What the paper's PyTorch code does for every edit step, written with LibTorch in C++: a full
// forward of the whole ViT in eager mode, a full autograd backward (autograd stops at the lowest
// leaf that requires a gradient: the edit sites), the site gradients multiplied by their neuron
// masks, then torch::optim::RMSprop. Evaluation is a plain forward per image batch. No vitedit
// engine code runs here: only the SDK's file I/O. Kept out of the `vitedit` program so that the
// host never links LibTorch.
//
// Input (files `vitedit perf` writes into --dir):
//   model.safetensors   the model (timm names + vitedit metadata)
//   edit.safetensors    "image" [N,C,H,W] and "label" [N] (edit images, already normalized),
//                       "mask.<site>" [units] per edit site (site = blocks.B.mlp.fc1.weight ...),
//                       "eval" [E,C,H,W] (the fixed evaluation images)
// Output (into --dir):
//   reference.safetensors  the site weights after --steps steps
//   reference.json         {"step_s": [...], "loss": [...], "eval_images_per_s": x, ...}
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "torch_vit.hpp"
#include "vitedit/model.hpp"

using namespace vitedit;

namespace {

// This process image's peak resident memory: VmHWM, which exec resets (getrusage's ru_maxrss
// would still count the vitedit process this one was forked from).
double own_peak_rss_mb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
    return 0.0;
}


using Weights = std::map<std::string, torch::Tensor>;

using reference::vit_forward;  // the timm-style forward in LibTorch ops

torch::Tensor to_torch(const HostTensor& t) {
    return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat).clone();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Edit {
    std::vector<std::string> sites;
    std::vector<torch::Tensor> masks;  // broadcastable onto each site's gradient
};

// `steps` RMSprop steps on the sites from their current values; returns per-step seconds.
std::vector<double> run_steps(const VitConfig& cfg, Weights& w, const Edit& e, const torch::Tensor& image,
                              const torch::Tensor& label, int steps, double lr, std::vector<double>* losses) {
    std::vector<torch::Tensor> params;
    for (const auto& s : e.sites) params.push_back(w.at(s));
    torch::optim::RMSprop opt(params, torch::optim::RMSpropOptions(lr).alpha(0.99).eps(1e-8));
    std::vector<double> times;
    for (int i = 0; i < steps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        opt.zero_grad();
        auto loss = torch::nn::functional::cross_entropy(vit_forward(cfg, w, image), label);
        loss.backward();
        {
            torch::NoGradGuard ng;
            for (size_t s = 0; s < params.size(); ++s) params[s].mutable_grad().mul_(e.masks[s]);
        }
        opt.step();
        times.push_back(seconds_since(t0));
        if (losses) losses->push_back(loss.item<double>());
    }
    return times;
}

int usage(const char* why) {
    std::cerr << "vitedit-torch-reference: " << why
              << "\nusage: vitedit-torch-reference --dir DIR [--steps 8] [--warmup 2] [--lr 2e-5] [--threads 2] "
                 "[--eval-batch 16]\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string dir;
    int steps = 8, warmup = 2, threads = 2, eval_batch = 16;
    double lr = 2e-5;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) return usage(("missing value after " + a).c_str());
        const std::string v = argv[++i];
        try {
            if (a == "--dir") dir = v;
            else if (a == "--steps") steps = std::stoi(v);
            else if (a == "--warmup") warmup = std::stoi(v);
            else if (a == "--lr") lr = std::stod(v);
            else if (a == "--threads") threads = std::stoi(v);
            else if (a == "--eval-batch") eval_batch = std::stoi(v);
            else return usage(("unknown option " + a).c_str());
        } catch (const std::exception&) {
            return usage(("bad value '" + v + "' for " + a).c_str());
        }
    }
    if (dir.empty()) return usage("--dir is required");
    if (steps < 1 || warmup < 0 || threads < 1 || eval_batch < 1) return usage("steps, threads and eval-batch must be >= 1");
    try {
        torch::set_num_threads(threads);
        const ModelFile model = load_model(dir + "/model.safetensors");
        const VitConfig& cfg = model.config;
        const SafeTensorsFile in = read_safetensors(dir + "/edit.safetensors");
        auto need = [&](const std::string& n) -> const HostTensor& {
            auto it = in.tensors.find(n);
            if (it == in.tensors.end()) throw std::runtime_error(dir + "/edit.safetensors has no tensor '" + n + "'");
            return it->second;
        };
        const torch::Tensor image = to_torch(need("image"));
        const torch::Tensor label = to_torch(need("label")).to(torch::kLong);
        const torch::Tensor eval = to_torch(need("eval"));
        Edit e;
        for (const auto& [name, t] : in.tensors) {
            if (name.rfind("mask.", 0) != 0) continue;
            const std::string site = name.substr(5);
            e.sites.push_back(site);
            torch::Tensor m = to_torch(t);
            // fc1 [H, D]: a neuron is a row; fc2 [D, H]: a column.
            e.masks.push_back(site.find("fc1") != std::string::npos ? m.reshape({-1, 1}) : m.reshape({1, -1}));
        }
        if (e.sites.empty()) throw std::runtime_error(dir + "/edit.safetensors has no mask.* tensors");

        Weights w;
        for (const auto& [n, t] : model.tensors) w[n] = to_torch(t);
        for (const auto& s : e.sites) w.at(s).set_requires_grad(true);

        // Warm-up on a copy of the sites, then the timed steps from the original weights.
        if (warmup > 0) {
            Weights scratch = w;
            for (const auto& s : e.sites) scratch[s] = w.at(s).detach().clone().set_requires_grad(true);
            run_steps(cfg, scratch, e, image, label, warmup, lr, nullptr);
        }
        std::vector<double> losses;
        const std::vector<double> step_s = run_steps(cfg, w, e, image, label, steps, lr, &losses);

        // Evaluation: predictions of the edited model over the fixed set, one warm-up batch first.
        double eval_s = 0;
        {
            torch::NoGradGuard ng;
            const int64_t E = eval.size(0);
            vit_forward(cfg, w, eval.slice(0, 0, std::min<int64_t>(E, eval_batch)));
            const auto t0 = std::chrono::steady_clock::now();
            for (int64_t s = 0; s < E; s += eval_batch)
                vit_forward(cfg, w, eval.slice(0, s, std::min<int64_t>(E, s + eval_batch))).argmax(1);
            eval_s = seconds_since(t0);
        }

        SafeTensorsFile out;
        for (const auto& s : e.sites) {
            torch::Tensor t = w.at(s).detach().contiguous();
            out.tensors[s] = HostTensor{t.sizes().vec(), std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())};
        }
        write_safetensors(dir + "/reference.safetensors", out);
        nlohmann::json j = {{"step_s", step_s},
                            {"loss", losses},
                            {"eval_images", eval.size(0)},
                            {"eval_s", eval_s},
                            {"eval_images_per_s", static_cast<double>(eval.size(0)) / eval_s},
                            {"threads", torch::get_num_threads()},
                            {"peak_rss_mb", own_peak_rss_mb()},
                            {"torch", TORCH_VERSION}};
        write_file_atomic(dir + "/reference.json", j.dump(1) + "\n");
        return 0;
    } catch (const std::exception& ex) {
        std::cerr << "vitedit-torch-reference: " << ex.what() << "\n";
        return 1;
    }
}

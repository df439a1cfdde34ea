// Locator `hypernet`: the meta-learned hypernetwork of docs/method.md. It reads a checkpoint made
// by `vitedit meta-train` for this very model and these edit sites, feeds it the original model's
// CLS features of the edit images, and returns the mask scores averaged over the images (the host
// binarizes them at the budget `sparsity`).
//
// Options: checkpoint=PATH (default: the model file with .safetensors replaced by
// .hypernet.safetensors); saliency=α in [0, 1] (default 0): blend with the `saliency` scores as
// h^(1-α) · s^α per unit — the hypernetwork knows what kind of neuron generalizes but not the
// edit's label, the gradient knows the label; the geometric blend keeps each one's scale out of it.
#include <cmath>
#include <filesystem>

#include "vitedit/hypernet.hpp"
#include "vitedit/plugin_author.hpp"
#include "vitedit/saliency_scores.hpp"

namespace {

std::string default_checkpoint(const std::string& model_path) {
    const std::string ext = ".safetensors";
    std::string base = model_path;
    if (base.size() > ext.size() && base.compare(base.size() - ext.size(), ext.size(), ext) == 0) base.resize(base.size() - ext.size());
    return base + ".hypernet.safetensors";
}

struct HypernetLocator : vitedit::author::Locator {
    explicit HypernetLocator(vitedit::author::Options& o)
        : checkpoint_(o.text("checkpoint", "")), blend_(o.number("saliency", 0.0, 0.0, 1.0)) {}

    void locate(vitedit::author::Session& s, Scores& scores, bool& binary) override {
        std::string path = checkpoint_;
        if (path.empty()) {
            if (s.model_path().empty())
                throw std::runtime_error("the model was not loaded from a file, so there is no default hypernetwork checkpoint; "
                                         "pass checkpoint=PATH");
            path = default_checkpoint(s.model_path());
        }
        if (!std::filesystem::exists(path))
            throw std::runtime_error("no hypernetwork checkpoint at " + path + "; make one with `vitedit meta-train --model " +
                                     (s.model_path().empty() ? std::string("MODEL") : s.model_path()) + " --data fmnist:train --out " +
                                     path + "` (or pass checkpoint=PATH)");
        if (!file_ || loaded_ != path) {
            file_ = std::make_unique<vitedit::Hypernet::File>(vitedit::Hypernet::read(path));
            loaded_ = path;
        }
        std::vector<vitedit::HypernetSite> sites;
        for (int i = 0; i < s.num_sites(); ++i) {
            const ve_site site = s.site(i);
            sites.push_back({site.name, site.units});
        }
        vitedit::Hypernet::check_compatible(*file_, path, s.model_id(), sites);
        if (file_->config.dim != s.feature_dim())
            throw std::runtime_error(path + ": the hypernetwork takes features of width " + std::to_string(file_->config.dim) +
                                     ", the model's are " + std::to_string(s.feature_dim()));
        vitedit::Hypernet net(s.backend().shared_from_this(), file_->config, file_->params);
        const int64_t n = s.num_images();
        const auto out = net.forward(s.features(), n);
        for (size_t k = 0; k < out.size(); ++k) {
            const size_t H = scores[k].size();
            std::fill(scores[k].begin(), scores[k].end(), 0.0f);
            for (int64_t i = 0; i < n; ++i)
                for (size_t h = 0; h < H; ++h) scores[k][h] += out[k][i * H + h] / static_cast<float>(n);
        }
        if (blend_ > 0) {
            Scores sal(scores.size());
            for (size_t k = 0; k < scores.size(); ++k) sal[k].resize(scores[k].size());
            vitedit::author::saliency_scores(s, sal, true);
            for (size_t k = 0; k < scores.size(); ++k)
                for (size_t h = 0; h < scores[k].size(); ++h)
                    scores[k][h] = static_cast<float>(std::exp((1.0 - blend_) * std::log(std::max(scores[k][h], 1e-30f)) +
                                                               blend_ * std::log(std::max(sal[k][h], 1e-30f))));
        }
        binary = false;
    }

    std::string checkpoint_, loaded_;
    double blend_;
    std::unique_ptr<vitedit::Hypernet::File> file_;
};

}  // namespace
VITEDIT_DEFINE_LOCATOR(HypernetLocator, "hypernet",
                       "meta-learned hypernetwork (vitedit meta-train) scoring neurons from the edit images' features "
                       "(options: checkpoint, saliency = blend weight of the saliency scores)",
                       "1.0")

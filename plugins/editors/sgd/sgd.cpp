// Editor `sgd`: plain masked gradient descent, w -= lr * g * mask.
#include "vitedit/gradient_editor.hpp"

namespace {
struct SgdEditor : vitedit::author::GradientEditor {
    explicit SgdEditor(vitedit::author::Options& o) : GradientEditor(o, 1e-2) {}
    void update(vitedit::author::Session& s, int, const ve_site&, const vitedit::Tensor& w, const vitedit::Tensor& g,
                const vitedit::Tensor& mask, int axis, int) override {
        s.backend().sgd_step(w, g, &mask, axis, lr_, 0.0f);
    }
};
}  // namespace
VITEDIT_DEFINE_EDITOR(SgdEditor, "sgd", "masked SGD (options: lr, steps, stop_loss)", "1.0")

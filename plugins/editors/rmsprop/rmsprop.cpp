// Editor `rmsprop` (the default): masked RMSprop with PyTorch's semantics (alpha 0.99, eps 1e-8,
// no momentum, state starting at zero), as the paper edits.
#include "vitedit/gradient_editor.hpp"

namespace {
struct RmspropEditor : vitedit::author::GradientEditor {
    explicit RmspropEditor(vitedit::author::Options& o)
        : GradientEditor(o, 1e-4),
          alpha_(static_cast<float>(o.number("alpha", 0.99, 0.0, 1.0))),
          eps_(static_cast<float>(o.number("eps", 1e-8, 0.0, 1.0))) {}
    void begin(vitedit::author::Session& s) override { sq_ = &new_state(s); }
    void update(vitedit::author::Session& s, int i, const ve_site&, const vitedit::Tensor& w, const vitedit::Tensor& g,
                const vitedit::Tensor& mask, int axis, int) override {
        s.backend().rmsprop_step(w, g, (*sq_)[i], &mask, axis, lr_, alpha_, eps_);
    }
    float alpha_, eps_;
    std::vector<vitedit::Tensor>* sq_ = nullptr;
};
}  // namespace
VITEDIT_DEFINE_EDITOR(RmspropEditor, "rmsprop", "masked RMSprop, PyTorch semantics (options: lr, steps, stop_loss, alpha, eps)", "1.0")

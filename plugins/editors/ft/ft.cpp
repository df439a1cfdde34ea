// Editors `ft-l2` and `ft-l1` (built from this one file with FT_P = 2 or 1): the paper's FT
// baseline, RMSprop on the edit loss plus c * ||W - W0||_p^p over the edited matrices. As in the
// reference, the first step is plain SGD, the rest RMSprop.
#include "vitedit/gradient_editor.hpp"

#ifndef FT_P
#error "build with -DFT_P=1 or -DFT_P=2"
#endif

namespace {
struct FtEditor : vitedit::author::GradientEditor {
    explicit FtEditor(vitedit::author::Options& o)
        : GradientEditor(o, 1e-4),
          c_(static_cast<float>(o.number("c", FT_P == 2 ? 1e-2 : 1e-4, 0.0, 1e6))),
          alpha_(static_cast<float>(o.number("alpha", 0.99, 0.0, 1.0))),
          eps_(static_cast<float>(o.number("eps", 1e-8, 0.0, 1.0))) {}
    void begin(vitedit::author::Session& s) override { sq_ = &new_state(s); }
    void update(vitedit::author::Session& s, int i, const ve_site&, const vitedit::Tensor& w, const vitedit::Tensor& g,
                const vitedit::Tensor& mask, int axis, int step) override {
        vitedit::Backend& be = s.backend();
        if (c_ > 0) be.penalty_grad(w, original(s, i), g, c_, FT_P);
        if (step == 0) be.sgd_step(w, g, &mask, axis, lr_, 0.0f);
        else be.rmsprop_step(w, g, (*sq_)[i], &mask, axis, lr_, alpha_, eps_);
    }
    float c_, alpha_, eps_;
    std::vector<vitedit::Tensor>* sq_ = nullptr;
};
}  // namespace
#if FT_P == 2
VITEDIT_DEFINE_EDITOR(FtEditor, "ft-l2", "fine-tuning with an L2 pull to the original weights (options: lr, steps, stop_loss, c, alpha, eps)", "1.0")
#else
VITEDIT_DEFINE_EDITOR(FtEditor, "ft-l1", "fine-tuning with an L1 pull to the original weights (options: lr, steps, stop_loss, c, alpha, eps)", "1.0")
#endif

// Editor `adam`: masked Adam (PyTorch semantics, bias-corrected).
#include "vitedit/gradient_editor.hpp"

namespace {
struct AdamEditor : vitedit::author::GradientEditor {
    explicit AdamEditor(vitedit::author::Options& o)
        : GradientEditor(o, 1e-4),
          beta1_(static_cast<float>(o.number("beta1", 0.9, 0.0, 1.0))),
          beta2_(static_cast<float>(o.number("beta2", 0.999, 0.0, 1.0))),
          eps_(static_cast<float>(o.number("eps", 1e-8, 0.0, 1.0))) {}
    void begin(vitedit::author::Session& s) override {
        m_ = &new_state(s);
        v_ = &new_state(s);
    }
    void update(vitedit::author::Session& s, int i, const ve_site&, const vitedit::Tensor& w, const vitedit::Tensor& g,
                const vitedit::Tensor& mask, int axis, int step) override {
        s.backend().adam_step(w, g, (*m_)[i], (*v_)[i], &mask, axis, lr_, beta1_, beta2_, eps_, 0.0f, step + 1);
    }
    float beta1_, beta2_, eps_;
    std::vector<vitedit::Tensor>* m_ = nullptr;
    std::vector<vitedit::Tensor>* v_ = nullptr;
};
}  // namespace
VITEDIT_DEFINE_EDITOR(AdamEditor, "adam", "masked Adam (options: lr, steps, stop_loss, beta1, beta2, eps)", "1.0")

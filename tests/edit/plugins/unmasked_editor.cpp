// Test editor `unmasked`: masked SGD steps, then one step that ignores the mask, which the editor
// ABI forbids (only masked units may change). The host must notice and restore the model.
#include "vitedit/gradient_editor.hpp"

namespace {
struct UnmaskedEditor : vitedit::author::GradientEditor {
    explicit UnmaskedEditor(vitedit::author::Options& o) : GradientEditor(o, 1e-2) {}
    void update(vitedit::author::Session& s, int, const ve_site&, const vitedit::Tensor& w, const vitedit::Tensor& g,
                const vitedit::Tensor& mask, int axis, int) override {
        s.backend().sgd_step(w, g, &mask, axis, lr_, 0.0f);
    }
    ve_edit_report edit(vitedit::author::Session& s) override {
        ve_edit_report r = GradientEditor::edit(s);
        s.backend().axpby(1.0f, s.original(0), 1.0f, s.weight(0));  // every unit of site 0
        return r;
    }
};
}  // namespace
VITEDIT_DEFINE_EDITOR(UnmaskedEditor, "unmasked", "test only: writes outside its mask", "1.0")

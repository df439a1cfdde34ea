// Test editor `unmasked`: writes every unit of site 0, which the editor ABI forbids (only masked
// units may change). The host must notice and restore the model.
#include "vitedit/plugin_author.hpp"

namespace {
struct UnmaskedEditor : vitedit::author::Editor {
    explicit UnmaskedEditor(vitedit::author::Options&) {}
    ve_edit_report edit(vitedit::author::Session& s) override {
        s.backend().axpby(1.0f, s.original(0), 1.0f, s.weight(0));  // w += w0 on every unit
        return ve_edit_report{sizeof(ve_edit_report), 1, 0.0f, 1};
    }
};
}  // namespace
VITEDIT_DEFINE_EDITOR(UnmaskedEditor, "unmasked", "test only: writes outside its mask", "1.0")

// A library built against a future ABI major: the host must refuse it by name, without reading
// its entry table (here NULL).
#include "vitedit/backend.h"

namespace {
const ve_plugin_info info = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR + 1, 0, VE_KIND_BACKEND,
                             "future", "built against a newer SDK", "9.0", nullptr};
}  // namespace
extern "C" VITEDIT_EXPORT const ve_plugin_info* vitedit_query(void) { return &info; }

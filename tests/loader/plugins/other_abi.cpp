// A backend that claims to be built against the next ABI major: the host must refuse it.
#include <boost/dll/alias.hpp>

#include "vitedit/backend.h"

namespace {
const ve_plugin_info info = {sizeof(ve_plugin_info), VITEDIT_ABI_MAJOR + 1, 0, VE_KIND_BACKEND,
                             "future", "built against a newer SDK", "9.0", nullptr};
const ve_plugin_info* query() { return &info; }
}  // namespace
BOOST_DLL_ALIAS(query, vitedit_query)

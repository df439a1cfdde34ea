// A plugin as ABI 1.x built them: vitedit_query exported as a Boost.DLL alias (a data pointer
// to the function). A 2.x host calls vitedit_query as a function, so it must recognise the data
// symbol and refuse the library with what to do — never call through it.
#include <boost/dll/alias.hpp>

#include "vitedit/backend.h"

namespace {
const ve_plugin_info info = {sizeof(ve_plugin_info), 1, 3, VE_KIND_BACKEND, "abi1", "built against ABI 1.3", "1.0", nullptr};
const ve_plugin_info* query() { return &info; }
}  // namespace
BOOST_DLL_ALIAS(query, vitedit_query)

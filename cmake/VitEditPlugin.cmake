# vitedit_add_plugin(<name> [SOURCES] <source>... [DESTINATION <dir>] [HEADERS_ONLY] [NO_INSTALL])
#
# A vitedit locator, editor or backend library, built the way the host expects one:
#   - a MODULE library named exactly <name>.so (no "lib" prefix);
#   - hidden visibility: only the vitedit_query alias (VITEDIT_DEFINE_LOCATOR/_EDITOR/_BACKEND)
#     is exported;
#   - linked with vitedit::sdk (HEADERS_ONLY: with vitedit::headers only, as a backend that uses
#     nothing but the C interface and backend_author.hpp) and -Wl,--no-undefined, so a missing
#     symbol fails the build, not the host's load;
#   - RPATH to the SDK library: the build tree's copy finds the installed libvitedit_sdk.so,
#     and so does the installed one (from <prefix>/lib/vitedit/plugins, $ORIGIN/../..);
#   - installed to DESTINATION (default lib/vitedit/plugins under CMAKE_INSTALL_PREFIX).
#
# The installed host looks for plugins in <its prefix>/lib/vitedit/plugins: install into the
# prefix vitedit was installed to (cmake --install build --prefix <vitedit prefix>), or run the
# host with --plugin-dir DIR / VITEDIT_PLUGIN_PATH=DIR.
include_guard(GLOBAL)

set_property(GLOBAL PROPERTY VITEDIT_SDK_LIBRARY_DIR "${VITEDIT_LIBRARY_DIR}")

function(vitedit_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_INSTALL;HEADERS_ONLY" "DESTINATION" "SOURCES")
  set(sources ${arg_SOURCES} ${arg_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "vitedit_add_plugin(${name}): no source files given")
  endif()
  if(NOT arg_DESTINATION)
    set(arg_DESTINATION lib/vitedit/plugins)
  endif()
  get_property(sdk_libdir GLOBAL PROPERTY VITEDIT_SDK_LIBRARY_DIR)

  add_library(${name} MODULE ${sources})
  if(arg_HEADERS_ONLY)
    target_link_libraries(${name} PRIVATE vitedit::headers)
  else()
    target_link_libraries(${name} PRIVATE vitedit::sdk)
  endif()
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  set_target_properties(${name} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name}
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON
    BUILD_RPATH "${sdk_libdir}"
    INSTALL_RPATH "$ORIGIN/../..;${sdk_libdir}")
  if(NOT arg_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION ${arg_DESTINATION})
  endif()
endfunction()

# vitedit_add_plugin(<name> [SOURCES] <source>... [DESTINATION <dir>] [NO_INSTALL])
#
# A vitedit locator, editor or backend library, built the way the host expects one:
#   - a MODULE library named exactly <name>.so (no "lib" prefix);
#   - hidden visibility: only vitedit_query (VITEDIT_DEFINE_LOCATOR/_EDITOR/_BACKEND, or your own
#     C function) is exported;
#   - compiled against vitedit::author (the C ABI and the header-only C++ author layer) and
#     linked with no vitedit library at all: the plugin is bound to the C ABI only, so it runs
#     with any host of the same ABI major; -Wl,--no-undefined makes a missing symbol fail the
#     build, not the host's load. Link a vitedit library yourself only if you accept being tied
#     to its C++ interface (its soname carries the project's major.minor);
#   - C sources are fine: a locator written in C includes only vitedit/plugin.h;
#   - installed to DESTINATION (default lib/vitedit/plugins under CMAKE_INSTALL_PREFIX).
#
# The installed host looks for plugins in <its prefix>/lib/vitedit/plugins: install into the
# prefix vitedit was installed to (cmake --install build --prefix <vitedit prefix>), or run the
# host with --plugin-dir DIR / VITEDIT_PLUGIN_PATH=DIR.
include_guard(GLOBAL)


function(vitedit_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "NO_INSTALL" "DESTINATION" "SOURCES")
  set(sources ${arg_SOURCES} ${arg_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "vitedit_add_plugin(${name}): no source files given")
  endif()
  if(NOT arg_DESTINATION)
    set(arg_DESTINATION lib/vitedit/plugins)
  endif()
  add_library(${name} MODULE ${sources})
  target_link_libraries(${name} PRIVATE vitedit::author)
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  set_target_properties(${name} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name}
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  if(NOT arg_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION ${arg_DESTINATION})
  endif()
endfunction()

# `cmake --install build --prefix P` lays vitedit out as the host expects to find it:
#   P/bin/vitedit                        the host (RPATH $ORIGIN/../lib)
#   P/lib/libvitedit_{io,engine,runtime,meta,eval}.so.M.m   the SDK's libraries, one per layer
#   P/lib/vitedit/plugins/*.so           every backend, locator and editor (vitedit_add_backend)
#   P/include/vitedit/*.h, *.hpp         the headers of every layer (one include root)
#   P/lib/cmake/vitedit/                 the CMake package: find_package(vitedit) gives
#                                        vitedit::abi, vitedit::author, the libraries,
#                                        vitedit::sdk (all of them) and vitedit_add_plugin()
# Directories are fixed ("lib", not GNUInstallDirs' multiarch libdir): the host finds its
# plugins at <exe>/../lib/vitedit/plugins.
include(CMakePackageConfigHelpers)

set(VITEDIT_INSTALL_BINDIR bin)
set(VITEDIT_INSTALL_LIBDIR lib)
set(VITEDIT_INSTALL_INCLUDEDIR include)
set(VITEDIT_INSTALL_PLUGINDIR lib/vitedit/plugins)
set(VITEDIT_INSTALL_CMAKEDIR lib/cmake/vitedit)

# The plugin ABI, read from the header that defines it.
file(STRINGS ${PROJECT_SOURCE_DIR}/sdk/abi/include/vitedit/abi.h _abi REGEX "^#define VITEDIT_ABI_(MAJOR|MINOR) ")
string(REGEX REPLACE ".*VITEDIT_ABI_MAJOR ([0-9]+).*" "\\1" VITEDIT_ABI_MAJOR "${_abi}")
string(REGEX REPLACE ".*VITEDIT_ABI_MINOR ([0-9]+).*" "\\1" VITEDIT_ABI_MINOR "${_abi}")
set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/sdk/abi/include/vitedit/abi.h)

install(TARGETS vitedit RUNTIME DESTINATION ${VITEDIT_INSTALL_BINDIR})

set_target_properties(vitedit_abi PROPERTIES EXPORT_NAME abi)
set_target_properties(vitedit_author PROPERTIES EXPORT_NAME author)
set_target_properties(vitedit_eval PROPERTIES EXPORT_NAME eval)
install(TARGETS vitedit_abi vitedit_author vitedit_io vitedit_engine vitedit_runtime vitedit_meta vitedit_eval vitedit_sdk
  EXPORT vitedit-targets LIBRARY DESTINATION ${VITEDIT_INSTALL_LIBDIR})
foreach(layer abi author io engine runtime meta eval)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/${layer}/include/vitedit DESTINATION ${VITEDIT_INSTALL_INCLUDEDIR}
    FILES_MATCHING PATTERN "*.h" PATTERN "*.hpp")
endforeach()
install(EXPORT vitedit-targets NAMESPACE vitedit:: DESTINATION ${VITEDIT_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/vitedit-config.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/vitedit-config.cmake
  INSTALL_DESTINATION ${VITEDIT_INSTALL_CMAKEDIR}
  PATH_VARS VITEDIT_INSTALL_BINDIR VITEDIT_INSTALL_LIBDIR VITEDIT_INSTALL_INCLUDEDIR VITEDIT_INSTALL_PLUGINDIR)
# The package version is the project's; plugins must also match the ABI major at run time.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/vitedit-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/cmake/vitedit-config.cmake
  ${PROJECT_BINARY_DIR}/cmake/vitedit-config-version.cmake
  ${PROJECT_SOURCE_DIR}/cmake/VitEditPlugin.cmake
  DESTINATION ${VITEDIT_INSTALL_CMAKEDIR})

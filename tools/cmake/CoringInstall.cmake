# SPDX-License-Identifier: MIT
# Install rules of libcoring: library, <coring.h> and module headers, coring.pc, CMake package,
# LICENSE and CHANGELOG.md.
include(CMakePackageConfigHelpers)

set(CORING_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/coring")

install(TARGETS coring EXPORT coringTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/include/coring.h"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CORING_PUBLIC_HEADERS}
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/coring)

# ---- pkg-config: relocatable, so that `cmake --install --prefix X` works anywhere
# (jemalloc is not among the dependencies: the library leaves its users' allocator alone.)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(CORING_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(CORING_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(CORING_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  # The .pc file sits in <prefix>/<libdir>/pkgconfig: climb back to <prefix>.
  file(RELATIVE_PATH _coring_pc_up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
  string(REGEX REPLACE "/$" "" _coring_pc_up "${_coring_pc_up}")
  set(CORING_PC_PREFIX "\${pcfiledir}/${_coring_pc_up}")
  set(CORING_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(CORING_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file(tools/cmake/coring.pc.in "${CMAKE_CURRENT_BINARY_DIR}/coring.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/coring.pc"
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# ---- CMake package: find_package(coring) + target_link_libraries(x coring::coring)
install(EXPORT coringTargets
  NAMESPACE coring::
  DESTINATION ${CORING_CMAKE_DIR})
configure_package_config_file(tools/cmake/coringConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/coringConfig.cmake"
  INSTALL_DESTINATION ${CORING_CMAKE_DIR})
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_coring_compat SameMinorVersion)
else()
  set(_coring_compat SameMajorVersion)
endif()
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/coringConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY ${_coring_compat})
install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/coringConfig.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/coringConfigVersion.cmake"
  DESTINATION ${CORING_CMAKE_DIR})

# ---- the licence and the change log, where distributions keep a package's documents
install(FILES LICENSE CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# weft.pc for projects that build with pkg-config rather than CMake.
#
# The prefix is written relative to the .pc file's own directory (${pcfiledir}), because the
# real prefix is known only at install time: `cmake --install --prefix <dir>` and cpack's
# staging both install to somewhere other than the configured CMAKE_INSTALL_PREFIX.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(WEFT_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(WEFT_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
  file(RELATIVE_PATH _weft_pc_up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" _weft_pc_up "${_weft_pc_up}")
  set(WEFT_PC_PREFIX "\${pcfiledir}/${_weft_pc_up}")
  set(WEFT_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(WEFT_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(WEFT_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()

# OpenSSL is public, as in weft::io's CMake link interface: weft::tls::Context hands out its
# SSL_CTX. oneTBB and pthread are implementation details of weft::runtime; a shared
# libweft_runtime.so records them itself, so they are private there. Static archives record
# no dependencies, so a plain `pkg-config --libs weft` (without --static) must list them.
# weft::algorithms is header-only: there is no library of its own to link.
if(BUILD_SHARED_LIBS)
  string(JOIN "\n" WEFT_PC_DEPENDENCIES
    "Requires: openssl >= 3"
    "Requires.private: tbb"
    "Libs: -L\${libdir} -lweft_io -lweft_runtime"
    "Libs.private: -pthread")
else()
  string(JOIN "\n" WEFT_PC_DEPENDENCIES
    "Requires: tbb, openssl >= 3"
    "Libs: -L\${libdir} -lweft_io -lweft_runtime -pthread")
endif()

configure_file(${CMAKE_CURRENT_LIST_DIR}/weft.pc.in ${CMAKE_CURRENT_BINARY_DIR}/weft.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/weft.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev)

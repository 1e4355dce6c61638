# `cpack -G DEB` in a build directory: libweft-dev, with the headers, libraries, CMake package
# and weft.pc. Every install rule of the library names COMPONENT dev. While dev is the only
# component CPack makes one package from the CPACK_DEBIAN_PACKAGE_* settings; a program
# installed later under another component turns on one package per component, where the
# CPACK_DEBIAN_DEV_* settings keep libweft-dev as it is and the programs get a package of
# their own, so a user who wants the headers never gets the programs.
set(CPACK_PACKAGE_NAME weft)
set(CPACK_PACKAGE_VENDOR weft)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "weft maintainers")
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(_weft_deb_description
    "C++20 coroutine task runtime for Linux: development files\nweft runs asyncio-style tasks on one event loop per core. This package holds its\nheaders, libraries, CMake package configuration (find_package(weft)) and weft.pc.")
# What building against the package needs: oneTBB and OpenSSL 3, because the libraries
# call them (and weft::tls hands out OpenSSL's SSL_CTX), and a C++20 standard library
# with <coroutine> (g++ 12's, which clang 14 uses on Debian too).
set(_weft_deb_depends "libtbb-dev, libssl-dev (>= 3), libstdc++-12-dev | libstdc++-dev")
foreach(scope PACKAGE DEV_PACKAGE)
  set(CPACK_DEBIAN_${scope}_NAME libweft-dev)
  set(CPACK_DEBIAN_${scope}_SECTION libdevel)
  set(CPACK_DEBIAN_${scope}_DEPENDS "${_weft_deb_depends}")
  set(CPACK_DEBIAN_${scope}_DESCRIPTION "${_weft_deb_description}")
  if(BUILD_SHARED_LIBS)
    # The shared libraries' own run-time dependencies (libc6, libstdc++6, libtbb12, libssl3),
    # read from their ELF headers by dpkg-shlibdeps.
    set(CPACK_DEBIAN_${scope}_SHLIBDEPS ON)
  endif()
endforeach()
include(CPack)

#pragma once

// The path of a program a test runs (curl, python3, openssl, ...), or a test failure naming
// the Debian package that provides it (scripts/deps installs them all): a missing tool fails
// the test rather than letting it pass without checking anything.

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "subprocess.hpp"

namespace weft::test {

inline std::string required_tool(std::string_view name, std::string_view package) {
  const auto path = find_executable(name);
  if (!path) {
    ADD_FAILURE() << name << " is not installed (Debian package " << package
                  << "; scripts/deps installs it)";
    return {};
  }
  return *path;
}

}  // namespace weft::test

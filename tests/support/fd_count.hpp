#pragma once

// The number of file descriptors this process has open (the entries of /proc/self/fd, the
// directory iterator's own included), for tests that check a workload gives back every fd.

#include <cstddef>
#include <filesystem>

namespace weft::test {

inline std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd"))
    ++n;
  return n;
}

}  // namespace weft::test

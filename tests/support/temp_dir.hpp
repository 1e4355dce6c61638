#pragma once

// A temporary directory a test writes files into (document roots, certificates, server
// configurations), removed with everything in it; and reading a file back whole.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>

namespace weft::test {

// A directory under the system's temporary directory, named weft-<tag>-XXXXXX.
class TempDir {
 public:
  explicit TempDir(std::string_view tag = "http-client") {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("weft-" + std::string(tag) + "-XXXXXX"))
            .string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::system_error(errno, std::system_category(), "mkdtemp");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  // Writes `content` to `relative` (creating directories); returns the full path.
  std::filesystem::path write(const std::filesystem::path& relative,
                              std::string_view content) const {
    const auto full = path_ / relative;
    std::filesystem::create_directories(full.parent_path());
    const int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw std::system_error(errno, std::system_category(), "open " + full.string());
    std::string_view rest = content;
    while (!rest.empty()) {
      const ssize_t n = ::write(fd, rest.data(), rest.size());
      if (n <= 0) {
        ::close(fd);
        throw std::system_error(errno, std::system_category(), "write " + full.string());
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    ::close(fd);
    return full;
  }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace weft::test

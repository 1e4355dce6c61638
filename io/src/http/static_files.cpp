#include "static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "http_date.hpp"
#include "weft/http/message.hpp"

namespace weft::http::detail {

namespace {

struct TypeEntry {
  std::string_view extension;
  std::string_view type;
};

constexpr std::array<TypeEntry, 28> kTypes{{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"xml", "application/xml"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"avif", "image/avif"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"wasm", "application/wasm"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
}};

// realpath(3) into a std::string; std::nullopt when the path does not resolve.
std::optional<std::string> real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr),
                                                       &std::free);
  if (!resolved) return std::nullopt;
  return std::string(resolved.get());
}

ServerResponse not_found() { return ServerResponse::text(404, "Not Found\n"); }

// 301 to the request's path with a '/' appended, the query kept.
ServerResponse redirect_to_directory(const ServerRequest& request) {
  std::string location(request.path());
  location += '/';
  if (!request.query().empty()) {
    location += '?';
    location += request.query();
  }
  ServerResponse r = ServerResponse::text(301, "Moved Permanently\n");
  r.header("Location", std::move(location));
  return r;
}

// The decoded, checked relative path, or std::nullopt if it may not be served: a bad escape,
// NUL, or a ".." segment (after decoding, so %2e%2e and %2F are caught too).
std::optional<std::string> safe_relative(std::string_view raw) {
  std::optional<std::string> decoded = percent_decode(raw);
  if (!decoded) return std::nullopt;
  std::string out;
  std::size_t start = 0;
  const std::string& d = *decoded;
  if (d.find('\0') != std::string::npos) return std::nullopt;
  while (start <= d.size()) {
    std::size_t slash = d.find('/', start);
    if (slash == std::string::npos) slash = d.size();
    const std::string_view seg(d.data() + start, slash - start);
    if (seg == "..") return std::nullopt;
    if (!seg.empty() && seg != ".") {
      if (!out.empty()) out += '/';
      out += seg;
    }
    start = slash + 1;
  }
  return out;
}

class FileServer {
 public:
  explicit FileServer(std::string root) : root_(std::move(root)) {}

  ServerResponse serve(const ServerRequest& request) const {
    const std::optional<std::string> rel = safe_relative(request.param("*"));
    if (!rel) return not_found();
    std::string candidate = rel->empty() ? root_ : root_ + "/" + *rel;
    // Symlinks are followed only while they stay under the root.
    std::optional<std::string> real = real_path(candidate);
    if (!real || !inside_root(*real)) return not_found();
    struct stat st {};
    if (::stat(real->c_str(), &st) != 0) return not_found();
    if (S_ISDIR(st.st_mode)) {
      // A directory named without its trailing slash is redirected to the name with it, as
      // other file servers do: its index.html's relative links resolve against the URL, and
      // under "/docs" a link to "a.html" would mean "/a.html", not "/docs/a.html".
      if (!request.path().ends_with('/')) return redirect_to_directory(request);
      real = real_path(*real + "/index.html");
      if (!real || !inside_root(*real) || ::stat(real->c_str(), &st) != 0) return not_found();
    }
    if (!S_ISREG(st.st_mode)) return not_found();

    const std::string last_modified = format_http_date(st.st_mtime);
    if (const auto ims = request.header("If-Modified-Since")) {
      const std::optional<std::time_t> since = parse_http_date(*ims);
      if (since && st.st_mtime <= *since) {
        ServerResponse r(304);
        r.header("Last-Modified", last_modified);
        return r;
      }
    }
    const int fd = ::open(real->c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return not_found();
    const std::size_t slash = real->rfind('/');
    ServerResponse r = ServerResponse::file(200, fd, 0, static_cast<std::uint64_t>(st.st_size),
                                            content_type_for(std::string_view(*real).substr(
                                                slash == std::string::npos ? 0 : slash + 1)));
    r.header("Last-Modified", last_modified);
    return r;
  }

 private:
  bool inside_root(const std::string& real) const noexcept {
    return real == root_ ||
           (real.size() > root_.size() && real.compare(0, root_.size(), root_) == 0 &&
            real[root_.size()] == '/');
  }

  std::string root_;  // canonical, without a trailing '/'
};

}  // namespace

std::string_view content_type_for(std::string_view file_name) noexcept {
  const std::size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  const std::string_view ext = file_name.substr(dot + 1);
  for (const TypeEntry& e : kTypes) {
    if (iequals(e.extension, ext)) return e.type;
  }
  return "application/octet-stream";
}

Handler static_files_handler(const std::filesystem::path& root) {
  std::optional<std::string> real = real_path(root.string());
  struct stat st {};
  if (!real || ::stat(real->c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::invalid_argument("weft::http::Server::static_files: '" + root.string() +
                                "' is not a directory");
  if (real->size() > 1 && real->back() == '/') real->pop_back();
  auto server = std::make_shared<const FileServer>(std::move(*real));
  return [server](ServerRequest& request) -> Task<ServerResponse> {
    co_return server->serve(request);
  };
}

}  // namespace weft::http::detail

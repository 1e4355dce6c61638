// The static file handler: path checks, conditional and range requests, and what a failed
// open means.
//
// Paths: the route's "*" is percent-decoded once and split on '/'; a ".." segment, a NUL, an
// encoded slash (%2F, either case) or a backslash (raw or %5C) is a 404, and so is anything
// whose real path (symlinks resolved) is outside the root. An encoded slash is refused rather
// than decoded: "a%2Fb" names one segment to the client and two to the file system, the
// confusion that path-based access rules are bypassed with; a backslash is a separator to
// some clients and proxies.
//
// Requests, in RFC 9110's order: If-Modified-Since first (304), then Range (14.2), GET only
// (the RFC defines range handling for GET alone, so HEAD and other methods ignore it). One
// range is served as 206 with Content-Range: "bytes=0-99", "bytes=100-", "bytes=-500"; a
// range that starts past the end (or a zero-length suffix) is a 416 with
// "Content-Range: bytes */SIZE". Several ranges get a 200 of the whole file (a
// multipart/byteranges answer is not implemented, and 200 is always a valid answer), and so
// does a Range field that does not parse or names another unit (the RFC says to ignore it).
// If-Range with the Last-Modified date keeps the range only while the file is unchanged; an
// entity tag never matches (no ETag is sent). Every file response says Accept-Ranges: bytes.
//
// Failures: only "no such file" is a 404. Running out of file descriptors or memory while
// opening an existing file is a 503 with Retry-After (the client may retry; the file is
// there), a permission error 403, anything else 500.

#include "static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <limits>
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

// realpath(3) into a std::string; std::nullopt (errno set) when the path does not resolve.
std::optional<std::string> real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr),
                                                       &std::free);
  if (!resolved) return std::nullopt;
  return std::string(resolved.get());
}

// Owns the file's fd until the response takes it.
class OpenFile {
 public:
  explicit OpenFile(int fd) noexcept : fd_(fd) {}
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

ServerResponse not_found() { return ServerResponse::text(404, "Not Found\n"); }

// What a failed realpath, stat or open of a path under the root means for the client.
ServerResponse lookup_failed(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
      return not_found();
    case EACCES:
    case EPERM:
      return ServerResponse::text(403, "Forbidden\n");
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOBUFS: {
      // The file may well exist: out of fds or memory is this server's state, not the
      // file's. 1 s: the accept back-off's order of magnitude.
      ServerResponse r = ServerResponse::text(503, "Service Unavailable\n");
      r.header("Retry-After", "1");
      return r;
    }
    default:
      return ServerResponse::text(500, "Internal Server Error\n");
  }
}

// --- Range (RFC 9110 14.1.2, 14.2) --------------------------------------------------------

struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};

enum class RangeAnswer { whole, part, unsatisfiable };

std::string_view trim_ows(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// 1*DIGIT, saturating: a position past any file stays past it, a suffix longer than any file
// stays longer. std::nullopt if empty or not all digits.
std::optional<std::uint64_t> parse_position(std::string_view digits) noexcept {
  if (digits.empty()) return std::nullopt;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t n = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    n = n > (kMax - d) / 10 ? kMax : n * 10 + d;
  }
  return n;
}

// What "Range: `value`" asks of a file of `size` bytes (> 0); `range` is set for `part`.
RangeAnswer evaluate_range(std::string_view value, std::uint64_t size, ByteRange& range) {
  const std::size_t eq = value.find('=');
  if (eq == std::string_view::npos || !iequals(value.substr(0, eq), "bytes"))
    return RangeAnswer::whole;  // another unit, or not a range: ignored
  // ranges-specifier = 1#range-spec: commas with optional whitespace; empty list elements
  // are allowed by the list rule and skipped.
  std::string_view rest = value.substr(eq + 1);
  std::optional<std::string_view> spec;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view element = trim_ows(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (element.empty()) continue;
    if (spec) return RangeAnswer::whole;  // several ranges: the whole file
    spec = element;
  }
  if (!spec) return RangeAnswer::whole;
  const std::size_t dash = spec->find('-');
  if (dash == std::string_view::npos) return RangeAnswer::whole;
  const std::string_view first_text = spec->substr(0, dash);
  const std::string_view last_text = spec->substr(dash + 1);
  if (first_text.empty()) {  // suffix-range: the last N bytes
    const std::optional<std::uint64_t> suffix = parse_position(last_text);
    if (!suffix) return RangeAnswer::whole;
    if (*suffix == 0) return RangeAnswer::unsatisfiable;
    range.length = std::min(*suffix, size);
    range.first = size - range.length;
    return RangeAnswer::part;
  }
  const std::optional<std::uint64_t> first = parse_position(first_text);
  if (!first) return RangeAnswer::whole;
  std::uint64_t last = size - 1;
  if (!last_text.empty()) {
    const std::optional<std::uint64_t> parsed = parse_position(last_text);
    if (!parsed || *parsed < *first) return RangeAnswer::whole;  // invalid: ignored
    last = std::min(*parsed, size - 1);
  }
  if (*first >= size) return RangeAnswer::unsatisfiable;
  range.first = *first;
  range.length = last - *first + 1;
  return RangeAnswer::part;
}

// If-Range (RFC 9110 13.1.5): true if a Range may be honoured. Only a date can match (no
// entity tag is ever sent), exactly the file's Last-Modified, and only once that date is a
// strong validator (8.8.2.2: at least a second old; a file changed twice within its mtime's
// second would otherwise match with other bytes).
bool if_range_holds(const ServerRequest& request, std::time_t mtime) {
  const std::optional<std::string_view> validator = request.header("If-Range");
  if (!validator) return true;
  const std::optional<std::time_t> date = parse_http_date(trim_ows(*validator));
  return date && *date == mtime && mtime < std::time(nullptr);
}

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

// True if `raw` holds "%2F" or "%2f".
bool has_encoded_slash(std::string_view raw) noexcept {
  for (std::size_t at = raw.find('%'); at != std::string_view::npos; at = raw.find('%', at + 1)) {
    if (raw.size() - at >= 3 && raw[at + 1] == '2' && (raw[at + 2] == 'f' || raw[at + 2] == 'F'))
      return true;
  }
  return false;
}

// The decoded, checked relative path, or std::nullopt if it may not be served: a bad escape,
// an encoded slash, a NUL or a backslash, or a ".." segment (after decoding, so %2e%2e is
// caught too). See the top of the file for why %2F is refused, not decoded.
std::optional<std::string> safe_relative(std::string_view raw) {
  if (has_encoded_slash(raw)) return std::nullopt;
  std::optional<std::string> decoded = percent_decode(raw);
  if (!decoded) return std::nullopt;
  std::string out;
  std::size_t start = 0;
  const std::string& d = *decoded;
  if (d.find('\0') != std::string::npos || d.find('\\') != std::string::npos) return std::nullopt;
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
    if (!real) return lookup_failed(errno);
    if (!inside_root(*real)) return not_found();
    struct stat st {};
    if (::stat(real->c_str(), &st) != 0) return lookup_failed(errno);
    if (S_ISDIR(st.st_mode)) {
      // A directory named without its trailing slash is redirected to the name with it, as
      // other file servers do: its index.html's relative links resolve against the URL, and
      // under "/docs" a link to "a.html" would mean "/a.html", not "/docs/a.html".
      if (!request.path().ends_with('/')) return redirect_to_directory(request);
      real = real_path(*real + "/index.html");
      if (!real) return lookup_failed(errno);
      if (!inside_root(*real)) return not_found();
      if (::stat(real->c_str(), &st) != 0) return lookup_failed(errno);
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
    // O_NONBLOCK: if the file was swapped for a FIFO since the stat, open must not wait for
    // a writer (it has no effect on a regular file); fstat then checks what was opened.
    OpenFile file(::open(real->c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (file.get() < 0) return lookup_failed(errno);
    if (::fstat(file.get(), &st) != 0) return lookup_failed(errno);
    if (!S_ISREG(st.st_mode)) return not_found();
    const auto size = static_cast<std::uint64_t>(st.st_size);

    int status = 200;
    ByteRange range{0, size};
    const std::optional<std::string_view> range_field = request.header("Range");
    if (range_field && size > 0 && request.method() == "GET" &&
        if_range_holds(request, st.st_mtime)) {
      switch (evaluate_range(*range_field, size, range)) {
        case RangeAnswer::whole:
          range = ByteRange{0, size};
          break;
        case RangeAnswer::part:
          status = 206;
          break;
        case RangeAnswer::unsatisfiable: {
          ServerResponse r = ServerResponse::text(416, "Range Not Satisfiable\n");
          r.header("Content-Range", "bytes */" + std::to_string(size));
          r.header("Accept-Ranges", "bytes");
          r.header("Last-Modified", format_http_date(st.st_mtime));
          return r;
        }
      }
    }
    const std::size_t slash = real->rfind('/');
    ServerResponse r = ServerResponse::file(status, file.release(), range.first, range.length,
                                            content_type_for(std::string_view(*real).substr(
                                                slash == std::string::npos ? 0 : slash + 1)));
    if (status == 206) {
      r.header("Content-Range", "bytes " + std::to_string(range.first) + "-" +
                                    std::to_string(range.first + range.length - 1) + "/" +
                                    std::to_string(size));
    }
    r.header("Accept-Ranges", "bytes");
    r.header("Last-Modified", format_http_date(st.st_mtime));
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

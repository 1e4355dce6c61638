#pragma once

// Helpers for the weft::http::Server tests:
//
// - TestServer: a Runtime and a Server serving on 127.0.0.1 (port 0), started and stopped from
//   the test's own thread, so the clients below never share the server's loops.
// - RawClient: a blocking-style loopback client over a plain non-blocking socket in which every
//   wait is a poll() with a deadline. It sends exactly the bytes it is given (hostile ones too)
//   and reads responses with weft::http::ResponseParser, or raw bytes until the server closes.
// - free_loopback_port(), Subprocess / run_process() (fork+exec with a timeout, for curl,
//   python3 and wrk), find_executable().
// - The routes the http_server*_test.cpp files share: reply() / echo() / ... handlers,
//   add_routes(), Served (a TestServer with them, started), body_of() / status_of().
//
// No wait here is unbounded: each takes a timeout (weft::test::kDeadline by default) and
// reports running out of it instead of hanging.

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>
#include <weft/http/response_parser.hpp>
#include <weft/http/server.hpp>
#include <weft/io/socket_address.hpp>
#include <weft/wait_for.hpp>
#include <weft/weft.hpp>

#include "fd_count.hpp"
#include "test_support.hpp"

namespace weft::test::http {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// --- the server under test -------------------------------------------------------------------

// A Runtime (2 loops by default) and a Server on 127.0.0.1:<any port>. Configure routes through
// server() before start(). The runtime is declared first so that it is destroyed last: the
// server's listeners and connections are registered with its loops.
class TestServer {
 public:
  explicit TestServer(weft::http::ServerOptions options = {}, unsigned loops = 2)
      : runtime_(quiet_options(loops)), server_(std::move(options)) {}
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer() {
    if (serving_.valid() && !stopped_) {
      try {
        stop(std::chrono::seconds(2));
      } catch (...) {  // a failed stop was reported by the test that caused it
      }
    }
  }

  weft::http::Server& server() noexcept { return server_; }
  weft::Runtime& runtime() noexcept { return runtime_; }
  [[nodiscard]] const weft::io::SocketAddress& address() const noexcept { return address_; }
  [[nodiscard]] weft::http::ServerStats stats() const noexcept { return server_.stats(); }

  // listen() on a loop (it registers with the caller's loop), then serve() as its own task.
  // With `tls` (ServerOptions::tls set), listen_tls() too, on a port of its own: tls_address().
  // With `plain` false, only that.
  const weft::io::SocketAddress& start(bool tls = false, bool plain = true) {
    runtime_.block_on([](TestServer& t, bool with_tls, bool with_plain) -> Task<void> {
      const auto any = weft::io::SocketAddress::parse("127.0.0.1:0");
      if (with_plain) t.address_ = t.server_.listen(any);
      if (with_tls) t.tls_address_ = t.server_.listen_tls(any);
      co_return;
    }(*this, tls, plain));
    serving_ = runtime_.spawn(server_.serve(), {.name = "http server"});
    return plain ? address_ : tls_address_;
  }
  [[nodiscard]] const weft::io::SocketAddress& tls_address() const noexcept { return tls_address_; }

  // shutdown(grace), then waits for serve() to return (rethrowing what it threw). Throws
  // std::runtime_error if either takes longer than `bound` (the test then fails).
  void stop(Ms grace = std::chrono::seconds(5), Ms bound = std::chrono::seconds(30)) {
    stopped_ = true;
    runtime_.block_on(
        [](weft::http::Server& s, JoinHandle<void>& serving, Ms g, Ms b) -> Task<void> {
          co_await weft::wait_for(s.shutdown(g), b);
          if (const bool ok = co_await weft::test::finished_within(serving, b); !ok)
            throw std::runtime_error("serve() did not return after shutdown()");
          co_await serving;
        }(server_, serving_, grace, bound));
  }

  // True once serve() has returned.
  [[nodiscard]] bool serve_returned() const noexcept { return serving_.done(); }

  // Runs shutdown(grace) as a task of its own (so the test thread can watch what happens
  // meanwhile); join it with wait_stopped().
  void begin_stop(Ms grace) {
    stopped_ = true;
    shutdown_ = runtime_.spawn(server_.shutdown(grace), {.name = "http shutdown"});
  }
  [[nodiscard]] bool shutdown_returned() const noexcept { return shutdown_.done(); }
  // After begin_stop: waits (at most `bound`) for shutdown() and serve() to return.
  bool wait_stopped(Ms bound) {
    return runtime_.block_on(
        [](JoinHandle<void>& shutdown, JoinHandle<void>& serving, Ms b) -> Task<bool> {
          if (const bool ok = co_await weft::test::finished_within(shutdown, b); !ok)
            co_return false;
          co_await shutdown;
          if (const bool ok = co_await weft::test::finished_within(serving, b); !ok)
            co_return false;
          co_await serving;
          co_return true;
        }(shutdown_, serving_, bound));
  }

 private:
  static weft::RuntimeOptions quiet_options(unsigned loops) {
    weft::RuntimeOptions o = weft::test::options(loops);
    // Sanitizer builds are slow enough to trip the stall reporter on harmless work.
    o.stall_threshold = Ms(0);
    return o;
  }

  weft::Runtime runtime_;
  weft::http::Server server_;
  weft::io::SocketAddress address_;
  weft::io::SocketAddress tls_address_;
  JoinHandle<void> serving_;
  JoinHandle<void> shutdown_;
  bool stopped_ = false;
};

// --- responses -------------------------------------------------------------------------------

// A response that owns its bytes (weft::http::Response points into its parser).
struct RawResponse {
  int status = 0;
  std::string reason;
  weft::http::Version version = weft::http::Version::http_1_1;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> trailers;
  std::string body;
  bool chunked = false;
  bool keep_alive = true;

  [[nodiscard]] std::optional<std::string> header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (weft::http::iequals(n, name)) return v;
    return std::nullopt;
  }
  [[nodiscard]] std::size_t header_count(std::string_view name) const {
    return static_cast<std::size_t>(
        std::count_if(headers.begin(), headers.end(),
                      [&](const auto& f) { return weft::http::iequals(f.first, name); }));
  }
  [[nodiscard]] bool connection_close() const {
    for (const auto& [n, v] : headers) {
      if (!weft::http::iequals(n, "Connection")) continue;
      std::string lower = v;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower.find("close") != std::string::npos) return true;
    }
    return false;
  }
  [[nodiscard]] std::string describe() const {
    std::string s = std::to_string(status) + " " + reason;
    for (const auto& [n, v] : headers) s += " | " + n + ": " + v;
    s += " | body " + std::to_string(body.size()) + " bytes";
    return s;
  }
};

inline RawResponse own(const weft::http::Response& r) {
  RawResponse out;
  out.status = r.status;
  out.reason = std::string(r.reason);
  out.version = r.version;
  for (const auto& h : r.headers) out.headers.emplace_back(h.name, h.value);
  for (const auto& h : r.trailers) out.trailers.emplace_back(h.name, h.value);
  out.body = std::string(r.body);
  out.chunked = r.chunked;
  out.keep_alive = r.keep_alive;
  return out;
}

// Responses big enough for the static-file tests.
inline weft::http::Limits client_limits() {
  weft::http::Limits l;
  l.max_body = 64u << 20;
  return l;
}

// Parses `bytes` (everything a connection delivered until it closed) as responses to
// requests with `methods` in order (the last one repeats). `rest`: bytes after the last
// complete response, and why parsing stopped.
struct Parsed {
  std::vector<RawResponse> responses;
  std::size_t trailing_bytes = 0;  // after the last complete response
  std::string error;               // a malformed or truncated response
};
inline Parsed parse_responses(std::string_view bytes, std::vector<std::string> methods = {"GET"}) {
  Parsed out;
  weft::http::ResponseParser parser(client_limits());
  std::size_t i = 0;
  parser.start(methods.empty() ? "GET" : methods[0]);
  weft::http::ParseStatus st = parser.feed(bytes);
  for (;;) {
    if (st == weft::http::ParseStatus::need_more) st = parser.finish();
    if (st == weft::http::ParseStatus::error) {
      if (parser.buffered() != 0 || out.responses.empty())
        out.error = std::string(parser.error().reason);
      out.trailing_bytes = parser.buffered();
      return out;
    }
    out.responses.push_back(own(parser.response()));
    ++i;
    out.trailing_bytes = parser.buffered();
    if (out.trailing_bytes == 0) return out;
    parser.start(methods.empty() ? "GET" : methods[std::min(i, methods.size() - 1)]);
    st = parser.feed(std::string_view{});
  }
}

// --- a raw loopback client -------------------------------------------------------------------

enum class ReadEnd {
  complete,   // the response (or the needle) arrived
  closed,     // end of stream
  reset,      // ECONNRESET
  timeout,    // nothing within the bound
  malformed,  // the response parser refused what arrived
};

inline const char* to_string(ReadEnd e) {
  switch (e) {
    case ReadEnd::complete:
      return "complete";
    case ReadEnd::closed:
      return "closed";
    case ReadEnd::reset:
      return "reset";
    case ReadEnd::timeout:
      return "timeout";
    case ReadEnd::malformed:
      return "malformed";
  }
  return "?";
}

class RawClient {
 public:
  RawClient() = default;
  RawClient(RawClient&& o) noexcept
      : fd_(std::exchange(o.fd_, -1)),
        parser_(std::move(o.parser_)),
        pending_(std::move(o.pending_)),
        last_end_(o.last_end_),
        parse_error_(std::move(o.parse_error_)) {}
  RawClient& operator=(RawClient&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
      parser_ = std::move(o.parser_);
      pending_ = std::move(o.pending_);
      last_end_ = o.last_end_;
      parse_error_ = std::move(o.parse_error_);
    }
    return *this;
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() { close(); }

  // Connects within `timeout`; std::system_error with the errno when refused (or
  // std::runtime_error on timeout).
  static RawClient connect(const weft::io::SocketAddress& address, Ms timeout = kDeadline) {
    RawClient c;
    c.fd_ = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd_ < 0) throw std::system_error(errno, std::system_category(), "socket");
    const int one = 1;
    ::setsockopt(c.fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(c.fd_, address.native(), address.native_size()) != 0) {
      if (errno != EINPROGRESS)
        throw std::system_error(errno, std::system_category(), "connect " + address.to_string());
      pollfd p{c.fd_, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
        throw std::runtime_error("connect to " + address.to_string() + " timed out");
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(c.fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0)
        throw std::system_error(err, std::system_category(), "connect " + address.to_string());
    }
    return c;
  }

  // The errno of a connect attempt (0: connected, then closed at once).
  static int connect_errno(const weft::io::SocketAddress& address, Ms timeout = Ms(2000)) {
    try {
      (void)connect(address, timeout);
      return 0;
    } catch (const std::system_error& e) {
      return e.code().value();
    } catch (const std::runtime_error&) {
      return ETIMEDOUT;
    }
  }

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  void close() noexcept {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }
  void shutdown_write() noexcept { ::shutdown(fd_, SHUT_WR); }
  // Closes with an RST instead of a FIN (SO_LINGER 0).
  void abort() noexcept {
    linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close();
  }

  // Sends every byte; false if the peer is gone (EPIPE, ECONNRESET) or `timeout` passed.
  bool send(std::string_view bytes, Ms timeout = kDeadline) {
    const auto deadline = Clock::now() + timeout;
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait_for_event(POLLOUT, deadline)) return false;
        continue;
      }
      return false;
    }
    return true;
  }

  // Sends a byte at a time with `gap` between them (a slow client).
  bool send_slowly(std::string_view bytes, Ms gap) {
    for (char c : bytes) {
      if (!send(std::string_view(&c, 1))) return false;
      ::usleep(static_cast<useconds_t>(gap.count() * 1000));
    }
    return true;
  }

  // One response to a request with `method`. std::nullopt when it did not arrive complete:
  // last_end() says why (closed, reset, timeout, malformed; parse_error() for malformed).
  std::optional<RawResponse> read_response(std::string_view method = "GET",
                                           Ms timeout = kDeadline) {
    const auto deadline = Clock::now() + timeout;
    parser_->start(method);
    weft::http::ParseStatus st = parser_->feed(std::exchange(pending_, {}));
    while (st == weft::http::ParseStatus::need_more) {
      char buf[16384];
      const ReadEnd e = read_some(buf, sizeof buf, deadline);
      if (e == ReadEnd::complete) {
        st = parser_->feed(std::string_view(buf, last_read_));
        continue;
      }
      if (e == ReadEnd::closed) {
        // A body delimited by the close completes here; anything else was cut short.
        st = parser_->finish();
        if (st == weft::http::ParseStatus::complete) break;
        parse_error_ = std::string(parser_->error().reason);
      }
      last_end_ = e;
      return std::nullopt;
    }
    if (st == weft::http::ParseStatus::error) {
      last_end_ = ReadEnd::malformed;
      parse_error_ = std::string(parser_->error().reason);
      return std::nullopt;
    }
    last_end_ = ReadEnd::complete;
    return own(parser_->response());
  }

  // Raw bytes up to and including the first `needle` (bytes after it are kept for the next
  // read_response). std::nullopt if the connection ended or `timeout` passed first.
  std::optional<std::string> read_until(std::string_view needle, Ms timeout = kDeadline) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (const auto at = pending_.find(needle); at != std::string::npos) {
        std::string head = pending_.substr(0, at + needle.size());
        pending_.erase(0, at + needle.size());
        return head;
      }
      char buf[4096];
      const ReadEnd e = read_some(buf, sizeof buf, deadline);
      if (e != ReadEnd::complete) {
        last_end_ = e;
        return std::nullopt;
      }
      pending_.append(buf, last_read_);
    }
  }

  // Reads until the server closes: everything that arrived (after what read_response()
  // consumed) in `bytes`, and how it ended (closed, reset or timeout).
  struct UntilClose {
    std::string bytes;
    ReadEnd end = ReadEnd::timeout;
    Clock::duration waited{};
  };
  UntilClose read_until_close(Ms timeout = kDeadline) {
    const auto start = Clock::now();
    const auto deadline = start + timeout;
    UntilClose out;
    out.bytes = std::exchange(pending_, {});
    for (;;) {
      char buf[16384];
      const ReadEnd e = read_some(buf, sizeof buf, deadline);
      if (e != ReadEnd::complete) {
        out.end = e;
        break;
      }
      out.bytes.append(buf, last_read_);
    }
    out.waited = Clock::now() - start;
    return out;
  }

  // True if the server closed (FIN or RST) within `timeout`; bytes that arrive meanwhile are
  // counted in `*extra` if given.
  bool wait_closed(Ms timeout = kDeadline, std::size_t* extra = nullptr) {
    const UntilClose r = read_until_close(timeout);
    if (extra != nullptr) *extra = r.bytes.size() + parser_->buffered();
    return r.end == ReadEnd::closed || r.end == ReadEnd::reset;
  }

  // Bytes that arrive within `window` (for "nothing more was sent"). Bytes that came with the
  // last response but after it (still in the parser) are included as '?'s.
  std::string read_for(Ms window) {
    const auto deadline = Clock::now() + window;
    std::string out = std::string(parser_->buffered(), '?') + std::exchange(pending_, {});
    for (;;) {
      char buf[4096];
      if (read_some(buf, sizeof buf, deadline) != ReadEnd::complete) return out;
      out.append(buf, last_read_);
    }
  }

  [[nodiscard]] ReadEnd last_end() const noexcept { return last_end_; }
  [[nodiscard]] const std::string& parse_error() const noexcept { return parse_error_; }
  // Bytes read after the last complete response (pipelined ones, or stray ones).
  [[nodiscard]] std::size_t buffered() const noexcept {
    return pending_.size() + parser_->buffered();
  }

 private:
  bool wait_for_event(short events, Clock::time_point deadline) {
    for (;;) {
      const auto left = std::chrono::duration_cast<Ms>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, events, 0};
      const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  }

  ReadEnd read_some(char* buf, std::size_t size, Clock::time_point deadline) {
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, size, MSG_DONTWAIT);
      if (n > 0) {
        last_read_ = static_cast<std::size_t>(n);
        return ReadEnd::complete;
      }
      if (n == 0) return ReadEnd::closed;
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return ReadEnd::reset;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return ReadEnd::reset;
      if (!wait_for_event(POLLIN, deadline)) return ReadEnd::timeout;
    }
  }

  int fd_ = -1;
  // Behind a pointer: the parser is not movable, the client is.
  std::unique_ptr<weft::http::ResponseParser> parser_ =
      std::make_unique<weft::http::ResponseParser>(client_limits());
  std::string pending_;
  std::size_t last_read_ = 0;
  ReadEnd last_end_ = ReadEnd::complete;
  std::string parse_error_;
};

// One request on a fresh connection; the response (std::nullopt if none arrived complete).
inline std::optional<RawResponse> fetch(const weft::io::SocketAddress& address,
                                        std::string_view request, std::string_view method = "GET",
                                        Ms timeout = kDeadline) {
  RawClient c = RawClient::connect(address, timeout);
  if (!c.send(request, timeout)) return std::nullopt;
  return c.read_response(method, timeout);
}

// "GET <target> HTTP/1.1" with a Host and the given extra field lines ("Name: value\r\n").
inline std::string get_request(std::string_view target, std::string_view extra = {},
                               std::string_view method = "GET") {
  std::string r;
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
  r.append(extra).append("\r\n");
  return r;
}

// --- ports, files ----------------------------------------------------------------------------

// A port that was free a moment ago on 127.0.0.1 (bound with port 0, then closed).
inline std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err, std::system_category(), "bind 127.0.0.1:0");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

using weft::test::open_fd_count;

// A directory under /tmp removed with everything in it when this goes away.
class TempDir {
 public:
  explicit TempDir(std::string_view tag) {
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

// --- subprocesses ----------------------------------------------------------------------------

// The full path of `name` found on PATH (executable), or std::nullopt.
inline std::optional<std::string> find_executable(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view{} : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    const std::string candidate = std::string(dir) + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

struct ProcessResult {
  bool started = false;
  std::string start_error;
  bool timed_out = false;  // killed (SIGKILL) at the timeout
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  std::string out;
  std::string err;

  [[nodiscard]] bool ok() const noexcept { return started && !timed_out && exit_code == 0; }
  [[nodiscard]] std::string describe() const {
    std::string s = !started      ? "not started: " + start_error
                    : timed_out   ? std::string("timed out")
                    : signal != 0 ? "killed by signal " + std::to_string(signal)
                                  : "exit " + std::to_string(exit_code);
    return s + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
  }
};

// A child process (fork + execv) with its stdout and stderr collected through pipes. fds of
// the parent are close-on-exec (weft's and these helpers' all are), so the child inherits only
// 0, 1 and 2.
class Subprocess {
 public:
  // `argv[0]` must be a path (see find_executable()). stdin is /dev/null.
  explicit Subprocess(std::vector<std::string> argv) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
      result_.start_error = std::strerror(errno);
      return;
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
      result_.start_error = std::strerror(errno);
      ::close(out[0]);
      ::close(out[1]);
      return;
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      // Only async-signal-safe calls from here to exec: the parent has other threads.
      const int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    if (pid < 0) {
      result_.start_error = std::strerror(errno);
      ::close(out[0]);
      ::close(err[0]);
      return;
    }
    pid_ = pid;
    out_fd_ = out[0];
    err_fd_ = err[0];
    result_.started = true;
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait(Ms(5000));
    }
    close_pipes();
  }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // Collects output until the child exits or `timeout` passes (then SIGKILL). Returns the
  // result once the child has been reaped.
  const ProcessResult& wait(Ms timeout) {
    const auto deadline = Clock::now() + timeout;
    while (pid_ > 0) {
      drain(Ms(20));
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        drain(Ms(0));
        if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
        pid_ = -1;
        // Whatever the child left in the pipes (it may have handed them on to its own
        // children: do not wait for those).
        drain(Ms(50));
        close_pipes();
        break;
      }
      if (Clock::now() >= deadline) {
        result_.timed_out = true;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        drain(Ms(0));
        close_pipes();
        break;
      }
    }
    return result_;
  }

  // Output so far (and keeps the pipes from filling up).
  const ProcessResult& poll_output() {
    drain(Ms(0));
    return result_;
  }

  [[nodiscard]] const ProcessResult& result() const noexcept { return result_; }

 private:
  void drain(Ms wait) {
    pollfd p[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (out_fd_ < 0 && err_fd_ < 0) return;
    if (::poll(p, 2, static_cast<int>(wait.count())) <= 0) return;
    for (int round = 0; round < 64; ++round) {
      bool any = false;
      any |= read_from(out_fd_, result_.out);
      any |= read_from(err_fd_, result_.err);
      if (!any) break;
    }
  }
  static bool read_from(int& fd, std::string& into) {
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char buf[8192];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    if (n == 0) {
      ::close(fd);
      fd = -1;
    }
    return false;
  }
  void close_pipes() {
    if (out_fd_ >= 0) ::close(std::exchange(out_fd_, -1));
    if (err_fd_ >= 0) ::close(std::exchange(err_fd_, -1));
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  ProcessResult result_;
};

inline ProcessResult run_process(std::vector<std::string> argv, Ms timeout) {
  Subprocess p(std::move(argv));
  if (!p.result().started) return p.result();
  return p.wait(timeout);
}

// --- routes shared by the server tests -------------------------------------------------------

// Handlers forward to coroutines that take what they need by value, so no coroutine frame
// points into a handler's closure.
inline Task<weft::http::ServerResponse> reply(std::string body, int status = 200) {
  co_return weft::http::ServerResponse::text(status, std::move(body));
}

// The body back, with what the request said about its framing.
inline Task<weft::http::ServerResponse> echo(weft::http::ServerRequest& request) {
  weft::http::ServerResponse r = weft::http::ServerResponse::text(200, std::string(request.body()),
                                                                  "application/octet-stream");
  if (auto t = request.request().trailers.find("X-Trailer")) r.header("X-Got-Trailer", *t);
  r.header("X-Was-Chunked", request.request().chunked ? "yes" : "no");
  co_return r;
}

inline Task<weft::http::ServerResponse> throws(weft::http::ServerRequest&) {
  throw std::runtime_error("handler failed on purpose");
  co_return weft::http::ServerResponse(200);
}

inline Task<weft::http::ServerResponse> injects(weft::http::ServerRequest& request) {
  weft::http::ServerResponse r = weft::http::ServerResponse::text(200, "should not be sent");
  if (request.query() == "name")
    r.header("X-Evil\r\nSet-Cookie", "pwned=1");
  else
    r.header("X-Evil", "a\r\nSet-Cookie: pwned=1");
  co_return r;
}

// Framing fields a handler sets are the server's to decide: they must be dropped.
inline Task<weft::http::ServerResponse> sets_framing(weft::http::ServerRequest&) {
  weft::http::ServerResponse r = weft::http::ServerResponse::text(200, "framed by the server");
  r.header("Content-Length", "999");
  r.header("Transfer-Encoding", "chunked");
  r.header("Connection", "close");
  r.header("X-Kept", "yes");
  co_return r;
}

inline Task<weft::http::ServerResponse> streamed(weft::http::ServerRequest&) {
  co_return weft::http::ServerResponse::stream(
      200,
      [n = 0]() mutable -> Task<std::optional<std::string>> {
        const int i = n++;
        if (i == 4) co_return std::nullopt;
        co_await weft::sleep(Ms(1));          // each part its own write
        if (i == 1) co_return std::string();  // skipped: an empty chunk would end the body
        co_return "part " + std::to_string(i) + "\n";
      },
      "text/plain");
}

inline void add_routes(weft::http::Server& s) {
  using weft::http::ServerRequest;
  s.route("GET", "/hello", [](ServerRequest&) { return reply("hello\n"); });
  s.route("POST", "/hello", [](ServerRequest&) { return reply("posted\n"); });
  s.route("GET", "/users/{id}",
          [](ServerRequest& r) { return reply("user " + std::string(r.param("id"))); });
  s.route("GET", "/users/me", [](ServerRequest&) { return reply("me"); });
  s.route("GET", "/users/{id}/posts/{post}", [](ServerRequest& r) {
    return reply(std::string(r.param("id")) + "/" + std::string(r.param("post")) + "?" +
                 std::string(r.query()));
  });
  s.route("GET", "/files/*",
          [](ServerRequest& r) { return reply("rest=" + std::string(r.param("*"))); });
  s.route("GET", "/p/{n}",
          [](ServerRequest& r) { return reply("p=" + std::string(r.param("n"))); });
  s.route("POST", "/echo", [](ServerRequest& r) { return echo(r); });
  s.route("GET", "/throw", [](ServerRequest& r) { return throws(r); });
  s.route("GET", "/inject", [](ServerRequest& r) { return injects(r); });
  s.route("GET", "/framing", [](ServerRequest& r) { return sets_framing(r); });
  s.route("GET", "/stream", [](ServerRequest& r) { return streamed(r); });
}

// A server with add_routes() on 2 loops, started.
struct Served {
  explicit Served(weft::http::ServerOptions options = {}) : server(std::move(options)) {
    add_routes(server.server());
    server.start();
  }
  TestServer server;
  [[nodiscard]] const weft::io::SocketAddress& address() const { return server.address(); }
};

inline std::string body_of(const std::optional<RawResponse>& r) {
  return r ? r->body : "<no response>";
}
inline int status_of(const std::optional<RawResponse>& r) { return r ? r->status : 0; }

}  // namespace weft::test::http

#pragma once

// A raw loopback client for the weft::http::Server tests: a blocking-style client over a plain
// non-blocking socket in which every wait is a poll() with a deadline (weft::test::kDeadline by
// default), reporting running out of it instead of hanging. It sends exactly the bytes it is
// given (hostile ones too) and reads responses with weft::http::ResponseParser, or raw bytes
// until the server closes. Responses own their bytes (RawResponse).

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>
#include <weft/http/response_parser.hpp>
#include <weft/io/socket_address.hpp>

#include "test_support.hpp"

namespace weft::test::http {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

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

}  // namespace weft::test::http

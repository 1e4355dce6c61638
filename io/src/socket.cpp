#include "weft/io/detail/socket.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "weft/detail/sigpipe.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/loop_info.hpp"
#include "weft/sleep.hpp"

namespace weft::io {

IncompleteReadError::IncompleteReadError(std::size_t received, std::size_t expected)
    : std::runtime_error("weft::io: stream ended after " + std::to_string(received) + " of " +
                         std::to_string(expected) + " bytes"),
      received_(received),
      expected_(expected) {}

namespace detail {

namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::system_category(), what);
}

// "who: operation" failed with `err`. Out of line, so that the non-blocking calls on the
// per-request path (try_read, try_write) build no message strings in their own frames.
[[noreturn, gnu::noinline, gnu::cold]] void throw_op_errno(int err, const char* who,
                                                           const char* operation) {
  throw_errno(err, std::string(who) + ": " + operation);
}

// Owns a raw fd until an AsyncFd takes it.
class OwnedFd {
 public:
  explicit OwnedFd(int fd) noexcept : fd_(fd) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// accept4 errors after which the listener is still fine. The connection that failed is gone
// (ECONNABORTED, and on Linux the pending network errors accept(2) lists) or the call was
// interrupted: try the next one.
bool is_transient_accept_error(int err) noexcept {
  switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:  // a firewall rule refused this one connection
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

// Out of fds (per process or system-wide) or kernel memory: the pending connection stays
// queued and the listener stays readable, so retrying at once would spin.
bool is_resource_exhaustion(int err) noexcept {
  return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

// Accept back-off: 5 ms doubling to 1 s. 1 s bounds how long a listener stays deaf after
// fds are freed.
constexpr std::chrono::milliseconds kFirstBackoff{5};
constexpr std::chrono::milliseconds kMaxBackoff{1000};

// The most one recv/send/sendfile moves. Every call charges what it moved to the task's
// cooperative budget (charge_budget_for_io: 256 KiB per run), so a call must not move much
// more than that: one send of a 64 MiB buffer to a fast reader would otherwise copy the
// socket's whole buffer (up to tcp_wmem's 4 MiB) in one run. 256 KiB costs ~60 us over
// loopback; the extra syscalls of a large transfer are ~1% of its time.
constexpr std::size_t kMaxBytesPerCall = 256 * 1024;

std::size_t capped(std::size_t size) noexcept { return std::min(size, kMaxBytesPerCall); }

}  // namespace

int open_socket(int family, int type, const char* who) {
  const int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw_errno(errno, std::string(who) + ": socket");
  return fd;
}

SocketAddress local_address_of(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0)
    throw_errno(errno, "weft::io: getsockname");
  return SocketAddress::from_native(reinterpret_cast<const sockaddr*>(&storage), len);
}

SocketAddress peer_address_of(int fd) {
  sockaddr_storage storage{};
  socklen_t len = sizeof storage;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &len) != 0)
    throw_errno(errno, "weft::io: getpeername");
  return SocketAddress::from_native(reinterpret_cast<const sockaddr*>(&storage), len);
}

void set_int_option(int fd, int level, int name, int value, const char* who) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0)
    throw_errno(errno, std::string(who) + ": setsockopt");
}

int get_int_option(int fd, int level, int name, const char* who) {
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, level, name, &value, &len) != 0)
    throw_errno(errno, std::string(who) + ": getsockopt");
  return value;
}

Task<AsyncFd> connect_socket(SocketAddress address, int type, const char* who) {
  OwnedFd raw(open_socket(address.family(), type, who));
  int rc;
  do {
    rc = ::connect(raw.get(), address.native(), address.native_size());
  } while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS)
    throw_errno(errno, std::string(who) + ": connect to " + address.to_string());
  // Registered after connect(): an unconnected TCP socket polls as EPOLLHUP, an edge that
  // would only cost a spurious wake-up, but there is no reason to take it.
  AsyncFd fd(raw.release());
  if (rc == 0) co_return fd;
  for (;;) {
    const Readiness seen = co_await fd.writable();
    const int err = get_int_option(fd.fd(), SOL_SOCKET, SO_ERROR, who);
    if (err != 0) throw_errno(err, std::string(who) + ": connect to " + address.to_string());
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(fd.fd(), reinterpret_cast<sockaddr*>(&peer), &len) == 0) co_return fd;
    // Writable but neither connected nor failed: an edge from before the connect finished.
    if (errno != ENOTCONN)
      throw_errno(errno, std::string(who) + ": connect to " + address.to_string());
    fd.clear_writable(seen);
  }
}

Task<std::size_t> StreamSocket::read_some(std::span<std::byte> buffer) {
  if (buffer.empty()) co_return 0;
  for (;;) {
    const Readiness seen = co_await fd_.readable();
    const std::size_t size = capped(buffer.size());
    const ssize_t n = ::recv(fd_.fd(), buffer.data(), size, 0);
    if (n >= 0) {
      // A short read emptied the receive buffer: forget the readiness now, which saves the
      // EAGAIN syscall of the next read (request/response traffic: one recv per message).
      // An end of stream that came with this edge is kept by the reactor (AsyncFd).
      if (n > 0 && static_cast<std::size_t>(n) < size) fd_.clear_readable(seen);
      weft::detail::charge_budget_for_io(static_cast<std::size_t>(n));
      co_return static_cast<std::size_t>(n);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      fd_.clear_readable(seen);
    } else if (errno != EINTR) {
      throw_errno(errno, std::string(who_) + ": read");
    }
  }
}

std::optional<std::size_t> StreamSocket::try_read(std::span<std::byte> buffer) {
  if (buffer.empty()) return 0;
  for (;;) {
    const std::size_t size = capped(buffer.size());
    const ssize_t n = ::recv(fd_.fd(), buffer.data(), size, 0);
    if (n >= 0) {
      // As in read_some: a short read drained the socket.
      if (n > 0 && static_cast<std::size_t>(n) < size) fd_.clear_readable(read_seen_);
      weft::detail::charge_budget_for_io(static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      fd_.clear_readable(read_seen_);
      return std::nullopt;
    }
    if (errno != EINTR) throw_op_errno(errno, who_, "read");
  }
}

std::size_t StreamSocket::try_write(std::span<const std::byte> buffer) {
  if (buffer.empty()) return 0;
  for (;;) {
    const ssize_t n =
        ::send(fd_.fd(), buffer.data(), capped(buffer.size()), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      weft::detail::charge_budget_for_io(static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    if (errno != EINTR) throw_op_errno(errno, who_, "write");
  }
}

Task<void> StreamSocket::send_file(int file_fd, std::uint64_t offset, std::uint64_t count) {
  auto position = static_cast<off_t>(offset);
  while (count > 0) {
    const Readiness seen = co_await fd_.writable();
    const std::size_t chunk =
        static_cast<std::size_t>(std::min<std::uint64_t>(count, kMaxBytesPerCall));
    // sendfile(2) cannot take MSG_NOSIGNAL: a peer that is gone raises SIGPIPE. This thread
    // blocks it (weft/detail/sigpipe.hpp), so it waits here, pending, and is taken back.
    // Not only after EPIPE: a call that sent some bytes before it hit the closed peer
    // returns their count, and the SIGPIPE it raised on the way is still there.
    weft::detail::SigpipeOfOneCall sigpipe;
    const ssize_t n = ::sendfile(fd_.fd(), file_fd, &position, chunk);
    if (n < 0 || static_cast<std::size_t>(n) < chunk) sigpipe.discard_raised();
    if (n > 0) {
      if (static_cast<std::size_t>(n) < chunk) fd_.clear_writable(seen);
      count -= static_cast<std::uint64_t>(n);
      weft::detail::charge_budget_for_io(static_cast<std::size_t>(n));
    } else if (n == 0) {
      throw std::runtime_error(std::string(who_) + ": send_file: the file ended " +
                               std::to_string(count) + " bytes early");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      fd_.clear_writable(seen);
    } else if (errno != EINTR) {
      throw_errno(errno, std::string(who_) + ": send_file");
    }
  }
}

Task<void> StreamSocket::read_exact(std::span<std::byte> buffer) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const std::size_t n = co_await read_some(buffer.subspan(done));
    if (n == 0) throw IncompleteReadError(done, buffer.size());
    done += n;
  }
}

Task<void> StreamSocket::write_all(std::span<const std::byte> buffer) {
  while (!buffer.empty()) {
    const Readiness seen = co_await fd_.writable();
    const std::size_t size = capped(buffer.size());
    const ssize_t n = ::send(fd_.fd(), buffer.data(), size, MSG_NOSIGNAL);
    if (n >= 0) {
      if (static_cast<std::size_t>(n) < size) fd_.clear_writable(seen);
      buffer = buffer.subspan(static_cast<std::size_t>(n));
      weft::detail::charge_budget_for_io(static_cast<std::size_t>(n));
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      fd_.clear_writable(seen);
    } else if (errno != EINTR) {
      throw_errno(errno, std::string(who_) + ": write");
    }
  }
}

void StreamSocket::shutdown_write() {
  if (::shutdown(fd_.fd(), SHUT_WR) != 0) throw_errno(errno, std::string(who_) + ": shutdown");
}

SocketAddress StreamSocket::local_address() const { return local_address_of(fd_.fd()); }
SocketAddress StreamSocket::peer_address() const { return peer_address_of(fd_.fd()); }

Task<AsyncFd> ListenerSocket::accept_fd() {
  std::chrono::milliseconds backoff = kFirstBackoff;
  for (;;) {
    const Readiness seen = co_await fd_.readable();
    const int fd = ::accept4(fd_.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      ++stats_.accepted;
      // The connection's task is spawned by the accepting task, here, and moves to the home
      // loop chosen now at its first wake-up, which that loop's reactor delivers.
      const unsigned home = placement_ == ConnectionPlacement::least_loaded
                                ? weft::least_loaded_loop()
                                : fd_.home_loop();
      co_return AsyncFd(fd, home);
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) {
      fd_.clear_readable(seen);
    } else if (is_resource_exhaustion(err)) {
      ++stats_.resource_backoffs;
      co_await weft::sleep(backoff);
      backoff = std::min(backoff * 2, kMaxBackoff);
    } else if (!is_transient_accept_error(err)) {
      throw_errno(err, std::string(who_) + ": accept");
    }
  }
}

SocketAddress ListenerSocket::local_address() const { return local_address_of(fd_.fd()); }

AsyncFd listen_socket(const SocketAddress& address, int backlog, bool reuse_address,
                      bool reuse_port, std::optional<unsigned> home_loop, const char* who) {
  OwnedFd raw(open_socket(address.family(), SOCK_STREAM, who));
  if (reuse_address && !address.is_unix())
    set_int_option(raw.get(), SOL_SOCKET, SO_REUSEADDR, 1, who);
  if (reuse_port) set_int_option(raw.get(), SOL_SOCKET, SO_REUSEPORT, 1, who);
  if (::bind(raw.get(), address.native(), address.native_size()) != 0)
    throw_errno(errno, std::string(who) + ": bind " + address.to_string());
  if (::listen(raw.get(), backlog) != 0)
    throw_errno(errno, std::string(who) + ": listen on " + address.to_string());
  if (home_loop) return AsyncFd(raw.release(), *home_loop);
  return AsyncFd(raw.release());
}

}  // namespace detail
}  // namespace weft::io

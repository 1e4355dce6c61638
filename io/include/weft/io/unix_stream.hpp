#pragma once

/// @file
/// weft::io::UnixStream and UnixListener: Unix-domain stream sockets, the same shape as
/// TcpStream/TcpListener (read_some, read_exact, write_all, shutdown_write, close; accept
/// with the same EMFILE back-off).
///
///   auto listener = weft::io::UnixListener::bind(SocketAddress::unix_path("/run/app.sock"));
///   auto client = co_await weft::io::UnixStream::connect(listener.local_address());
///
/// bind() does not remove a stale socket file, and closing does not unlink it: the path is the
/// caller's (it may be shared with a supervisor that created it).

#include <utility>

#include "weft/io/detail/socket.hpp"
#include "weft/io/socket_address.hpp"
#include "weft/io_export.hpp"
#include "weft/task.hpp"

namespace weft::io {

/// A connected Unix-domain stream socket; reading and writing come from its base.
class WEFT_IO_API UnixStream : public detail::StreamSocket {
 public:
  /// Adopts a connected Unix-domain socket (from an accept).
  explicit UnixStream(AsyncFd fd) noexcept
      : detail::StreamSocket(std::move(fd), "weft::io::UnixStream") {}

  /// Connects to a Unix-domain path. ECONNREFUSED if nobody listens there, EAGAIN if the
  /// listener's backlog is full (Unix sockets refuse rather than queue), ENOENT if the path
  /// does not exist; each a std::system_error with the path in what().
  [[nodiscard]] static Task<UnixStream> connect(SocketAddress address);
};

/// How UnixListener::bind sets its socket up.
struct UnixListenerOptions {
  /// The listen() backlog.
  int backlog = 1024;
};

/// A listening Unix-domain stream socket.
class WEFT_IO_API UnixListener : public detail::ListenerSocket {
 public:
  /// Binds and listens; registers with the loop of the calling task.
  [[nodiscard]] static UnixListener bind(const SocketAddress& address,
                                         const UnixListenerOptions& options = {});

  /// Waits for the next connection. Cancellable.
  [[nodiscard]] Task<UnixStream> accept();

 private:
  explicit UnixListener(AsyncFd fd) noexcept
      : detail::ListenerSocket(std::move(fd), "weft::io::UnixListener") {}
};

}  // namespace weft::io

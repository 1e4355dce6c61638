#pragma once

/// @file
/// weft::io::TcpListener: a listening TCP socket.
///
///   auto listener = weft::io::TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
///   for (;;) {
///     weft::io::TcpStream client = co_await listener.accept();
///     weft::spawn(serve(std::move(client))).detach();
///   }
///
/// With `reuse_port`, every loop can bind its own listener on the same port and the kernel
/// spreads connections over them (SO_REUSEPORT). accept() does not spin when the process is
/// out of fds: it backs off (5 ms doubling to 1 s) and resumes when fds are free again; see
/// stats().resource_backoffs. Accepting is cancellable (also during a back-off).

#include <cstdint>
#include <optional>
#include <utility>

#include "weft/io/detail/socket.hpp"
#include "weft/io/socket_address.hpp"
#include "weft/io/tcp_stream.hpp"
#include "weft/io_export.hpp"
#include "weft/task.hpp"

namespace weft::io {

/// How TcpListener::bind sets its socket up.
struct TcpListenerOptions {
  /// The kernel caps it at net.core.somaxconn (4096 on current kernels).
  int backlog = 1024;
  /// SO_REUSEADDR: rebinding a port with connections in TIME_WAIT works (a restarted server).
  bool reuse_address = true;
  /// SO_REUSEPORT: several listeners (one per loop) on one port.
  bool reuse_port = false;
  /// The loop whose reactor watches the listener (see weft::loop_count()); default: the loop
  /// of the calling task.
  std::optional<unsigned> home_loop{};
  /// Which loop watches each accepted connection: by default the least loaded one, so the
  /// connections of a server stay evenly spread; listener_loop keeps them on home_loop.
  ConnectionPlacement placement = ConnectionPlacement::least_loaded;
};

/// A listening TCP socket.
class WEFT_IO_API TcpListener : public detail::ListenerSocket {
 public:
  /// Binds and listens; registers with the loop of the calling task (call it from a task).
  /// Port 0 picks a free port: see local_address(). Throws std::system_error (EADDRINUSE, ...)
  /// with the address in what().
  [[nodiscard]] static TcpListener bind(const SocketAddress& address,
                                        const TcpListenerOptions& options = {});

  /// Waits for the next connection. Cancellable.
  [[nodiscard]] Task<TcpStream> accept();

 private:
  TcpListener(AsyncFd fd, ConnectionPlacement placement) noexcept
      : detail::ListenerSocket(std::move(fd), "weft::io::TcpListener", placement) {}
};

}  // namespace weft::io

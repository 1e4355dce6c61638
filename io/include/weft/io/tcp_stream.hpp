#pragma once

/// @file
/// weft::io::TcpStream: a connected TCP socket.
///
///   auto stream = co_await weft::io::TcpStream::connect(SocketAddress::parse("127.0.0.1:8080"));
///   co_await stream.write_all(request);
///   std::size_t n = co_await stream.read_some(buffer);  // 0 at end of stream
///
/// Non-blocking and close-on-exec; TCP_NODELAY is on (request/response traffic should not
/// wait for Nagle). Every await is cancellable, so a connect or read under weft::wait_for
/// ends with TimeoutError and the socket closed. Writes never raise SIGPIPE: a peer that went
/// away is a std::system_error (EPIPE or ECONNRESET). A stream may be used from any loop
/// (its fd stays registered with the loop that created it); one reader and one writer at a
/// time.

#include <chrono>
#include <cstddef>
#include <span>

#include "weft/io/detail/socket.hpp"
#include "weft/io/socket_address.hpp"
#include "weft/io_export.hpp"
#include "weft/task.hpp"

namespace weft::io {

/// A connected TCP socket; reading and writing come from its base (see this file's
/// description).
class WEFT_IO_API TcpStream : public detail::StreamSocket {
 public:
  /// Adopts a connected TCP socket (from an accept) and turns TCP_NODELAY on.
  explicit TcpStream(AsyncFd fd);

  /// Connects to `address`. A refused connection is std::system_error with ECONNREFUSED and
  /// the address in what().
  [[nodiscard]] static Task<TcpStream> connect(SocketAddress address);
  /// The same within `timeout`: weft::TimeoutError (and the socket closed) when it runs out.
  [[nodiscard]] static Task<TcpStream> connect(SocketAddress address,
                                               std::chrono::milliseconds timeout);

  /// Turns TCP_NODELAY on or off. Throws std::system_error on errors.
  void set_nodelay(bool on);
};

}  // namespace weft::io

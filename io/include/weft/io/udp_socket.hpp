#pragma once

/// @file
/// weft::io::UdpSocket: a datagram socket.
///
///   auto socket = weft::io::UdpSocket::bind(SocketAddress::parse("127.0.0.1:0"));
///   co_await socket.send_to(bytes, peer);
///   auto [size, from] = co_await socket.receive_from(buffer);
///
/// Non-blocking, close-on-exec, cancellable waits; one receiver and one sender at a time.
/// A datagram larger than the buffer is truncated (the rest is lost, as with recvfrom);
/// `truncated` says so.

#include <cstddef>
#include <span>
#include <utility>

#include "weft/async_fd.hpp"
#include "weft/io/socket_address.hpp"
#include "weft/io_export.hpp"
#include "weft/task.hpp"

namespace weft::io {

/// What UdpSocket::receive_from received.
struct Datagram {
  /// bytes written to the buffer
  std::size_t size = 0;
  /// the sender
  SocketAddress from;
  /// the datagram was larger than the buffer; its end was dropped
  bool truncated = false;
};

/// A UDP socket.
class WEFT_IO_API UdpSocket {
 public:
  /// Binds to `address` (port 0: a free port); registers with the loop of the calling task.
  [[nodiscard]] static UdpSocket bind(const SocketAddress& address);

  /// Sends one datagram; returns its size. std::system_error on errors (EMSGSIZE, ...).
  [[nodiscard]] Task<std::size_t> send_to(std::span<const std::byte> data, SocketAddress to);
  /// Waits for one datagram.
  [[nodiscard]] Task<Datagram> receive_from(std::span<std::byte> buffer);

  /// Deregisters and closes the socket now (the destructor does the same).
  void close() noexcept { fd_.close(); }
  /// False once closed.
  [[nodiscard]] bool is_open() const noexcept { return fd_.valid(); }
  /// The socket's fd; -1 once closed.
  [[nodiscard]] int native_handle() const noexcept { return fd_.fd(); }
  /// The address the socket is bound to (with the port picked for port 0).
  [[nodiscard]] SocketAddress local_address() const;

 private:
  explicit UdpSocket(AsyncFd fd) noexcept : fd_(std::move(fd)) {}
  AsyncFd fd_;
};

}  // namespace weft::io

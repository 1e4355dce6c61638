#pragma once

// The byte stream of one server connection: the accepted TCP socket, or TLS over it once
// start_tls() has completed the handshake. It offers the connection task exactly what it uses
// (the readiness level, non-blocking reads and writes, waits for the rest, a file's bytes, a
// half-close) so that one conversation serves both kinds of listener.
//
// Why a branch per call rather than a template of the conversation over the stream type: the
// server's code exists once, and the branch costs nothing next to a syscall (the plain path
// still makes no coroutine frame per request).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "weft/io/tcp_stream.hpp"
#include "weft/task.hpp"
#include "weft/tls/context.hpp"
#include "weft/tls/tls_stream.hpp"

namespace weft::http::detail {

class ServerStream {
 public:
  explicit ServerStream(io::TcpStream tcp) noexcept : tcp_(std::move(tcp)) {}

  // The server's TLS handshake, with no time limit of its own: the connection's header
  // deadline (armed by the caller) cuts it by shutting the socket down. Throws tls::TlsError
  // for a client that does not speak TLS, std::system_error for a socket error.
  [[nodiscard]] Task<void> start_tls(const tls::Context& context);
  [[nodiscard]] bool is_tls() const noexcept { return tls_.has_value(); }

  class ReadableAwaiter;
  [[nodiscard]] ReadableAwaiter wait_readable();
  [[nodiscard]] std::optional<std::size_t> try_read(std::span<std::byte> buffer) {
    return tls_ ? tls_->try_read(buffer) : tcp_.try_read(buffer);
  }
  [[nodiscard]] std::size_t try_write(std::span<const std::byte> buffer) {
    return tls_ ? tls_->try_write(buffer) : tcp_.try_write(buffer);
  }
  [[nodiscard]] Task<void> write_all(std::span<const std::byte> buffer) {
    return tls_ ? tls_->write_all(buffer) : tcp_.write_all(buffer);
  }
  // `count` bytes of `file_fd` from `offset`: sendfile(2) on TCP; over TLS the file is read
  // and written through OpenSSL in pieces (no kTLS on the kernels weft targets, see
  // server_stream.cpp).
  [[nodiscard]] Task<void> send_file(int file_fd, std::uint64_t offset, std::uint64_t count);
  // FIN (after one non-blocking try at close_notify over TLS); reading goes on.
  void shutdown_write();
  // Closes the socket; over TLS after one non-blocking try at close_notify.
  void close() noexcept {
    if (tls_) tls_->close();
    tcp_.close();
  }

 private:
  io::TcpStream tcp_;  // closed (moved into tls_) once TLS has started
  std::optional<tls::TlsStream> tls_;
};

class ServerStream::ReadableAwaiter {
 public:
  explicit ReadableAwaiter(io::TcpStream::ReadableAwaiter tcp) noexcept : tcp_(tcp) {}
  explicit ReadableAwaiter(tls::TlsStream::ReadableAwaiter tls) noexcept : tls_(tls) {}
  bool await_ready() noexcept { return tls_ ? tls_->await_ready() : tcp_->await_ready(); }
  bool await_suspend(std::coroutine_handle<> caller) {
    return tls_ ? tls_->await_suspend(caller) : tcp_->await_suspend(caller);
  }
  void await_resume() { tls_ ? tls_->await_resume() : tcp_->await_resume(); }

 private:
  std::optional<io::TcpStream::ReadableAwaiter> tcp_;
  std::optional<tls::TlsStream::ReadableAwaiter> tls_;
};

inline ServerStream::ReadableAwaiter ServerStream::wait_readable() {
  return tls_ ? ReadableAwaiter(tls_->wait_readable()) : ReadableAwaiter(tcp_.wait_readable());
}

}  // namespace weft::http::detail

#pragma once

// One connection of weft::http::Client: a plain TcpStream for http://, a TlsStream for
// https://, behind the two calls the client makes. Private: included by the client only.

#include <cstddef>
#include <span>
#include <utility>
#include <variant>
#include <weft/io/tcp_stream.hpp>
#include <weft/task.hpp>
#include <weft/tls/tls_stream.hpp>

namespace weft::http::detail {

class ClientConnection {
 public:
  explicit ClientConnection(io::TcpStream stream) noexcept : stream_(std::move(stream)) {}
  explicit ClientConnection(tls::TlsStream stream) noexcept : stream_(std::move(stream)) {}

  // The stream's own Tasks: the connection must outlive them (it does: a Lease holds it).
  [[nodiscard]] Task<std::size_t> read_some(std::span<std::byte> buffer) {
    return std::visit([buffer](auto& s) { return s.read_some(buffer); }, stream_);
  }
  [[nodiscard]] Task<void> write_all(std::span<const std::byte> buffer) {
    return std::visit([buffer](auto& s) { return s.write_all(buffer); }, stream_);
  }
  // The socket, for a non-blocking peek at whether the server closed it.
  [[nodiscard]] int native_handle() const noexcept {
    return std::visit([](const auto& s) { return s.native_handle(); }, stream_);
  }
  [[nodiscard]] bool is_tls() const noexcept {
    return std::holds_alternative<tls::TlsStream>(stream_);
  }

 private:
  std::variant<io::TcpStream, tls::TlsStream> stream_;
};

}  // namespace weft::http::detail

#pragma once

/// @file
/// weft::io::SocketAddress: an IPv4, IPv6 or Unix-domain socket address as the kernel wants
/// it (a sockaddr_storage and its length), built from text or from what accept/getsockname
/// returned, and printable. A plain value type: copyable, no allocation.
///
///   auto a = weft::io::SocketAddress::parse("127.0.0.1:8080");
///   auto b = weft::io::SocketAddress::parse("[::1]:443");
///   auto c = weft::io::SocketAddress::unix_path("/run/app.sock");
///
/// Names (example.com) are not addresses: resolving them takes a DNS query, see resolve().

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weft/io_export.hpp"

/// Sockets on the runtime's reactor: TCP, UDP and Unix-domain streams, socket addresses and
/// name resolution.
namespace weft::io {

/// An IPv4, IPv6 or Unix-domain socket address.
class WEFT_IO_API SocketAddress {
 public:
  SocketAddress() noexcept;

  /// "a.b.c.d:port", "[v6]:port". Throws std::invalid_argument with the text on bad input.
  [[nodiscard]] static SocketAddress parse(std::string_view text);
  /// Like parse(), but std::nullopt instead of throwing.
  [[nodiscard]] static std::optional<SocketAddress> try_parse(std::string_view text) noexcept;
  /// An IP literal (no port: "127.0.0.1", "::1") and a port.
  [[nodiscard]] static std::optional<SocketAddress> from_ip(std::string_view ip,
                                                            std::uint16_t port) noexcept;
  /// A Unix-domain stream/datagram path; throws std::invalid_argument if it does not fit.
  [[nodiscard]] static SocketAddress unix_path(std::string_view path);
  /// From the kernel (accept, getsockname, recvfrom). `len` is clamped to the storage size.
  [[nodiscard]] static SocketAddress from_native(const sockaddr* addr, socklen_t len) noexcept;

  /// AF_INET, AF_INET6, AF_UNIX, or AF_UNSPEC for a default-constructed address.
  [[nodiscard]] int family() const noexcept { return storage_.ss_family; }
  /// True for an IPv4 address.
  [[nodiscard]] bool is_ipv4() const noexcept { return family() == AF_INET; }
  /// True for an IPv6 address.
  [[nodiscard]] bool is_ipv6() const noexcept { return family() == AF_INET6; }
  /// True for a Unix-domain address.
  [[nodiscard]] bool is_unix() const noexcept { return family() == AF_UNIX; }
  /// 0 for Unix-domain addresses.
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Sets the port of an IP address; nothing for a Unix-domain one.
  void set_port(std::uint16_t port) noexcept;

  /// The address as the kernel's calls take it.
  [[nodiscard]] const sockaddr* native() const noexcept {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  /// The length of native().
  [[nodiscard]] socklen_t native_size() const noexcept { return size_; }

  /// "127.0.0.1:8080", "[::1]:443", "unix:/run/app.sock".
  [[nodiscard]] std::string to_string() const;

  /// Same length and same bytes.
  friend WEFT_IO_API bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_;
  socklen_t size_;
};

}  // namespace weft::io

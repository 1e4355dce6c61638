#include "weft/io/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace weft::io {

SocketAddress::SocketAddress() noexcept : storage_{}, size_(0) { storage_.ss_family = AF_UNSPEC; }

std::optional<SocketAddress> SocketAddress::from_ip(std::string_view ip,
                                                    std::uint16_t port) noexcept {
  // inet_pton wants a terminated string; an IP literal is at most 45 characters.
  char buf[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (::inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.size_ = sizeof(sockaddr_in);
    return a;
  }
  a = SocketAddress();
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (::inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.size_ = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

std::optional<SocketAddress> SocketAddress::try_parse(std::string_view text) noexcept {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {  // [v6]:port
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // v6 needs brackets
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty())
    return std::nullopt;
  return from_ip(host, static_cast<std::uint16_t>(port));
}

SocketAddress SocketAddress::parse(std::string_view text) {
  if (auto a = try_parse(text)) return *a;
  throw std::invalid_argument("weft::io::SocketAddress: not an address: '" + std::string(text) +
                              "' (expected a.b.c.d:port or [v6]:port)");
}

SocketAddress SocketAddress::unix_path(std::string_view path) {
  SocketAddress a;
  auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
  // The path and its terminating NUL must fit in sun_path.
  if (path.empty() || path.size() >= sizeof un->sun_path)
    throw std::invalid_argument("weft::io::SocketAddress: Unix socket path empty or longer than " +
                                std::to_string(sizeof un->sun_path - 1) + " bytes");
  un->sun_family = AF_UNIX;
  std::memcpy(un->sun_path, path.data(), path.size());
  a.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return a;
}

SocketAddress SocketAddress::from_native(const sockaddr* addr, socklen_t len) noexcept {
  SocketAddress a;
  const socklen_t n = std::min<socklen_t>(len, sizeof a.storage_);
  std::memcpy(&a.storage_, addr, n);
  a.size_ = n;
  return a;
}

std::uint16_t SocketAddress::port() const noexcept {
  if (is_ipv4()) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (is_ipv6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

void SocketAddress::set_port(std::uint16_t port) noexcept {
  if (is_ipv4()) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (is_ipv6()) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

std::string SocketAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_ipv4()) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (is_ipv6()) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  if (is_unix()) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
    const std::size_t max =
        size_ > offsetof(sockaddr_un, sun_path) ? size_ - offsetof(sockaddr_un, sun_path) : 0;
    return "unix:" + std::string(un->sun_path, ::strnlen(un->sun_path, max));
  }
  return "unspecified";
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.size_ == b.size_ && std::memcmp(&a.storage_, &b.storage_, a.size_) == 0;
}

}  // namespace weft::io

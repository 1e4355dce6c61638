#include "weft/io/udp_socket.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

#include "weft/detail/require_task.hpp"
#include "weft/io/detail/socket.hpp"

namespace weft::io {

namespace {
constexpr const char* kWho = "weft::io::UdpSocket";
}

UdpSocket UdpSocket::bind(const SocketAddress& address) {
  weft::detail::require_loop("weft::io::UdpSocket::bind");
  const int raw = detail::open_socket(address.family(), SOCK_DGRAM, kWho);
  if (::bind(raw, address.native(), address.native_size()) != 0) {
    const int err = errno;
    ::close(raw);
    throw std::system_error(err, std::system_category(),
                            std::string(kWho) + ": bind " + address.to_string());
  }
  return UdpSocket(AsyncFd(raw));
}

Task<std::size_t> UdpSocket::send_to(std::span<const std::byte> data, SocketAddress to) {
  for (;;) {
    const Readiness seen = co_await fd_.writable();
    const ssize_t n =
        ::sendto(fd_.fd(), data.data(), data.size(), MSG_NOSIGNAL, to.native(), to.native_size());
    if (n >= 0) co_return static_cast<std::size_t>(n);
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      fd_.clear_writable(seen);
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::system_category(),
                              std::string(kWho) + ": send to " + to.to_string());
    }
  }
}

Task<Datagram> UdpSocket::receive_from(std::span<std::byte> buffer) {
  for (;;) {
    const Readiness seen = co_await fd_.readable();
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    // MSG_TRUNC: the datagram's real size comes back, so truncation can be reported.
    const ssize_t n = ::recvfrom(fd_.fd(), buffer.data(), buffer.size(), MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &len);
    if (n >= 0) {
      const auto full = static_cast<std::size_t>(n);
      co_return Datagram{
          .size = full < buffer.size() ? full : buffer.size(),
          .from = SocketAddress::from_native(reinterpret_cast<const sockaddr*>(&from), len),
          .truncated = full > buffer.size()};
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      fd_.clear_readable(seen);
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::system_category(), std::string(kWho) + ": receive");
    }
  }
}

SocketAddress UdpSocket::local_address() const { return detail::local_address_of(fd_.fd()); }

}  // namespace weft::io

#include "weft/io/tcp_stream.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <stdexcept>
#include <utility>

#include "weft/wait_for.hpp"

namespace weft::io {

namespace {
constexpr const char* kWho = "weft::io::TcpStream";
}

TcpStream::TcpStream(AsyncFd fd) : detail::StreamSocket(std::move(fd), kWho) { set_nodelay(true); }

Task<TcpStream> TcpStream::connect(SocketAddress address) {
  if (!address.is_ipv4() && !address.is_ipv6())
    throw std::invalid_argument("weft::io::TcpStream::connect: not an IP address: " +
                                address.to_string());
  co_return TcpStream(co_await detail::connect_socket(address, SOCK_STREAM, kWho));
}

Task<TcpStream> TcpStream::connect(SocketAddress address, std::chrono::milliseconds timeout) {
  co_return co_await weft::wait_for(connect(address), timeout);
}

void TcpStream::set_nodelay(bool on) {
  detail::set_int_option(fd_.fd(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, kWho);
}

}  // namespace weft::io

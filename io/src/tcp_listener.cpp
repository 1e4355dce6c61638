#include "weft/io/tcp_listener.hpp"

#include <stdexcept>

#include "weft/detail/require_task.hpp"

namespace weft::io {

TcpListener TcpListener::bind(const SocketAddress& address, const TcpListenerOptions& options) {
  weft::detail::require_loop("weft::io::TcpListener::bind");
  if (!address.is_ipv4() && !address.is_ipv6())
    throw std::invalid_argument("weft::io::TcpListener::bind: not an IP address: " +
                                address.to_string());
  return TcpListener(
      detail::listen_socket(address, options.backlog, options.reuse_address, options.reuse_port,
                            options.home_loop, "weft::io::TcpListener"),
      options.placement);
}

Task<TcpStream> TcpListener::accept() { co_return TcpStream(co_await accept_fd()); }

}  // namespace weft::io

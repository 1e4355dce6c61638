#include "weft/io/unix_stream.hpp"

#include <sys/socket.h>

#include <optional>
#include <stdexcept>

#include "weft/detail/require_task.hpp"

namespace weft::io {

Task<UnixStream> UnixStream::connect(SocketAddress address) {
  if (!address.is_unix())
    throw std::invalid_argument("weft::io::UnixStream::connect: not a Unix-domain address: " +
                                address.to_string());
  co_return UnixStream(
      co_await detail::connect_socket(address, SOCK_STREAM, "weft::io::UnixStream"));
}

UnixListener UnixListener::bind(const SocketAddress& address, const UnixListenerOptions& options) {
  weft::detail::require_loop("weft::io::UnixListener::bind");
  if (!address.is_unix())
    throw std::invalid_argument("weft::io::UnixListener::bind: not a Unix-domain address: " +
                                address.to_string());
  return UnixListener(detail::listen_socket(address, options.backlog, /*reuse_address=*/false,
                                            /*reuse_port=*/false, std::nullopt,
                                            "weft::io::UnixListener"));
}

Task<UnixStream> UnixListener::accept() { co_return UnixStream(co_await accept_fd()); }

}  // namespace weft::io

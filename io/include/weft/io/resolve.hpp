#pragma once

/// @file
/// weft::io::resolve: host name -> socket addresses, without blocking a loop.
///
///   std::vector<SocketAddress> addrs = co_await weft::io::resolve("localhost", 8080);
///
/// An IP literal ("127.0.0.1", "::1", "[::1]") is parsed at once. Anything else goes to
/// getaddrinfo(3) on weft::to_thread's pool (it blocks on /etc/hosts and DNS). Cancelling
/// waits for the lookup to end, as to_thread does; getaddrinfo cannot be interrupted, and
/// its own timeouts come from resolv.conf.
///
/// Addresses come in getaddrinfo's order (RFC 6724 preference), without duplicates. A failed
/// lookup is a std::system_error whose code is in resolve_category() (the EAI_* value; its
/// message is gai_strerror's text) and whose what() names the host.

#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include "weft/io/socket_address.hpp"
#include "weft/io_export.hpp"
#include "weft/task.hpp"

namespace weft::io {

/// Resolves `host` (a name or an IP literal) to its IPv4 and IPv6 addresses with `port`, each
/// once, through getaddrinfo on a weft::to_thread worker. Errors are std::system_error in
/// resolve_category() (EAI_NONAME when no IP address is found), or in the system category for
/// EAI_SYSTEM.
[[nodiscard]] WEFT_IO_API Task<std::vector<SocketAddress>> resolve(std::string host,
                                                                   std::uint16_t port);

/// The error category of getaddrinfo's EAI_* codes.
[[nodiscard]] WEFT_IO_API const std::error_category& resolve_category() noexcept;

}  // namespace weft::io

#include "weft/io/resolve.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "weft/to_thread.hpp"

namespace weft::io {

namespace {

class ResolveCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "getaddrinfo"; }
  std::string message(int code) const override { return ::gai_strerror(code); }
};

std::optional<SocketAddress> parse_literal(std::string_view host, std::uint16_t port) {
  // "[::1]" is how a v6 literal appears in URLs; accept it as the bare literal.
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return SocketAddress::from_ip(host, port);
}

// Runs on a to_thread worker: getaddrinfo blocks.
std::vector<SocketAddress> lookup(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  // One entry per address: without a socket type getaddrinfo lists each address three
  // times (stream, datagram, raw). The addresses are the same for UDP.
  hints.ai_socktype = SOCK_STREAM;
  // No AI_ADDRCONFIG: on a machine with only loopback configured it makes "localhost" fail,
  // and "localhost must work offline".
  addrinfo* raw = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw);
  if (rc != 0) {
    const std::string what = "weft::io::resolve(\"" + host + "\")";
    if (rc == EAI_SYSTEM) throw std::system_error(errno, std::system_category(), what);
    throw std::system_error(rc, resolve_category(), what);
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(raw, &::freeaddrinfo);
  std::vector<SocketAddress> out;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    const SocketAddress a = SocketAddress::from_native(ai->ai_addr, ai->ai_addrlen);
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  if (out.empty())
    throw std::system_error(EAI_NONAME, resolve_category(),
                            "weft::io::resolve(\"" + host + "\"): no IP address");
  return out;
}

}  // namespace

const std::error_category& resolve_category() noexcept {
  static const ResolveCategory category;
  return category;
}

Task<std::vector<SocketAddress>> resolve(std::string host, std::uint16_t port) {
  if (auto literal = parse_literal(host, port)) co_return std::vector<SocketAddress>{*literal};
  co_return co_await weft::to_thread(&lookup, std::move(host), port);
}

}  // namespace weft::io

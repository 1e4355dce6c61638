#pragma once

/// @file
/// weft::http::ServerRequest: what a handler receives — the parsed request (zero-copy views into
/// the connection's parser buffer), the route's parameters and the peer's address.
///
/// Every string_view here (and in request()) stays valid until the handler's Task completes;
/// copy what must live longer (a task the handler spawns, say).

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/http/message.hpp"
#include "weft/io/socket_address.hpp"
#include "weft/io_export.hpp"

namespace weft::http {

/// What a handler receives: the parsed request, the route's parameters and the peer; see this
/// file's description.
class WEFT_IO_API ServerRequest {
 public:
  /// The route's "{name}" (and "*") segments: name and value, as sent.
  using Params = std::vector<std::pair<std::string_view, std::string_view>>;

  /// Views `request` and `peer`, which must outlive it; for the server.
  ServerRequest(const Request& request, Params params, const io::SocketAddress& peer) noexcept
      : request_(&request), params_(std::move(params)), peer_(&peer) {}

  /// The parsed request.
  [[nodiscard]] const Request& request() const noexcept { return *request_; }
  /// The method, as sent ("GET").
  [[nodiscard]] std::string_view method() const noexcept { return request_->method; }
  /// As sent: "/a/b?x=1" (or the absolute-form "http://host/a/b?x=1"). path() is "/a/b" in
  /// both, query() "x=1"; neither is decoded.
  [[nodiscard]] std::string_view target() const noexcept { return request_->target; }
  /// The target's path, without the query.
  [[nodiscard]] std::string_view path() const noexcept;
  /// The target's query, after the '?'; empty if there is none.
  [[nodiscard]] std::string_view query() const noexcept;
  /// The header fields, in order.
  [[nodiscard]] const Headers& headers() const noexcept { return request_->headers; }
  /// The value of the first field called `name`.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const noexcept {
    return request_->headers.find(name);
  }
  /// The decoded body.
  [[nodiscard]] std::string_view body() const noexcept { return request_->body; }
  /// A "{name}" segment of the route's pattern, as sent (not percent-decoded); "" if absent.
  /// For a "/prefix/*" route, param("*") is the rest of the path after the prefix.
  [[nodiscard]] std::string_view param(std::string_view name) const noexcept;
  /// The address of the client.
  [[nodiscard]] const io::SocketAddress& peer() const noexcept { return *peer_; }

 private:
  const Request* request_;
  Params params_;
  const io::SocketAddress* peer_;
};

/// Percent-decoding of a path segment or query value ("%2F" -> "/"); std::nullopt on a
/// malformed escape. '+' is left alone (it means space only in form bodies).
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text);

}  // namespace weft::http

#pragma once

/// @file
/// weft::http::Url: an absolute http:// or https:// URL, parsed strictly, and references resolved
/// against one (RFC 3986 5.2): what the HTTP client needs to address a request and follow a
/// Location.
///
///   auto u = weft::http::Url::parse("http://Example.com:8080/a/./b?q=1#top");
///   u.host() == "example.com"; u.port() == 8080; u.target() == "/a/b?q=1";
///   u.authority() == "example.com:8080";             // the Host header
///   u.resolve("../c").to_string() == "http://example.com:8080/c";
///
/// Accepted: the schemes "http" and "https" (any case); a host name of letters, digits, '-', '.',
/// '_' and
/// '~' (lowercased), an IPv4 literal or a bracketed IPv6 literal ("[::1]"); an optional port
/// 1-65535 (default 80 for http, 443 for https; an empty port is the default); a path with its dot
/// segments removed and a query, both of visible ASCII with well-formed %XX escapes. A fragment is
/// checked and dropped: it is never sent. Refused with InvalidUrl, naming the URL and the reason:
/// no scheme, any scheme but http and https, user information
/// ("user:pass@host": send an Authorization header instead), an empty or malformed host or
/// port, and spaces, control characters or non-ASCII bytes anywhere (percent-encode them).
/// Nothing is percent-encoded or decoded: the path and query are sent as written.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <weft/http/client_errors.hpp>

#include "weft/io_export.hpp"

namespace weft::http {

/// An http or https URL, parsed; see this file's description.
class WEFT_IO_API Url {
 public:
  /// Throws InvalidUrl.
  [[nodiscard]] static Url parse(std::string_view text);

  /// `reference` (absolute "http://h/p", network-path "//h/p", absolute-path "/p", relative
  /// "../p", "?q", "" ...) resolved against this URL by RFC 3986 5.2.2, as a Location header
  /// is. Throws InvalidUrl if the reference is malformed or names another scheme.
  [[nodiscard]] Url resolve(std::string_view reference) const;

  /// "http" or "https".
  [[nodiscard]] const std::string& scheme() const noexcept { return scheme_; }
  /// True for https.
  [[nodiscard]] bool is_https() const noexcept { return scheme_ == "https"; }
  /// 443 for https, 80 for http.
  [[nodiscard]] std::uint16_t default_port() const noexcept { return is_https() ? 443 : 80; }
  /// "example.com", "127.0.0.1", "::1" (an IPv6 literal without its brackets); lowercase.
  [[nodiscard]] const std::string& host() const noexcept { return host_; }
  /// The port: as given, else default_port().
  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  /// What goes in the request line: path and query, at least "/".
  [[nodiscard]] const std::string& target() const noexcept { return target_; }
  /// The target's path, without the query.
  [[nodiscard]] std::string_view path() const noexcept;
  /// After the '?', without it; empty if there is none.
  [[nodiscard]] std::string_view query() const noexcept;
  /// host[:port] as the Host header carries it: brackets around an IPv6 literal, the port only
  /// when it is not the scheme's default.
  [[nodiscard]] std::string authority() const;
  /// scheme + "://" + authority() + target().
  [[nodiscard]] std::string to_string() const;

  /// Same scheme, host and port: where a redirect may keep credentials.
  [[nodiscard]] bool same_origin(const Url& other) const noexcept {
    return scheme_ == other.scheme_ && host_ == other.host_ && port_ == other.port_;
  }
  /// Same scheme, host, port and target.
  friend bool operator==(const Url&, const Url&) = default;

 private:
  Url() = default;

  std::string scheme_;
  std::string host_;
  std::uint16_t port_ = 80;
  std::string target_;
};

}  // namespace weft::http

#pragma once

/// @file
/// What weft::http::Client throws (client.hpp): one root, ClientError, and a class per way a
/// request can fail, each naming the URL.
///
///   std::runtime_error
///   ├── weft::http::ClientError          every failure of a request
///   │   ├── InvalidUrl                   the URL is malformed or not http/https
///   │   ├── ConnectError                 the name did not resolve, or no address accepted
///   │   ├── TlsHandshakeError            https: the certificate or the handshake failed
///   │   ├── ConnectionClosed             the server closed or reset mid-exchange
///   │   ├── MalformedResponse            the response broke HTTP/1.1 framing or a limit
///   │   ├── TooManyRedirects             more than ClientOptions::max_redirects
///   │   └── ClientTimeout ─┐             a ClientOptions timeout ran out (phase())
///   ├── weft::TimeoutError ┘             ... and also every wait_for / timeout_at deadline
///   └── weft::CancelledError             the request was cancelled (not a ClientError)
///
/// ClientTimeout is both: `catch (const weft::TimeoutError&)` handles a client timeout and a
/// wait_for timeout alike, and `catch (const ClientError&)` every failure of a request.
///
/// std::runtime_error is a virtual base of ClientError and TimeoutError, so a ClientTimeout holds
/// one and `catch (const std::exception&)` still catches it; the most derived class constructs
/// it with the message.

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <weft/io/socket_address.hpp>
#include <weft/timeout_error.hpp>

#include "weft/io_export.hpp"

namespace weft::http {

/// The root of every error weft::http::Client reports for a request.
class WEFT_IO_API ClientError : public virtual std::runtime_error {
 public:
  /// An error with the message `what`.
  explicit ClientError(const std::string& what) : std::runtime_error(what) {}
  /// Copied, never moved: a moving assignment through a virtual base would assign it once per
  /// path (g++ -Wvirtual-move-assign), and copying a runtime_error shares its message.
  ClientError(const ClientError&) = default;
  /// Copies, as the copy constructor does.
  ClientError& operator=(const ClientError&) = default;

 protected:
  /// For the classes below, which construct the virtual base themselves.
  ClientError() : std::runtime_error(std::string()) {}
};

/// A URL the client cannot use: malformed, or a scheme it does not speak (url.hpp says what
/// is accepted).
class WEFT_IO_API InvalidUrl : public ClientError {
 public:
  /// `url` could not be used, for `reason`.
  InvalidUrl(std::string url, std::string reason);
  /// The text as given (for a resolved reference: the absolute URL it resolved to).
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// What is wrong with it.
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  std::string url_;
  std::string reason_;
};

/// Could not connect: the host name did not resolve (address() empty, code() in
/// weft::io::resolve_category()) or no resolved address accepted (refused, unreachable: the
/// error of the first address that failed other than by timing out).
class WEFT_IO_API ConnectError : public ClientError {
 public:
  /// Connecting for `url` failed with `code`, at `address` if one was tried.
  ConnectError(std::string url, std::error_code code, std::optional<io::SocketAddress> address);
  /// The URL of the request.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// The error: of name resolution, or of the connect.
  [[nodiscard]] std::error_code code() const noexcept { return code_; }
  /// The address whose error code() is; empty if the name did not resolve.
  [[nodiscard]] const std::optional<io::SocketAddress>& address() const noexcept {
    return address_;
  }

 private:
  std::string url_;
  std::error_code code_;
  std::optional<io::SocketAddress> address_;
};

/// Which of ClientOptions' timeouts ran out.
enum class TimeoutPhase {
  connect,    ///< ClientOptions::connect_timeout (every resolved address timed out)
  handshake,  ///< ClientOptions::handshake_timeout (the TLS handshake of an https connection)
  read,       ///< ClientOptions::read_timeout
  total,      ///< ClientOptions::total_timeout
};
/// The phase's name ("connect", "handshake", "read", "total").
[[nodiscard]] WEFT_IO_API const char* to_string(TimeoutPhase phase) noexcept;

/// One of ClientOptions' timeouts ran out: a ClientError and a weft::TimeoutError (see above).
class WEFT_IO_API ClientTimeout : public ClientError, public weft::TimeoutError {
 public:
  /// The `phase` timeout, of `limit`, ran out for `url`.
  ClientTimeout(std::string url, TimeoutPhase phase, std::chrono::milliseconds limit);
  /// The URL of the request.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// Which timeout ran out.
  [[nodiscard]] TimeoutPhase phase() const noexcept { return phase_; }
  /// The timeout's value.
  [[nodiscard]] std::chrono::milliseconds limit() const noexcept { return limit_; }

 private:
  std::string url_;
  TimeoutPhase phase_;
  std::chrono::milliseconds limit_;
};

/// The TLS handshake of an https connection failed. reason(): for a certificate that did not
/// verify, OpenSSL's reason ("certificate has expired", "self-signed certificate", "unable to
/// get local issuer certificate" for an unknown CA, "hostname mismatch", ...) with its
/// X509_V_ERR_* code in verify_result(); for other failures (no shared protocol version, not
/// TLS at all) OpenSSL's error, with verify_result() 0.
class WEFT_IO_API TlsHandshakeError : public ClientError {
 public:
  /// The handshake for `url` failed for `reason`; `verify_result` as verify_result() says.
  TlsHandshakeError(std::string url, std::string reason, long verify_result);
  /// The URL of the request.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// OpenSSL's reason.
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }
  /// The X509_V_ERR_* code of a certificate that did not verify, else 0.
  [[nodiscard]] long verify_result() const noexcept { return verify_result_; }

 private:
  std::string url_;
  std::string reason_;
  long verify_result_;
};

/// The connection ended before the response was complete: closed by the server (code() empty)
/// or failed (ECONNRESET, EPIPE while sending, ...).
class WEFT_IO_API ConnectionClosed : public ClientError {
 public:
  /// The connection for `url` ended with `code` (empty: closed by the server) after
  /// `bytes_received` bytes of the response.
  ConnectionClosed(std::string url, std::error_code code, std::size_t bytes_received);
  /// The URL of the request.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// The error, or empty if the server closed the connection.
  [[nodiscard]] std::error_code code() const noexcept { return code_; }
  /// Bytes of the response that had arrived (0: the server answered nothing).
  [[nodiscard]] std::size_t bytes_received() const noexcept { return bytes_received_; }

 private:
  std::string url_;
  std::error_code code_;
  std::size_t bytes_received_;
};

/// The response broke HTTP/1.1 framing or a limit (the response parser's verdict).
class WEFT_IO_API MalformedResponse : public ClientError {
 public:
  /// The response to `url` broke framing or a limit: `parse_status` and `reason` as the parser
  /// said.
  MalformedResponse(std::string url, int parse_status, std::string reason);
  /// The URL of the request.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// As ParseError::status classifies it: 400 malformed, 413 body over limits.max_body, 431
  /// header section over its limits, 501 unknown transfer coding, 505 HTTP version.
  [[nodiscard]] int parse_status() const noexcept { return parse_status_; }
  /// The parser's reason.
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  std::string url_;
  int parse_status_;
  std::string reason_;
};

/// A redirect past ClientOptions::max_redirects.
class WEFT_IO_API TooManyRedirects : public ClientError {
 public:
  /// The response of `url` was a redirect beyond `limit`.
  TooManyRedirects(std::string url, std::size_t limit);
  /// The URL that answered with the redirect over the limit.
  [[nodiscard]] const std::string& url() const noexcept { return url_; }
  /// ClientOptions::max_redirects.
  [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

 private:
  std::string url_;
  std::size_t limit_;
};

}  // namespace weft::http

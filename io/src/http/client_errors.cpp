// The client's errors (client_errors.hpp): their messages, each naming the URL and what
// went wrong in words a log reader needs no code for.

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <weft/http/client_errors.hpp>

namespace weft::http {

namespace {

std::string milliseconds_text(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

std::string connect_error_text(const std::string& url, std::error_code code,
                               const std::optional<io::SocketAddress>& address) {
  if (!address) return "weft::http: cannot resolve the host of " + url + ": " + code.message();
  return "weft::http: cannot connect to " + url + " (" + address->to_string() +
         "): " + code.message();
}

std::string timeout_text(const std::string& url, TimeoutPhase phase,
                         std::chrono::milliseconds limit) {
  switch (phase) {
    case TimeoutPhase::connect:
      return "weft::http: connecting for " + url + " timed out after " + milliseconds_text(limit) +
             " (connect_timeout)";
    case TimeoutPhase::handshake:
      return "weft::http: the TLS handshake for " + url + " timed out after " +
             milliseconds_text(limit) + " (handshake_timeout)";
    case TimeoutPhase::read:
      return "weft::http: " + url + ": no data from the server for " + milliseconds_text(limit) +
             " (read_timeout)";
    case TimeoutPhase::total:
      break;
  }
  return "weft::http: " + url + ": not complete after " + milliseconds_text(limit) +
         " (total_timeout)";
}

std::string closed_text(const std::string& url, std::error_code code, std::size_t received) {
  if (code) {
    return "weft::http: " + url + ": connection failed after " + std::to_string(received) +
           " bytes of the response: " + code.message();
  }
  if (received == 0) return "weft::http: " + url + ": the server closed the connection unanswered";
  return "weft::http: " + url + ": the server closed the connection mid-response, after " +
         std::to_string(received) + " bytes";
}

}  // namespace

ConnectError::ConnectError(std::string url, std::error_code code,
                           std::optional<io::SocketAddress> address)
    : std::runtime_error(connect_error_text(url, code, address)),
      url_(std::move(url)),
      code_(code),
      address_(address) {}

const char* to_string(TimeoutPhase phase) noexcept {
  switch (phase) {
    case TimeoutPhase::connect:
      return "connect";
    case TimeoutPhase::handshake:
      return "handshake";
    case TimeoutPhase::read:
      return "read";
    case TimeoutPhase::total:
      break;
  }
  return "total";
}

ClientTimeout::ClientTimeout(std::string url, TimeoutPhase phase, std::chrono::milliseconds limit)
    : std::runtime_error(timeout_text(url, phase, limit)),
      url_(std::move(url)),
      phase_(phase),
      limit_(limit) {}

TlsHandshakeError::TlsHandshakeError(std::string url, std::string reason, long verify_result)
    : std::runtime_error("weft::http: " + url + ": TLS handshake failed: " + reason),
      url_(std::move(url)),
      reason_(std::move(reason)),
      verify_result_(verify_result) {}

ConnectionClosed::ConnectionClosed(std::string url, std::error_code code,
                                   std::size_t bytes_received)
    : std::runtime_error(closed_text(url, code, bytes_received)),
      url_(std::move(url)),
      code_(code),
      bytes_received_(bytes_received) {}

MalformedResponse::MalformedResponse(std::string url, int parse_status, std::string reason)
    : std::runtime_error("weft::http: " + url + ": malformed response (" +
                         std::to_string(parse_status) + "): " + reason),
      url_(std::move(url)),
      parse_status_(parse_status),
      reason_(std::move(reason)) {}

TooManyRedirects::TooManyRedirects(std::string url, std::size_t limit)
    : std::runtime_error("weft::http: " + url + ": more than " + std::to_string(limit) +
                         " redirects"),
      url_(std::move(url)),
      limit_(limit) {}

}  // namespace weft::http

#pragma once

/// @file
/// weft::http::Client: an HTTP/1.1 client with a keep-alive connection pool (aiohttp's
/// ClientSession), for http:// and https:// URLs.
///
///   weft::http::Client client({.max_connections_per_host = 4});
///   weft::http::ClientResponse r = co_await client.get("http://127.0.0.1:8080/index.html");
///   if (r.ok()) use(r.body);
///   auto created = co_await client.post(url, R"({"a":1})", {{"Content-Type",
///   "application/json"}}); co_await client.close();
///
/// A request: the URL is parsed (InvalidUrl), a connection to its host:port is leased from the
/// pool, the request is written (Host, User-Agent and Content-Length added unless given; no
/// Accept-Encoding, so bodies arrive as the server stored them), the whole response is read
/// into a ClientResponse that owns its bytes, and the connection goes back to the pool if it
/// can carry another request. Redirects are followed, and every step is under timeouts.
///
/// HTTPS: the server's certificate chain and name are verified against the system's trust
/// store (or ClientOptions::tls, a weft::tls::Context of your own: other CAs, or an insecure
/// one for tests), with SNI and ALPN http/1.1; a failure is TlsHandshakeError naming the
/// reason. TLS 1.2 at least.
///
/// The pool, per scheme, host and port (the URL's origin, so "localhost" and "127.0.0.1" are
/// two, and http and https to one port are two):
/// - At most max_connections_per_host connections are in use or being opened at once; more
///   requests wait on a weft::Semaphore, first come first served, cancellably. A connection is
///   opened only when no idle one is pooled, so the connections open to a host, idle or not,
///   never exceed the limit either.
/// - An idle connection is reused last-in first-out (the warmest, least likely to have been
///   timed out by the server); one idle for idle_timeout is closed (a background task sleeps
///   until the oldest expires, while any is pooled), as is the oldest beyond max_idle_per_host.
///   Before reuse a non-blocking peek checks that the server has not closed it meanwhile.
/// - A connection goes back only after a complete response that allows it: not after
///   "Connection: close" (either side), a body that ran until the close, a 101, stray bytes
///   after the response, any error, a timeout or a cancellation: those close it, so a
///   half-read connection is never reused, and release the pool slot.
/// - A pooled connection the server closed just as it was reused (end of stream, ECONNRESET or
///   EPIPE before any byte of the response) is retried once, on a new connection, for the
///   idempotent methods GET, HEAD, PUT, DELETE, OPTIONS and TRACE (RFC 9110 9.2.2): the
///   server cannot have acted on a request it never answered on a connection it was closing.
///   Other methods get ConnectionClosed.
///
/// Redirects (follow_redirects): 301, 302, 303, 307 and 308 with a Location, resolved against
/// the current URL (RFC 3986), up to max_redirects (then TooManyRedirects). 303 turns the
/// request into a GET without body (a HEAD stays HEAD), as do 301 and 302 for a POST (what
/// browsers do); 307 and 308 repeat method and body. A redirect to another origin (scheme, host
/// or port: so also from https down to http) drops the Authorization and Cookie headers (and a
/// Host header given by the caller).
///
/// Timeouts (ClientOptions; 0 disables one) end the request with ClientTimeout naming the
/// phase: connect (each TCP connect; the next resolved address is tried after it), handshake
/// (the TLS handshake of an https connection), read (no byte of the response for that long)
/// and total (everything: waiting for a pool slot,
/// resolving, connecting, every redirect). They are weft::wait_for scopes, so the timed-out
/// work has been cancelled and has finished when the error is thrown.
///
/// Cancellation: a request is cancellable at every await (pool wait, resolve, connect, write,
/// read); its connection is then closed and its pool slot freed.
///
/// Threads: one Client may be used by any number of tasks on any loops at once. The pool is
/// guarded by a std::mutex held only for short sections that never await. Destroying the
/// Client while requests are in flight is allowed (they finish; their connections are then
/// closed, not pooled), but a Client that has pooled connections must be destroyed, or
/// close()d, while its runtime still runs: a connection's fd is registered with a loop.
///
/// Not supported yet: streamed request or response bodies (a
/// response body is read whole, up to limits.max_body), Expect: 100-continue, proxies,
/// cookies, content decoding (gzip), reading an early response while the request is still
/// being written.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>
#include <weft/http/client_errors.hpp>
#include <weft/http/limits.hpp>
#include <weft/http/message.hpp>
#include <weft/http/url.hpp>
#include <weft/io/socket_address.hpp>
#include <weft/task.hpp>
#include <weft/tls/context.hpp>

#include "weft/io_export.hpp"

namespace weft::http {

/// One header field of a request or a ClientResponse, owning its text.
struct HeaderField {
  /// The field name, as sent or received.
  std::string name;
  /// The field value.
  std::string value;
};

/// Header fields that own their text, in order; names compare case-insensitively
/// (RFC 9110 5.1). Repeated names stay separate fields.
class WEFT_IO_API HeaderList {
 public:
  /// Iterates the fields in order.
  using const_iterator = std::vector<HeaderField>::const_iterator;

  HeaderList() = default;
  /// The fields given, in order.
  HeaderList(std::initializer_list<HeaderField> fields) : fields_(fields) {}

  /// The value of the first field called `name`.
  [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const noexcept;
  /// The values of every field called `name`, in order.
  [[nodiscard]] std::vector<std::string_view> find_all(std::string_view name) const;
  /// How many fields are called `name`.
  [[nodiscard]] std::size_t count(std::string_view name) const noexcept;
  /// True if some field is called `name`.
  [[nodiscard]] bool contains(std::string_view name) const noexcept {
    return find(name).has_value();
  }
  /// True if some field `name` holds `token` in its comma-separated list (case-insensitive).
  [[nodiscard]] bool has_token(std::string_view name, std::string_view token) const noexcept;

  /// Appends a field, keeping any of the same name.
  void add(std::string name, std::string value);
  /// Replaces every field called `name` by one, where the first of them was (else at the end).
  void set(std::string name, std::string value);
  /// Removes every field called `name`; returns how many there were.
  std::size_t remove(std::string_view name) noexcept;

  /// The number of fields.
  [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }
  /// True when there is no field.
  [[nodiscard]] bool empty() const noexcept { return fields_.empty(); }
  /// The `i`th field (< size()).
  [[nodiscard]] const HeaderField& operator[](std::size_t i) const noexcept { return fields_[i]; }
  /// The first field.
  [[nodiscard]] const_iterator begin() const noexcept { return fields_.begin(); }
  /// Past the last field.
  [[nodiscard]] const_iterator end() const noexcept { return fields_.end(); }

 private:
  std::vector<HeaderField> fields_;
};

/// A complete response; owns every byte (nothing points into the connection's buffers).
struct ClientResponse {
  /// the status code (200, 404, ...)
  int status = 0;
  /// the reason phrase, as sent
  std::string reason;
  /// the HTTP version of the status line
  Version version = Version::http_1_1;
  /// the header fields, in order
  HeaderList headers;
  HeaderList trailers;        ///< fields after a chunked body
  std::string body;           ///< decoded from chunked framing; empty for HEAD, 1xx, 204, 304
  std::string url;            ///< the URL that answered (after redirects), without fragment
  std::size_t redirects = 0;  ///< redirects followed to get here

  /// 2xx, like the Fetch API's `ok`.
  [[nodiscard]] bool ok() const noexcept { return status >= 200 && status < 300; }
};

/// How a Client pools connections, times requests out and follows redirects.
struct ClientOptions {
  /// Connections to one host:port in use or being opened at once; more requests wait (FIFO).
  /// Browsers use 6 per host; 8 is a guess, tune.
  std::size_t max_connections_per_host = 8;
  /// Idle keep-alive connections kept per host:port; beyond it the oldest is closed. 0: none
  /// (every connection is closed after its response). Unset: max_connections_per_host, so the
  /// connections of a burst at the connection cap all stay for the next one (a lower cap would
  /// close some and open new ones each burst).
  std::optional<std::size_t> max_idle_per_host{};
  /// An idle connection is closed after this long. aiohttp's keepalive_timeout (15 s), below
  /// the servers' usual (nginx 75 s), so the server rarely closes first. 0: never pooled.
  std::chrono::milliseconds idle_timeout{15'000};
  /// One TCP connect attempt (per resolved address). 0: no limit (the kernel's SYN retries).
  std::chrono::milliseconds connect_timeout{10'000};
  /// The TLS handshake of a new https connection. 0: no limit.
  std::chrono::milliseconds handshake_timeout{10'000};
  /// The longest wait for the next byte of a response (idle time, not the whole response).
  std::chrono::milliseconds read_timeout{30'000};
  /// The whole request, from the pool wait to the last byte of the last redirect. aiohttp's
  /// default total (300 s).
  std::chrono::milliseconds total_timeout{300'000};
  /// Follow 301, 302, 303, 307 and 308 responses that have a Location (up to max_redirects);
  /// false returns them as they are.
  bool follow_redirects = true;
  /// Redirects followed per request (browsers and aiohttp: 10-20); one more is TooManyRedirects.
  std::size_t max_redirects = 10;
  /// Sent unless the request has its own User-Agent; empty: not sent.
  std::string user_agent = "weft/0.1";
  /// The TLS context of https requests. Unset: one that trusts the system's store (OpenSSL's
  /// default paths, which honour SSL_CERT_FILE and SSL_CERT_DIR) and verifies the server.
  /// Give your own for other CAs, a client certificate, or insecure_skip_verification.
  std::optional<tls::Context> tls{};
  /// Limits of the response parser. The body is read into memory, up to max_body: 64 MiB is a
  /// guess at "a whole response in memory is still reasonable"; over it: MalformedResponse 413.
  Limits limits{.max_body = 64 * 1024 * 1024};
};

/// Counters since the Client was made, and the pool now.
struct ClientStats {
  std::uint64_t requests = 0;            ///< sent on a connection (redirects, retries count)
  std::uint64_t connections_opened = 0;  ///< TCP connections established
  std::uint64_t connections_reused = 0;  ///< requests sent on a pooled connection
  std::uint64_t stale_retries = 0;       ///< requests retried after a pooled connection died
  std::uint64_t idle_closed = 0;       ///< pooled connections closed: idle timeout, over max idle,
                                       ///< found closed by the server, close()
  std::size_t idle_connections = 0;    ///< pooled now
  std::size_t active_connections = 0;  ///< leased to a request now
};

namespace detail {
class ClientState;
}

/// An HTTP/1.1 client with a pool of keep-alive connections per host (aiohttp's
/// ClientSession); see this file's description.
class WEFT_IO_API Client {
 public:
  /// A client with `options`. Opens nothing until the first request.
  explicit Client(ClientOptions options = {});
  /// Closes the idle connections (see the precondition above) and stops the idle timer.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Lazy, like every Task: nothing happens until awaited. Errors: InvalidUrl, ConnectError,
  /// ClientTimeout, ConnectionClosed, MalformedResponse, TooManyRedirects (all ClientError);
  /// std::invalid_argument for a request that cannot be sent as given (a method or header name
  /// that is not a token, CR/LF/NUL in a header value, Transfer-Encoding, a Content-Length that
  /// is not the body's size); ClientError after close(); weft::CancelledError when cancelled.
  /// An error status (404, 500) is a response, not an error. Leave `site` defaulted: reports
  /// about the request's task (never awaited, pending at shutdown) then name your call.
  [[nodiscard]] Task<ClientResponse> request(
      std::string method, std::string url, HeaderList headers = {}, std::string body = {},
      CallSite site = CallSite::here("weft::http::Client::request"));
  /// request("GET", url, headers).
  [[nodiscard]] Task<ClientResponse> get(std::string url, HeaderList headers = {},
                                         CallSite site = CallSite::here("weft::http::Client::get"));
  /// request("HEAD", url, headers).
  [[nodiscard]] Task<ClientResponse> head(
      std::string url, HeaderList headers = {},
      CallSite site = CallSite::here("weft::http::Client::head"));
  /// request("POST", url, headers, body).
  [[nodiscard]] Task<ClientResponse> post(
      std::string url, std::string body, HeaderList headers = {},
      CallSite site = CallSite::here("weft::http::Client::post"));

  /// Closes the idle connections and stops the idle timer; requests in flight finish and
  /// close their connections; new requests throw ClientError.
  [[nodiscard]] Task<void> close();

  /// The client's counters now.
  [[nodiscard]] ClientStats stats() const;
  /// The options given to the constructor.
  [[nodiscard]] const ClientOptions& options() const noexcept;

 private:
  /// Shared with the requests in flight and the idle timer, which may outlive the Client.
  std::shared_ptr<detail::ClientState> state_;
};

}  // namespace weft::http

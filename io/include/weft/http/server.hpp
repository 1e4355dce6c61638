#pragma once

/// @file
/// weft::http::Server: an HTTP/1.1 server to embed in a weft program.
///
///   weft::http::Server server;
///   server.route("GET", "/hello", [](weft::http::ServerRequest&) -> weft::Task<ServerResponse> {
///     co_return weft::http::ServerResponse::text(200, "hello\n");
///   });
///   server.static_files("/assets", "/srv/www");
///   auto address = server.listen(weft::io::SocketAddress::parse("127.0.0.1:8080"));
///   co_await server.serve();          // until shutdown() has finished
///   ...elsewhere: co_await server.shutdown(std::chrono::seconds(10));
///
/// Connections: one SO_REUSEPORT listener per loop, each registered with its loop, so every
/// loop accepts. Each accepted connection is registered with the loop whose reactor watches the
/// fewest fds at that moment (ServerOptions::connection_placement), which keeps connections
/// evenly spread where the kernel's hash alone would not, and its task runs where its socket is
/// watched. Each connection is one task: it parses a request (strict, see request_parser.hpp),
/// awaits the handler, writes the response and goes on with the next — so pipelined responses
/// leave in request order, and responses to requests that were already buffered are written
/// together. Keep-alive unless the client or a limit says otherwise.
///
/// Refusals: a request the parser refuses gets its status (400, 413, 414, 431, 501, 505) with
/// "Connection: close", and the connection closes (after a short lingering read, so the client
/// sees the answer rather than a reset). No route: 404; wrong method: 405 with Allow. A handler
/// that throws: 500 (unless it already started a streamed body: then the connection is cut).
///
/// Timeouts (ServerOptions): a header section must arrive within header_timeout of its first
/// byte (slowloris), and the first one of a connection within header_timeout of the accept: a
/// connection that has served nothing is not an idle keep-alive one, so one that never sends a
/// byte is closed at header_timeout. A body must make progress within body_idle_timeout and
/// arrive whole within body_timeout (so dripping a byte at a time does not hold a connection);
/// every write must make progress within send_idle_timeout; an idle keep-alive connection
/// closes after keep_alive_timeout or keep_alive_requests requests. A timeout closes the
/// connection without an answer and counts in stats().timeouts. They are enforced by one sweep
/// per loop every timer_granularity (at most 1 s), not by a timer per read: arming costs one
/// atomic store, so the hot path pays nothing for them.
///
/// Connection limit: at most max_connections are open (all listeners together); one more is
/// accepted and closed at once, without a response, and counts in
/// stats().connections_over_limit.
///
/// HTTPS: listen_tls() binds a second group of listeners whose connections speak TLS with
/// ServerOptions::tls (a weft::tls::Context::server with the certificate chain and key), beside
/// or instead of listen()'s plain ones. Everything above holds over TLS: the handshake runs on
/// the connection's task and counts against the first request's header_timeout (a handshake
/// that never finishes, or drips, is cut there like a slowloris), and a client that does not
/// speak TLS (garbage, plain HTTP) is closed as soon as OpenSSL refuses it, counted in
/// stats().tls_handshake_failures. Static files are read and encrypted in 64 KiB pieces (no
/// sendfile(2) without kernel TLS). A connection closed by the server, by a shutdown
/// included, sends close_notify first.
///
/// Shutdown: shutdown(grace) stops accepting, closes idle keep-alive connections, lets
/// requests in progress finish (their responses say "Connection: close") for up to `grace`,
/// then cuts what is left; serve() and shutdown() return once every connection has ended.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>

#include "weft/event.hpp"
#include "weft/http/limits.hpp"
#include "weft/http/router.hpp"
#include "weft/http/server_request.hpp"
#include "weft/http/server_response.hpp"
#include "weft/io/connection_placement.hpp"
#include "weft/io/socket_address.hpp"
#include "weft/io_export.hpp"
#include "weft/task.hpp"
#include "weft/tls/context.hpp"

namespace weft::http {

/// How a Server listens, times connections out and answers; see this file's description.
struct ServerOptions {
  Limits limits{};  ///< 414/431/413 thresholds
  /// A header section must arrive within this long of its first byte (of the accept, for a
  /// connection's first request).
  std::chrono::milliseconds header_timeout{10'000};
  /// A body must make progress (some bytes arrive) within this long.
  std::chrono::milliseconds body_idle_timeout{60'000};
  /// The whole body, from the end of the header section. 0: body_idle_timeout plus the time
  /// limits.max_body takes at 4 KiB/s (316 s with the defaults), so a body of any size the
  /// limits allow is served to a client that keeps up that rate. Raising max_body raises it.
  std::chrono::milliseconds body_timeout{0};
  /// Every write must make progress within this long.
  std::chrono::milliseconds send_idle_timeout{60'000};
  /// An idle keep-alive connection closes after this long.
  std::chrono::milliseconds keep_alive_timeout{75'000};
  /// A keep-alive connection closes after this many requests.
  std::size_t keep_alive_requests = 1000;
  /// After a refusal: how long the server reads and discards before closing.
  std::chrono::milliseconds lingering_close{2'000};
  /// How often each loop checks its connections' deadlines; timeouts fire up to this late.
  /// 0: a tenth of the shortest timeout, between 10 ms and 1 s.
  std::chrono::milliseconds timer_granularity{0};
  /// Listeners: 0 = one per loop of the runtime.
  unsigned listeners = 0;
  /// The listen() backlog of each listener.
  int backlog = 1024;
  /// Which loop watches an accepted connection: the least loaded one, or (listener_loop) the
  /// loop of the listener the kernel chose.
  io::ConnectionPlacement connection_placement = io::ConnectionPlacement::least_loaded;
  /// Open connections at most, all listeners together; past it a new connection is accepted
  /// and closed at once. 0: derived from the process's open-file limit (RLIMIT_NOFILE's soft
  /// limit when listen() is called) less an eighth of it and at least 64 fds, left to the rest of
  /// the process (files served, client sockets, the runtime's own); no limit if that one is
  /// unlimited. Set it when a process runs several servers or raises its limit later.
  std::size_t max_connections = 0;
  /// The Server field; empty sends none.
  std::string server_name = "weft";
  /// The certificate chain and key of listen_tls()'s listeners:
  ///   options.tls = weft::tls::Context::server({.cert_chain_file = "chain.pem",
  ///                                             .key_file = "key.pem",
  ///                                             .alpn = {"http/1.1"}});
  std::optional<tls::Context> tls{};
  /// Called (on the connection's task) when a handler throws; by default a line on stderr.
  std::function<void(const ServerRequest&, std::exception_ptr)> on_handler_error{};
};

/// Counters of a Server, read by stats().
struct ServerStats {
  /// connections accepted so far
  std::uint64_t connections_accepted = 0;
  /// connections open now
  std::uint64_t connections_open = 0;
  /// requests answered so far
  std::uint64_t requests = 0;
  std::uint64_t refused = 0;         ///< parser refusals (4xx/5xx sent, then closed)
  std::uint64_t handler_errors = 0;  ///< 500s from throwing handlers
  std::uint64_t timeouts = 0;        ///< connections closed by a deadline
  /// Closed at once because max_connections were open (not in connections_accepted).
  std::uint64_t connections_over_limit = 0;
  /// TLS listeners: handshakes that failed (a client that does not speak TLS or shares no
  /// version or cipher, garbage, a peer gone mid-handshake). A handshake cut by the header
  /// timeout counts in timeouts instead.
  std::uint64_t tls_handshake_failures = 0;
};

/// An HTTP/1.1 server (TLS optional) over a Router; see this file's description.
class WEFT_IO_API Server {
 public:
  /// A server with `options`; it accepts nothing before listen() (or listen_tls()).
  explicit Server(ServerOptions options = {});
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  /// Safe at any point. Destroyed while serving and never shut down, it begins a graceful
  /// shutdown in the background (10 s grace); serve() and shutdown() already running finish
  /// on their own, as they hold the server's state, not the Server.
  ~Server();

  /// Routes; see router.hpp. Add them before serve().
  void route(std::string_view method, std::string_view pattern, Handler handler);
  /// Serves the files under `root` at `url_prefix` (GET and HEAD): content types from the
  /// extension, Last-Modified and If-Modified-Since (304), index.html for a directory (a
  /// directory named without its trailing slash, the bare prefix included, gets a 301 to the
  /// name with it, so relative links resolve inside it), 404 for what is missing and for any
  /// path that leaves `root` or could be read two ways (.., symlinks out, NUL, an encoded slash
  /// %2F or %2f, a backslash raw or as %5C). One byte range per GET (RFC 9110 14.2): 206 with
  /// Content-Range for "bytes=0-99", "bytes=100-" and "bytes=-500", 416 with
  /// "Content-Range: bytes */SIZE" when it starts past the end, If-Range with the
  /// Last-Modified date; several ranges, a malformed Range and a Range on HEAD get the whole
  /// file (200, "Accept-Ranges: bytes"). Out of fds or memory while opening an existing file is
  /// a 503 with Retry-After, never a 404.
  void static_files(std::string_view url_prefix, std::filesystem::path root);

  /// Binds the plain HTTP listeners (call from a weft task; port 0 picks one) and returns the
  /// address. std::system_error when the address is taken. Once per server, before serve().
  io::SocketAddress listen(const io::SocketAddress& address);
  /// The same for HTTPS, with ServerOptions::tls (std::logic_error without it). With listen()
  /// too, the two groups need two ports.
  io::SocketAddress listen_tls(const io::SocketAddress& address);
  /// Accepts and serves until shutdown() is called and finished. Call listen() or listen_tls()
  /// first.
  [[nodiscard]] Task<void> serve();
  /// Graceful stop; returns when every connection has ended. Safe to call more than once.
  [[nodiscard]] Task<void> shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

  /// Serves until `stop` fires, then shuts down gracefully (within `grace`) and returns once
  /// every connection has ended: the whole life of a server in one co_await.
  ///
  ///   co_await server.serve_until(weft::signal(SIGINT, SIGTERM));     // a Task of any type
  ///   co_await server.serve_until(stop_event);                        // a weft::Event
  ///   co_await server.serve_until(stop_source.get_token());           // a std::stop_token
  ///
  /// If `stop` fails, or this task is cancelled while waiting, the server still shuts down
  /// gracefully, then the exception (CancelledError) comes out. std::logic_error at once
  /// without listen()/listen_tls() or when already serving.
  template <class T>
  [[nodiscard]] Task<void> serve_until(Task<T> stop,
                                       std::chrono::milliseconds grace = std::chrono::seconds(10)) {
    if constexpr (std::is_void_v<T>) {
      return serve_until_done(std::move(stop), grace);
    } else {
      return serve_until_done(discard_value(std::move(stop)), grace);
    }
  }
  /// As the Task form, stopping once `stop` is set.
  [[nodiscard]] Task<void> serve_until(weft::Event& stop,
                                       std::chrono::milliseconds grace = std::chrono::seconds(10));
  /// As the Task form, stopping once a stop is requested on `stop`.
  [[nodiscard]] Task<void> serve_until(std::stop_token stop,
                                       std::chrono::milliseconds grace = std::chrono::seconds(10));

  /// The server's counters now.
  [[nodiscard]] ServerStats stats() const noexcept;

  struct State;

 private:
  template <class T>
  static Task<void> discard_value(Task<T> task) {
    (void)co_await std::move(task);
  }
  Task<void> serve_until_done(Task<void> stop, std::chrono::milliseconds grace);

  std::shared_ptr<State> state_;
};

}  // namespace weft::http

// weft::http::Server: listeners, the connection task, timeouts and graceful shutdown.
//
// Tasks: one acceptor per listener (one listener per loop, each registered with its loop; an
// accepted socket is watched by the reactor of the least loaded loop, see
// ServerOptions::connection_placement, and its task runs there; a connection past
// max_connections is closed as soon as accepted); one task per connection; one sweeper per
// listener that enforces the deadlines of the connections it accepted, wherever they run
// (see connection_registry.hpp: the registry is locked, and a timeout is a shutdown(2)).
// serve() starts them and waits for shutdown() to finish.
//
// The connection task, per request: wait for readability with a deadline armed by the
// parser's state (between requests: the header timeout from the accept until a first request
// was served, then the keep-alive timeout; in a head: the header timeout; in a body: the
// sooner of its idle timeout and its whole-body deadline); read into this thread's scratch
// buffer and feed the parser (which keeps the bytes: the scratch buffer is never held across a
// suspension, so an idle connection owns no read buffer); once a request is complete, run the
// handler, append the response to `out`; if the next request is already complete in the
// buffer (pipelining), answer it too before writing, so a burst goes out in one send; then
// write: one non-blocking send, which takes all of it unless the socket's buffer is full, and
// only what it did not take is written with the send deadline armed (a send that does not
// wait needs no deadline). Syscalls per keep-alive request: one recv, one send.
//
// Per request, the server allocates nothing in a steady state and makes no coroutine frame but
// the handler's: the handler is awaited through an awaiter (HandlerCall), the common write needs
// no wait, and the rare paths (a refusal, a short write, a streamed body, a close) are
// coroutines of their own.
//
// Shutdown order: stop the acceptors (no new connections), then mark every connection
// closing and shut down the idle ones (close_idle); connections in a request answer it with
// "Connection: close" and end. After the grace period what is left is cut (sockets shut
// down, tasks cancelled). Then the sweepers stop and serve() returns.

#include "weft/http/server.hpp"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <coroutine>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "connection_registry.hpp"
#include "request_target.hpp"
#include "response_writer.hpp"
#include "static_files.hpp"
#include "weft/errors.hpp"
#include "weft/event.hpp"
#include "weft/http/request_parser.hpp"
#include "weft/io/tcp_listener.hpp"
#include "weft/io/tcp_stream.hpp"
#include "weft/loop_info.hpp"
#include "weft/sleep.hpp"
#include "weft/spawn.hpp"
#include "weft/timeout_error.hpp"
#include "weft/wait_for.hpp"

namespace weft::http {

namespace {

using detail::ConnectionEntry;
using detail::ConnectionRegistry;
using detail::Framing;

std::int64_t ns(std::chrono::milliseconds ms) noexcept {
  return static_cast<std::int64_t>(ms.count()) * 1'000'000;
}

// Bytes already received are parsed from here; never held across a suspension.
std::span<std::byte> scratch_buffer() noexcept {
  thread_local std::array<std::byte, 64 * 1024> buffer;
  return buffer;
}

// A pipelined burst is answered in one write, up to this many bytes of responses.
constexpr std::size_t kMaxBatchedOutput = 64 * 1024;
// A large body is written in pieces of this size, each with its own send deadline: the
// send-idle timeout bounds the time without progress, not the whole transfer.
constexpr std::size_t kSendPiece = 256 * 1024;

struct alignas(64) Shard {
  ConnectionRegistry registry;
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> handler_errors{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> over_limit{0};
};

void count(std::atomic<std::uint64_t>& counter) noexcept {
  counter.fetch_add(1, std::memory_order_relaxed);
}

void default_handler_error(const ServerRequest& request, std::exception_ptr error) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  std::fprintf(stderr, "weft::http::Server: %.*s %.*s: handler failed: %s\n",
               static_cast<int>(request.method().size()), request.method().data(),
               static_cast<int>(request.target().size()), request.target().data(), what.c_str());
}

// ServerOptions::body_timeout = 0 allows a body of limits.max_body at this rate: 32 kbit/s, below
// the slowest mobile links still in use (a guess, not measured), so the default cuts only a
// client that sends slower than any real one.
constexpr std::uint64_t kMinBodyBytesPerSecond = 4 * 1024;

// Why a deadline for the whole body rather than a minimum rate averaged over a window: it is
// armed with the same atomic store as the idle timeout (the sooner of the two), needs no
// bookkeeping per read, and bounds plainly how long one request can hold a connection
// (header_timeout + body_timeout); derived from max_body, it still serves every body the
// limits allow to a client sending at kMinBodyBytesPerSecond. On expiry the connection closes
// without a 408, as on every timeout: the sweep ends the wait with shutdown(2), which ends
// writing too, and a client still sending its body reads nothing until it is sent (closing
// with its bytes unread resets the connection, which would drop a 408 anyway).
std::int64_t resolve_body_timeout_ns(const ServerOptions& options) noexcept {
  // Beyond this (31 years) a deadline is as good as none, and now + it cannot overflow.
  constexpr std::int64_t kLongest = std::int64_t{1'000'000'000} * 1'000'000'000;
  const std::int64_t ms = options.body_timeout.count();
  if (ms > 0) return std::min<std::int64_t>(ms, kLongest / 1'000'000) * 1'000'000;
  const std::uint64_t seconds = options.limits.max_body / kMinBodyBytesPerSecond;
  return std::min(ns(options.body_idle_timeout) +
                      static_cast<std::int64_t>(std::min<std::uint64_t>(seconds, 1'000'000'000) *
                                                1'000'000'000),
                  kLongest);
}

// ServerOptions::max_connections, 0 resolved from RLIMIT_NOFILE: the soft limit less a reserve
// for the process's other fds. So a flood of connections is refused before accept(2) fails
// with EMFILE, which would leave the process no fd for anything else (a file to serve, a
// connection of its own) and new connections unanswered in the backlog while the acceptors
// back off. (HAProxy derives its default maxconn from the same limit.)
std::uint64_t connection_cap(std::size_t max_connections) noexcept {
  if (max_connections != 0) return max_connections;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return std::numeric_limits<std::uint64_t>::max();
  const std::uint64_t fds = limit.rlim_cur;
  // An eighth, at least 64: a guess at what a server process opens besides its connections.
  const std::uint64_t reserve = std::max<std::uint64_t>(fds / 8, 64);
  return fds > 2 * reserve ? fds - reserve : std::max<std::uint64_t>(fds / 2, 1);
}

}  // namespace

struct Server::State {
  explicit State(ServerOptions o)
      : options(std::move(o)), body_timeout_ns(resolve_body_timeout_ns(options)) {}

  ServerOptions options;
  const std::int64_t body_timeout_ns;  // options.body_timeout, resolved
  // options.max_connections, resolved by listen(): synchronously, in the caller's task, so the
  // open-file limit read is the one in force when the server is set up, not whatever a later
  // setrlimit left by the time the acceptors first run.
  std::uint64_t max_connections = 0;
  Router router;
  std::vector<io::TcpListener> listeners;
  std::vector<std::unique_ptr<Shard>> shards;  // one per listener
  // serve() and shutdown() may run on different loops at the same moment: the task handles
  // and `serving` are only touched under this mutex (never held across an await). shutdown()
  // sets `stopping` before it takes the handles, so a serve() that locks after it starts
  // nothing.
  std::mutex lifecycle;
  std::vector<JoinHandle<void>> acceptors;  // guarded by lifecycle
  std::vector<JoinHandle<void>> sweepers;   // guarded by lifecycle
  bool serving = false;                     // guarded by lifecycle
  // Set (seq_cst) when shutdown() begins: connections check it after arming an idle wait.
  std::atomic<bool> stopping{false};
  // Set once the acceptors have stopped: from then on the last connection to end sets
  // all_closed.
  std::atomic<bool> draining{false};
  std::atomic<std::uint64_t> live{0};
  Event all_closed;
  Event finished;

  void connection_ended() noexcept {
    // seq_cst with draining: either this decrement sees draining, or shutdown() sees live == 0.
    if (live.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        draining.load(std::memory_order_seq_cst))
      all_closed.set();
  }

  std::int64_t granularity_ns() const noexcept {
    if (options.timer_granularity.count() > 0) return ns(options.timer_granularity);
    const auto shortest =
        std::min({options.header_timeout, options.body_idle_timeout, options.send_idle_timeout,
                  options.keep_alive_timeout, options.lingering_close});
    return std::clamp<std::int64_t>(std::min(ns(shortest), body_timeout_ns) / 10, 10'000'000,
                                    1'000'000'000);
  }
};

namespace {

using State = Server::State;

// Sends what the socket takes at once, without waiting; returns the rest (usually nothing:
// a response that fits the send buffer needs no deadline and no coroutine frame). A caller
// finishes a non-empty rest with send_all.
std::string_view send_now(io::TcpStream& stream, std::string_view out) {
  return out.substr(stream.try_write(std::as_bytes(std::span(out.data(), out.size()))));
}

// Writes `out` with the send deadline armed. False if the deadline passed.
Task<bool> send_all(io::TcpStream& stream, ConnectionEntry& entry, const ServerOptions& options,
                    std::string_view out) {
  while (!out.empty()) {
    const std::string_view piece = out.substr(0, kSendPiece);
    entry.arm(ns(options.send_idle_timeout));
    co_await stream.write_all(std::as_bytes(std::span(piece.data(), piece.size())));
    if (entry.disarm()) co_return false;
    out.remove_prefix(piece.size());
  }
  co_return true;
}

Task<bool> send_file_body(io::TcpStream& stream, ConnectionEntry& entry,
                          const ServerOptions& options, const ServerResponse::FileBody& file) {
  std::uint64_t offset = file.offset;
  std::uint64_t left = file.size;
  while (left > 0) {
    const std::uint64_t piece = std::min<std::uint64_t>(left, kSendPiece);
    entry.arm(ns(options.send_idle_timeout));
    co_await stream.send_file(file.fd, offset, piece);
    if (entry.disarm()) co_return false;
    offset += piece;
    left -= piece;
  }
  co_return true;
}

// After a refusal or a "Connection: close" with unread bytes: stop sending, then read and
// drop what the client still sends for a short while, so that closing does not reset the
// connection (a reset can destroy the response before the client read it).
Task<void> lingering_close(io::TcpStream& stream, ConnectionEntry& entry,
                           const ServerOptions& options) {
  try {
    stream.shutdown_write();
  } catch (const std::system_error&) {
    co_return;  // already gone
  }
  const std::int64_t until = detail::coarse_now_ns() + ns(options.lingering_close);
  std::size_t dropped = 0;
  // A bound on what is read: a client streaming a huge body is not worth reading to its end.
  constexpr std::size_t kMaxDrop = 4 * 1024 * 1024;
  while (dropped < kMaxDrop) {
    entry.arm_until(until);
    co_await stream.wait_readable();
    if (entry.disarm()) co_return;
    const std::optional<std::size_t> n = stream.try_read(scratch_buffer());
    if (!n) continue;
    if (*n == 0) co_return;
    dropped += *n;
  }
}

// Awaiting this runs the route's handler and gives its response: 404 or 405 (with Allow)
// without a handler, 500 when the handler throws (reported to on_handler_error), and
// CancelledError passes through. An awaiter rather than a coroutine: no frame of its own, and
// the response moves once, from the handler's promise into the caller's variable.
class HandlerCall {
 public:
  HandlerCall(State& state, Shard& shard, const Router::Match& match, ServerRequest& request)
      : state_(state), shard_(shard), match_(match), request_(request) {
    if (match.handler == nullptr) return;
    try {
      task_ = (*match.handler)(request);
    } catch (const CancelledError&) {
      throw;
    } catch (...) {
      error_ = std::current_exception();
      return;
    }
    awaiter_ = task_.operator co_await();
  }

  // Nothing to run: no route, or the handler threw before it returned its task.
  bool await_ready() const noexcept { return !task_.valid(); }
  bool await_suspend(std::coroutine_handle<> caller) noexcept {
    return awaiter_.await_suspend(caller);
  }
  ServerResponse await_resume() {
    if (task_.valid()) {
      try {
        return awaiter_.await_resume();
      } catch (const CancelledError&) {
        throw;
      } catch (...) {
        error_ = std::current_exception();
      }
      task_ = Task<ServerResponse>();  // the handler's frame goes before the error is reported
    }
    if (error_) return failed();
    if (match_.status == 405) {
      ServerResponse r = ServerResponse::text(405, "Method Not Allowed\n");
      r.header("Allow", match_.allow);
      return r;
    }
    return ServerResponse::text(404, "Not Found\n");
  }

 private:
  ServerResponse failed() {
    count(shard_.handler_errors);
    if (state_.options.on_handler_error) {
      state_.options.on_handler_error(request_, error_);
    } else {
      default_handler_error(request_, error_);
    }
    return ServerResponse::text(500, "Internal Server Error\n");
  }

  State& state_;
  Shard& shard_;
  const Router::Match& match_;
  ServerRequest& request_;
  Task<ServerResponse> task_;
  Task<ServerResponse>::Awaiter awaiter_{};
  std::exception_ptr error_;
};

enum class Ending { closed_by_peer, keep_alive_over, refused, timed_out };

// One connection's state between requests, and the steps of its conversation that do not
// wait. It lives in serve_connection's frame and converse() holds only a reference: clang
// recomputes the address of every value kept in a coroutine frame each time the coroutine
// resumes (twice per request here), so the less the frame of converse() holds, the cheaper.
struct Connection {
  Connection(State& s, Shard& sh, ConnectionEntry& e, io::TcpStream& st, const io::SocketAddress& p)
      : state(s),
        options(s.options),
        shard(sh),
        entry(e),
        stream(st),
        peer(p),
        parser(s.options.limits),
        head_start(s.options.server_name) {}

  // Arms the deadline of the next read, by the parser's state; false if the server is
  // stopping and the connection is idle (then it closes).
  //
  // No byte of a request pending: idle for a shutdown (closed at once), but the keep-alive
  // timeout only once a request was served. Before that the header timeout runs from the
  // first arming (the accept): a connection that never sends a byte gives nothing for the fd
  // it holds, and under the keep-alive timeout (75 s by default) a few hundred of them locked
  // a server out of its fds for that long per connect. A body's read waits for the sooner of
  // its idle timeout and the whole body's deadline.
  bool arm_read_deadline() noexcept {
    const bool between_requests = parser.idle();
    // seq_cst, then the seq_cst store of arming and the load of `stopping`: see close_idle.
    if (between_requests) entry.idle.store(true, std::memory_order_seq_cst);
    if (between_requests && served > 0) {
      entry.arm(ns(options.keep_alive_timeout));
    } else if (!parser.head_parsed()) {
      if (header_deadline == 0)
        header_deadline = detail::coarse_now_ns() + ns(options.header_timeout);
      entry.arm_until(header_deadline);
    } else {
      const std::int64_t now = detail::coarse_now_ns();
      if (body_deadline == 0) body_deadline = now + state.body_timeout_ns;
      entry.arm_until(std::min(now + ns(options.body_idle_timeout), body_deadline));
    }
    if (between_requests && state.stopping.load(std::memory_order_seq_cst)) {
      (void)entry.disarm();
      return false;
    }
    return true;
  }

  // The route of the current request, counted as served.
  Router::Match route() {
    const Request& request = parser.request();
    ++served;
    count(shard.requests);
    header_deadline = 0;
    body_deadline = 0;
    sent_continue = false;
    return state.router.match(request.method, detail::target_path(request.target));
  }

  // Appends the response to the current request to `out`. True if its body is a stream or a
  // file, to send after the head; then it is kept in `streamed`.
  bool append_response(ServerResponse& response) {
    const Request& request = parser.request();
    keep_alive = request.keep_alive && served < options.keep_alive_requests &&
                 !entry.closing.load(std::memory_order_relaxed) &&
                 !state.stopping.load(std::memory_order_relaxed);
    const bool head_only = request.method == "HEAD";
    Framing framing = Framing::content_length;
    std::uint64_t length = response.body().size();
    if (detail::status_has_no_body(response.status())) {
      framing = Framing::none;
    } else if (response.is_file()) {
      length = response.file_body().size;
    } else if (response.is_stream()) {
      if (request.version == Version::http_1_1) {
        framing = Framing::chunked;
      } else {
        framing = Framing::until_close;
        keep_alive = false;
      }
    }
    detail::append_head(out, head_start, request.version, response, framing, length, keep_alive);
    if (framing == Framing::content_length && !head_only && !response.is_file())
      out.append(response.body());
    if (framing != Framing::none && !head_only && (response.is_file() || response.is_stream())) {
      chunked = framing == Framing::chunked;
      streamed.emplace(std::move(response));
      return true;
    }
    return false;
  }

  State& state;
  const ServerOptions& options;
  Shard& shard;
  ConnectionEntry& entry;
  io::TcpStream& stream;
  const io::SocketAddress& peer;
  RequestParser parser;
  detail::HeadStart head_start;
  detail::OutputBuffer out;  // responses not sent yet
  std::size_t served = 0;
  std::int64_t header_deadline = 0;  // of the current request; 0 until its first read
  std::int64_t body_deadline = 0;    // of the current request; 0 until its body's first read
  bool sent_continue = false;
  bool keep_alive = true;                  // of the last response appended
  bool chunked = false;                    // the body in `streamed` is sent chunked
  std::optional<ServerResponse> streamed;  // a chunked or file body, sent after the head
};

// A parser refusal: its status, then a lingering close.
Task<Ending> refuse(Connection& c) {
  count(c.shard.refused);
  c.out.clear();
  detail::append_refusal(c.out, c.parser.error().status, c.parser.error().reason,
                         c.options.server_name);
  const bool sent = co_await send_all(c.stream, c.entry, c.options, c.out.view());
  if (sent) co_await lingering_close(c.stream, c.entry, c.options);
  co_return Ending::refused;
}

// The body of the response kept in `c.streamed`, after its head. std::nullopt when it went
// out whole, else how the conversation ends.
Task<std::optional<Ending>> send_streamed_body(Connection& c) {
  ServerResponse& response = *c.streamed;
  if (response.is_file()) {
    const bool sent = co_await send_file_body(c.stream, c.entry, c.options, response.file_body());
    if (!sent) co_return Ending::timed_out;
    co_return std::nullopt;
  }
  for (;;) {
    std::optional<std::string> chunk;
    try {
      chunk = co_await response.source()();
    } catch (const CancelledError&) {
      throw;
    } catch (...) {
      // The head is gone: the only way to tell the client is to cut the connection.
      count(c.shard.handler_errors);
      co_return Ending::keep_alive_over;
    }
    if (!chunk) break;
    if (chunk->empty()) continue;
    if (c.chunked) {
      c.out.clear();
      detail::append_chunk(c.out, *chunk);
    }
    if (const std::string_view rest = send_now(c.stream, c.chunked ? c.out.view() : *chunk);
        !rest.empty() && !co_await send_all(c.stream, c.entry, c.options, rest))
      co_return Ending::timed_out;
  }
  if (c.chunked && !co_await send_all(c.stream, c.entry, c.options, detail::kLastChunk))
    co_return Ending::timed_out;
  c.out.clear();
  co_return std::nullopt;
}

// The end of an exchange that did not fit the common case (its responses went out whole and
// the connection stays): the rest of the responses, with the send deadline armed, a streamed
// body, and the end of a connection not kept alive. std::nullopt when the conversation goes
// on, else how it ends.
Task<std::optional<Ending>> finish_exchange(Connection& c, std::string_view rest) {
  if (!rest.empty() && !co_await send_all(c.stream, c.entry, c.options, rest))
    co_return Ending::timed_out;
  c.out.clear();
  if (c.streamed) {
    if (const std::optional<Ending> ending = co_await send_streamed_body(c)) co_return *ending;
    c.streamed.reset();
  }
  if (!c.keep_alive) {
    // Bytes the client already sent (a pipelined request after "Connection: close") are
    // read and dropped before closing, so the close is not a reset.
    if (c.parser.buffered() > 0) co_await lingering_close(c.stream, c.entry, c.options);
    co_return Ending::keep_alive_over;
  }
  co_return std::nullopt;
}

// The conversation: read a request, answer it (and those already complete behind it), write,
// and again, until the connection ends. The rare paths (a refusal, a short write, a streamed
// body, a close) are coroutines of their own, which keeps this frame small (see Connection).
Task<Ending> converse(Connection& c) {
  for (;;) {
    // --- until a request is complete --------------------------------------------------
    ParseStatus status = c.parser.status();
    while (status == ParseStatus::need_more) {
      if (!c.parser.idle() && c.parser.head_parsed() && c.parser.expects_continue() &&
          !c.sent_continue) {
        c.sent_continue = true;
        const bool sent =
            co_await send_all(c.stream, c.entry, c.options, "HTTP/1.1 100 Continue\r\n\r\n");
        if (!sent) co_return Ending::timed_out;
      }
      if (!c.arm_read_deadline()) co_return Ending::keep_alive_over;
      co_await c.stream.wait_readable();
      const bool expired = c.entry.disarm();
      c.entry.idle.store(false, std::memory_order_relaxed);
      if (expired) co_return Ending::timed_out;
      const std::span<std::byte> scratch = scratch_buffer();
      const std::optional<std::size_t> n = c.stream.try_read(scratch);
      if (!n) continue;
      if (*n == 0) co_return Ending::closed_by_peer;
      status = c.parser.feed(scratch.data(), *n);
    }
    if (status == ParseStatus::error) co_return co_await refuse(c);

    // --- answer it, and any request already complete behind it ----------------------------
    for (;;) {
      Router::Match match = c.route();
      ServerRequest request(c.parser.request(), std::move(match.params), c.peer);
      ServerResponse response = co_await HandlerCall(c.state, c.shard, match, request);
      if (c.append_response(response)) break;
      if (!c.keep_alive || c.out.size() >= kMaxBatchedOutput) break;
      // The views of the request end here; the response no longer needs them.
      if (c.parser.next() != ParseStatus::complete) break;
    }

    if (const std::string_view rest = send_now(c.stream, c.out.view());
        !rest.empty() || c.streamed || !c.keep_alive) {
      if (const std::optional<Ending> ending = co_await finish_exchange(c, rest)) co_return *ending;
    }
    c.out.clear();
    if (c.parser.status() == ParseStatus::complete) (void)c.parser.next();
  }
}

Task<void> serve_connection(std::shared_ptr<State> state, Shard* shard, ConnectionEntry* entry,
                            io::TcpStream stream) {
  io::SocketAddress peer;
  try {
    peer = stream.peer_address();
  } catch (const std::system_error&) {
    // The peer is already gone; the first read says so.
  }
  try {
    Connection connection(*state, *shard, *entry, stream, peer);
    (void)co_await converse(connection);
  } catch (const CancelledError&) {
    // Cut at the end of a shutdown's grace period.
  } catch (const std::system_error&) {
    // Reset by the peer, EPIPE, or a socket shut down by a deadline mid-write.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft::http::Server: connection from %s failed: %s\n",
                 peer.to_string().c_str(), e.what());
  }
  // Disarmed before it leaves the registry, so that a sweep in between neither counts a
  // timeout for a connection that ended on its own nor shuts its socket down.
  (void)entry->disarm();
  shard->registry.remove(entry);
  stream.close();
  state->connection_ended();
}

// Over max_connections a connection is accepted and closed at once rather than left in the
// backlog until one ends: the client learns at once (end of stream) instead of waiting for
// its connect or first read to time out, the backlog keeps room for the connections that come
// once a slot is free, and the acceptor never stops watching its listener. A flood of
// connects costs an accept and a close each, no more than the handshake cost its sender.
Task<void> accept_loop(std::shared_ptr<State> state, std::size_t index) {
  io::TcpListener& listener = state->listeners[index];
  Shard& shard = *state->shards[index];
  const std::uint64_t max_connections = state->max_connections;
  for (;;) {
    std::optional<io::TcpStream> stream;
    try {
      stream.emplace(co_await listener.accept());
    } catch (const std::system_error& e) {
      // Not EMFILE (accept backs off on its own): something unexpected. Say so, pause, go on.
      std::fprintf(stderr, "weft::http::Server: accept failed: %s\n", e.what());
    }
    if (!stream) {
      co_await weft::sleep(std::chrono::milliseconds(100));
      continue;
    }
    // Open before accepted: a reader of stats() that saw the accept sees the connection open.
    // Counted before the limit is checked (the increment the server pays anyway), so that two
    // listeners cannot both take the last place; one over it is uncounted again at once.
    if (state->live.fetch_add(1, std::memory_order_seq_cst) >= max_connections) {
      // seq_cst, before the close: a client that saw its connection closed finds it counted.
      shard.over_limit.fetch_add(1, std::memory_order_seq_cst);
      stream->close();
      state->connection_ended();
      continue;
    }
    shard.accepted.fetch_add(1, std::memory_order_release);
    auto* entry = new ConnectionEntry;
    entry->fd = stream->native_handle();
    entry->timeouts = &shard.timeouts;
    // Under the registry's lock: the connection cannot finish (and remove its entry) before
    // its JoinHandle is stored.
    auto lock = shard.registry.lock();
    // It must run, even if a shutdown cancels it before its first run: its end takes the
    // entry out of the registry and the connection off the live count.
    Task<void> connection = serve_connection(state, &shard, entry, std::move(*stream));
    connection.handle().promise().set_reports_own_end();
    entry->task = weft::spawn(std::move(connection));
    shard.registry.add_locked(entry);
  }
}

Task<void> sweep_loop(std::shared_ptr<State> state, std::size_t index) {
  Shard& shard = *state->shards[index];
  const auto period = std::chrono::nanoseconds(state->granularity_ns());
  for (;;) {
    co_await weft::sleep(std::chrono::duration_cast<std::chrono::milliseconds>(period));
    shard.registry.sweep(detail::coarse_now_ns());
  }
}

Task<void> join_quietly(JoinHandle<void> handle) {
  handle.cancel();
  try {
    co_await handle;
  } catch (...) {
    // CancelledError, as asked.
  }
}

}  // namespace

Server::Server(ServerOptions options) : state_(std::make_shared<State>(std::move(options))) {}

Server::~Server() = default;

void Server::route(std::string_view method, std::string_view pattern, Handler handler) {
  if (std::lock_guard guard(state_->lifecycle); state_->serving)
    throw std::logic_error("weft::http::Server::route: add routes before serve()");
  state_->router.add(method, pattern, std::move(handler));
}

void Server::static_files(std::string_view url_prefix, std::filesystem::path root) {
  std::string prefix(url_prefix);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  Handler handler = detail::static_files_handler(root);
  // The bare prefix ("/docs") names the root directory: the handler redirects it to "/docs/".
  if (!prefix.empty()) route("GET", prefix, handler);
  route("GET", prefix + "/*", std::move(handler));
}

io::SocketAddress Server::listen(const io::SocketAddress& address) {
  State& s = *state_;
  if (!s.listeners.empty()) throw std::logic_error("weft::http::Server::listen: already listening");
  s.max_connections = connection_cap(s.options.max_connections);
  const unsigned loops = weft::loop_count();
  const unsigned n = s.options.listeners != 0 ? s.options.listeners : loops;
  io::SocketAddress bound = address;
  if (n > 1) {
    // SO_REUSEPORT would let this group join another server's group on the same port (same
    // user) and split its traffic silently. A probe bound without it fails with EADDRINUSE
    // if anything holds the address; for port 0 it picks the port the group then shares.
    // Between the probe's close and the group's bind another process could take the port:
    // then the group's first bind fails, or joins a reuse-port group of that process.
    io::TcpListenerOptions probe_options;
    probe_options.backlog = 1;
    io::TcpListener probe = io::TcpListener::bind(address, probe_options);
    bound = probe.local_address();
    probe.close();
  }
  for (unsigned i = 0; i < n; ++i) {
    io::TcpListenerOptions o;
    o.backlog = s.options.backlog;
    o.reuse_port = n > 1;
    o.home_loop = i % loops;
    o.placement = s.options.connection_placement;
    s.listeners.push_back(io::TcpListener::bind(bound, o));
    if (i == 0) bound = s.listeners.front().local_address();
    s.shards.push_back(std::make_unique<Shard>());
  }
  return bound;
}

Task<void> Server::serve() {
  std::shared_ptr<State> s = state_;
  if (s->listeners.empty())
    throw std::logic_error("weft::http::Server::serve: call listen() first");
  {
    std::lock_guard guard(s->lifecycle);
    if (s->serving) throw std::logic_error("weft::http::Server::serve: already serving");
    s->serving = true;
    if (!s->stopping.load(std::memory_order_seq_cst)) {
      for (std::size_t i = 0; i < s->listeners.size(); ++i) {
        s->acceptors.push_back(weft::spawn(accept_loop(s, i)));
        s->sweepers.push_back(weft::spawn(sweep_loop(s, i)));
      }
    }
  }
  co_await s->finished.wait();
}

Task<void> Server::shutdown(std::chrono::milliseconds grace) {
  std::shared_ptr<State> s = state_;
  if (s->stopping.exchange(true, std::memory_order_seq_cst)) {
    co_await s->finished.wait();
    co_return;
  }
  std::vector<JoinHandle<void>> acceptors;
  std::vector<JoinHandle<void>> sweepers;
  {
    std::lock_guard guard(s->lifecycle);
    acceptors = std::move(s->acceptors);
    sweepers = std::move(s->sweepers);
  }
  for (JoinHandle<void>& acceptor : acceptors) co_await join_quietly(std::move(acceptor));
  for (io::TcpListener& listener : s->listeners) listener.close();
  s->draining.store(true, std::memory_order_seq_cst);
  if (s->live.load(std::memory_order_seq_cst) == 0) s->all_closed.set();
  for (auto& shard : s->shards) (void)shard->registry.close_idle();
  bool in_time = true;
  try {
    co_await weft::wait_for(
        [](State& state) -> Task<void> { co_await state.all_closed.wait(); }(*s), grace);
  } catch (const weft::TimeoutError&) {
    in_time = false;
  }
  if (!in_time) {
    for (auto& shard : s->shards) shard->registry.cut_all();
    co_await s->all_closed.wait();
  }
  for (JoinHandle<void>& sweeper : sweepers) co_await join_quietly(std::move(sweeper));
  s->finished.set();
}

ServerStats Server::stats() const noexcept {
  // Acquire on `accepted` and `live`, read in this order: a connection seen accepted is seen
  // open (or closed, with what it counted before closing, e.g. its timeout).
  ServerStats total;
  for (const auto& shard : state_->shards) {
    total.connections_accepted += shard->accepted.load(std::memory_order_acquire);
    total.requests += shard->requests.load(std::memory_order_relaxed);
    total.refused += shard->refused.load(std::memory_order_relaxed);
    total.handler_errors += shard->handler_errors.load(std::memory_order_relaxed);
    total.timeouts += shard->timeouts.load(std::memory_order_relaxed);
    total.connections_over_limit += shard->over_limit.load(std::memory_order_relaxed);
  }
  total.connections_open = state_->live.load(std::memory_order_acquire);
  return total;
}

}  // namespace weft::http

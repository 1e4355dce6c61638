// One connection of weft::http::Server: its TLS handshake when its listener is a TLS one, and
// the conversation.
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

#include "server_connection.hpp"

#include <array>
#include <atomic>
#include <coroutine>
#include <cstdio>
#include <exception>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>

#include "request_target.hpp"
#include "response_writer.hpp"
#include "server_stream.hpp"
#include "weft/errors.hpp"
#include "weft/http/request_parser.hpp"
#include "weft/tls/tls_error.hpp"

namespace weft::http::detail {

namespace {

using State = Server::State;

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

// Sends what the socket takes at once, without waiting; returns the rest (usually nothing:
// a response that fits the send buffer needs no deadline and no coroutine frame). A caller
// finishes a non-empty rest with send_all.
std::string_view send_now(ServerStream& stream, std::string_view out) {
  return out.substr(stream.try_write(std::as_bytes(std::span(out.data(), out.size()))));
}

// Writes `out` with the send deadline armed. False if the deadline passed.
Task<bool> send_all(ServerStream& stream, ConnectionEntry& entry, const ServerOptions& options,
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

Task<bool> send_file_body(ServerStream& stream, ConnectionEntry& entry,
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
Task<void> lingering_close(ServerStream& stream, ConnectionEntry& entry,
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
  Connection(State& s, Shard& sh, ConnectionEntry& e, ServerStream& st, const io::SocketAddress& p)
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
  ServerStream& stream;
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

// The TLS handshake of a listen_tls() connection, under the header deadline that also bounds
// its first request (Connection::header_deadline): a client gets header_timeout from its
// accept for both, so a handshake dripped a byte at a time is a slowloris like any other. It
// is an idle wait for a shutdown too (no request is in progress): close_idle ends it.
// Ending::timed_out or ::keep_alive_over when it did not complete, std::nullopt when it did.
Task<std::optional<Ending>> handshake(Connection& c, const tls::Context& context) {
  c.header_deadline = detail::coarse_now_ns() + ns(c.options.header_timeout);
  // The order of arm_read_deadline: idle, then the deadline, then `stopping` (see close_idle).
  c.entry.idle.store(true, std::memory_order_seq_cst);
  c.entry.arm_until(c.header_deadline);
  if (c.state.stopping.load(std::memory_order_seq_cst)) {
    (void)c.entry.disarm();
    co_return Ending::keep_alive_over;
  }
  // A client that does not speak TLS (TlsError) or resets mid-handshake (system_error). Any
  // other exception, CancelledError included, ends the connection through serve_connection.
  bool failed = false;
  try {
    co_await c.stream.start_tls(context);
  } catch (const tls::TlsError&) {
    failed = true;
  } catch (const std::system_error&) {
    failed = true;
  }
  const bool cut = c.entry.disarm();
  c.entry.idle.store(false, std::memory_order_relaxed);
  // A handshake the sweep cut fails (its socket was shut down): that is the timeout, counted
  // by the sweep, and not a failure of the client's TLS.
  if (cut) co_return Ending::timed_out;
  if (failed) {
    count(c.shard.tls_failures);
    co_return Ending::closed_by_peer;
  }
  co_return std::nullopt;
}

}  // namespace

Task<void> serve_connection(std::shared_ptr<State> state, Shard* shard, ConnectionEntry* entry,
                            io::TcpStream tcp) {
  io::SocketAddress peer;
  try {
    peer = tcp.peer_address();
  } catch (const std::system_error&) {
    // The peer is already gone; the first read says so.
  }
  ServerStream stream(std::move(tcp));
  try {
    Connection connection(*state, *shard, *entry, stream, peer);
    std::optional<Ending> not_started;
    if (shard->tls != nullptr) not_started = co_await handshake(connection, *shard->tls);
    if (!not_started) (void)co_await converse(connection);
  } catch (const CancelledError&) {
    // Cut at the end of a shutdown's grace period.
  } catch (const std::system_error&) {
    // Reset by the peer, EPIPE, or a socket shut down by a deadline mid-write.
  } catch (const tls::TlsError&) {
    // Over TLS, the same: a peer gone without close_notify, or a deadline's shutdown(2)
    // met by OpenSSL; or a record that does not decrypt. Nothing to tell the client.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft::http::Server: connection from %s failed: %s\n",
                 peer.to_string().c_str(), e.what());
  }
  // Disarmed before it leaves the registry, so that a sweep in between neither counts a
  // timeout for a connection that ended on its own nor shuts its socket down.
  (void)entry->disarm();
  shard->registry.remove(entry);
  // Over TLS a healthy connection sends close_notify here (one non-blocking try).
  stream.close();
  state->connection_ended();
}

}  // namespace weft::http::detail

// weft::http::Server: listeners, acceptors, the timeout sweeps and graceful shutdown. The
// connection task is server_connection.cpp.
//
// Tasks: one acceptor per listener (one listener per loop, each registered with its loop; an
// accepted socket is watched by the reactor of the least loaded loop, see
// ServerOptions::connection_placement, and its task runs there; a connection past
// max_connections is closed as soon as accepted); one task per connection; one sweeper per
// listener that enforces the deadlines of the connections it accepted, wherever they run
// (see connection_registry.hpp: the registry is locked, and a timeout is a shutdown(2)).
// serve() starts them and waits for shutdown() to finish.
//
//
// Shutdown order: stop the acceptors (no new connections), then mark every connection
// closing and shut down the idle ones (close_idle); connections in a request answer it with
// "Connection: close" and end. After the grace period what is left is cut (sockets shut
// down, tasks cancelled). Then the sweepers stop and serve() returns.

#include "weft/http/server.hpp"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "connection_registry.hpp"
#include "server_connection.hpp"
#include "server_state.hpp"
#include "static_files.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/errors.hpp"
#include "weft/io/tcp_listener.hpp"
#include "weft/io/tcp_stream.hpp"
#include "weft/loop_info.hpp"
#include "weft/sleep.hpp"
#include "weft/spawn.hpp"
#include "weft/timeout_error.hpp"
#include "weft/wait_for.hpp"

namespace weft::http {

namespace detail {

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

}  // namespace detail

namespace {

using detail::ConnectionEntry;
using detail::count;
using detail::ns;
using detail::Shard;
using State = Server::State;

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
    if (shard.tls != nullptr) entry->idle_shutdown_how = SHUT_RD;
    // Under the registry's lock: the connection cannot finish (and remove its entry) before
    // its JoinHandle is stored.
    auto lock = shard.registry.lock();
    // It must run, even if a shutdown cancels it before its first run: its end takes the
    // entry out of the registry and the connection off the live count.
    Task<void> connection = detail::serve_connection(state, &shard, entry, std::move(*stream));
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

namespace {

// Binds one group of listeners (one per loop unless options.listeners says otherwise) for
// `address`, each with its shard; `tls` is the shards' context (nullptr: plain HTTP).
io::SocketAddress bind_listeners(State& s, const io::SocketAddress& address,
                                 const tls::Context* tls) {
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
  const std::size_t first = s.listeners.size();
  for (unsigned i = 0; i < n; ++i) {
    io::TcpListenerOptions o;
    o.backlog = s.options.backlog;
    o.reuse_port = n > 1;
    o.home_loop = i % loops;
    o.placement = s.options.connection_placement;
    s.listeners.push_back(io::TcpListener::bind(bound, o));
    if (i == 0) bound = s.listeners[first].local_address();
    s.shards.push_back(std::make_unique<Shard>());
    s.shards.back()->tls = tls;
  }
  return bound;
}

}  // namespace

io::SocketAddress Server::listen(const io::SocketAddress& address) {
  weft::detail::require_loop("weft::http::Server::listen");
  State& s = *state_;
  std::lock_guard guard(s.lifecycle);
  if (s.serving) throw std::logic_error("weft::http::Server::listen: already serving");
  if (s.listening_plain) throw std::logic_error("weft::http::Server::listen: already listening");
  s.max_connections = connection_cap(s.options.max_connections);
  const io::SocketAddress bound = bind_listeners(s, address, nullptr);
  s.listening_plain = true;
  return bound;
}

io::SocketAddress Server::listen_tls(const io::SocketAddress& address) {
  weft::detail::require_loop("weft::http::Server::listen_tls");
  State& s = *state_;
  std::lock_guard guard(s.lifecycle);
  if (!s.options.tls)
    throw std::logic_error("weft::http::Server::listen_tls: ServerOptions::tls is not set");
  if (!s.options.tls->is_server())
    throw std::logic_error(
        "weft::http::Server::listen_tls: ServerOptions::tls is a client context");
  if (s.serving) throw std::logic_error("weft::http::Server::listen_tls: already serving");
  if (s.listening_tls) throw std::logic_error("weft::http::Server::listen_tls: already listening");
  s.max_connections = connection_cap(s.options.max_connections);
  const io::SocketAddress bound = bind_listeners(s, address, &*s.options.tls);
  s.listening_tls = true;
  return bound;
}

namespace {

// serve() and shutdown() are coroutines over the shared state, not over `this`: a Server
// destroyed while they run (or before a spawned one first runs) leaves them nothing dangling.

// Under s.lifecycle: what serve() refuses.
void check_can_serve(const State& s, const char* who) {
  if (s.listeners.empty())
    throw std::logic_error(std::string(who) + ": call listen() or listen_tls() first");
  if (s.serving) throw std::logic_error(std::string(who) + ": already serving");
}

Task<void> serve_state(std::shared_ptr<State> s) {
  {
    std::lock_guard guard(s->lifecycle);
    check_can_serve(*s, "weft::http::Server::serve");
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

Task<void> shutdown_state(std::shared_ptr<State> s, std::chrono::milliseconds grace) {
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

Task<void> serve_state_until(std::shared_ptr<State> s, Task<void> stop,
                             std::chrono::milliseconds grace) {
  JoinHandle<void> serving = weft::spawn(serve_state(s));
  // However `stop` ends (done, failed, or this task cancelled while waiting for it), the
  // server shuts down gracefully before serve_until returns or rethrows.
  std::exception_ptr stop_failure;
  try {
    co_await std::move(stop);
  } catch (...) {
    stop_failure = std::current_exception();
  }
  co_await shutdown_state(s, grace);
  co_await serving;
  if (stop_failure) std::rethrow_exception(stop_failure);
}

Task<void> event_wait(weft::Event& event) { co_await event.wait(); }

}  // namespace

Server::~Server() {
  // Destroyed while serving and never shut down: stop in the background, with the default
  // grace, so that its acceptors and connections do not serve on for an object that is gone
  // (they hold the state, not the Server). Outside a runtime no task of it can be running.
  bool serving = false;
  {
    std::lock_guard guard(state_->lifecycle);
    serving = state_->serving;
  }
  // `stopping` only spares a redundant task: shutdown_state's exchange is what makes exactly
  // one shutdown run, so a shutdown racing this load is harmless whatever it reads. seq_cst
  // as every other access to it (server_state.hpp), not because this one needs it.
  if (serving && !state_->stopping.load(std::memory_order_seq_cst) &&
      weft::detail::current_scheduler() != nullptr) {
    weft::spawn(shutdown_state(state_, std::chrono::seconds(10))).detach();
  }
}

Task<void> Server::serve() { return serve_state(state_); }

Task<void> Server::shutdown(std::chrono::milliseconds grace) {
  return shutdown_state(state_, grace);
}

Task<void> Server::serve_until_done(Task<void> stop, std::chrono::milliseconds grace) {
  {
    // Refused now, not after `stop` fired: serve() would only fail inside the spawned task.
    std::lock_guard guard(state_->lifecycle);
    check_can_serve(*state_, "weft::http::Server::serve_until");
  }
  return serve_state_until(state_, std::move(stop), grace);
}

Task<void> Server::serve_until(weft::Event& stop, std::chrono::milliseconds grace) {
  return serve_until_done(event_wait(stop), grace);
}

Task<void> Server::serve_until(std::stop_token stop, std::chrono::milliseconds grace) {
  return serve_until_done(
      [](std::stop_token token) -> Task<void> {
        weft::Event stopped;
        // The callback may run on any thread (request_stop's), or at once if stop was
        // requested already; Event::set is thread-safe. Its destructor waits for a callback
        // running on another thread, so `stopped` outlives it.
        std::stop_callback on_stop(token, [&stopped]() noexcept { stopped.set(); });
        co_await stopped.wait();
      }(std::move(stop)),
      grace);
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
    total.tls_handshake_failures += shard->tls_failures.load(std::memory_order_relaxed);
  }
  total.connections_open = state_->live.load(std::memory_order_acquire);
  return total;
}

}  // namespace weft::http

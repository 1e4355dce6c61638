#pragma once

// What the parts of weft::http::Server share: the server's state (its options, listeners,
// lifecycle and live count) and one Shard per listener (its connection registry and counters).
// server.cpp owns the lifecycle (listeners, acceptors, sweepers, shutdown);
// server_connection.cpp the conversation of one connection.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "connection_registry.hpp"
#include "weft/event.hpp"
#include "weft/http/router.hpp"
#include "weft/http/server.hpp"
#include "weft/io/tcp_listener.hpp"
#include "weft/join_handle.hpp"
#include "weft/tls/context.hpp"

namespace weft::http {

namespace detail {

inline std::int64_t ns(std::chrono::milliseconds ms) noexcept {
  return static_cast<std::int64_t>(ms.count()) * 1'000'000;
}

// The connections of one listener, and what they count.
struct alignas(64) Shard {
  // The TLS context of a listen_tls() listener (ServerOptions::tls, in the State that owns
  // this shard); nullptr for a plain one.
  const tls::Context* tls = nullptr;
  ConnectionRegistry registry;
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> handler_errors{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> over_limit{0};
  std::atomic<std::uint64_t> tls_failures{0};
};

inline void count(std::atomic<std::uint64_t>& counter) noexcept {
  counter.fetch_add(1, std::memory_order_relaxed);
}

// ServerOptions::body_timeout resolved (server.cpp).
std::int64_t resolve_body_timeout_ns(const ServerOptions& options) noexcept;

}  // namespace detail

struct Server::State {
  explicit State(ServerOptions o)
      : options(std::move(o)), body_timeout_ns(detail::resolve_body_timeout_ns(options)) {}

  ServerOptions options;
  const std::int64_t body_timeout_ns;  // options.body_timeout, resolved
  // options.max_connections, resolved by listen(): synchronously, in the caller's task, so the
  // open-file limit read is the one in force when the server is set up, not whatever a later
  // setrlimit left by the time the acceptors first run.
  std::uint64_t max_connections = 0;
  Router router;
  std::vector<io::TcpListener> listeners;
  std::vector<std::unique_ptr<detail::Shard>> shards;  // one per listener
  // serve() and shutdown() may run on different loops at the same moment: the task handles
  // and `serving` are only touched under this mutex (never held across an await). shutdown()
  // sets `stopping` before it takes the handles, so a serve() that locks after it starts
  // nothing.
  std::mutex lifecycle;
  std::vector<JoinHandle<void>> acceptors;  // guarded by lifecycle
  std::vector<JoinHandle<void>> sweepers;   // guarded by lifecycle
  bool serving = false;                     // guarded by lifecycle
  bool listening_plain = false;             // guarded by lifecycle
  bool listening_tls = false;               // guarded by lifecycle
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
    if (options.timer_granularity.count() > 0) return detail::ns(options.timer_granularity);
    const auto shortest =
        std::min({options.header_timeout, options.body_idle_timeout, options.send_idle_timeout,
                  options.keep_alive_timeout, options.lingering_close});
    return std::clamp<std::int64_t>(std::min(detail::ns(shortest), body_timeout_ns) / 10,
                                    10'000'000, 1'000'000'000);
  }
};

}  // namespace weft::http

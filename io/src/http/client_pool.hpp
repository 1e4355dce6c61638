#pragma once

// The connection pool of weft::http::Client (the rules it keeps are in client.hpp). Private:
// included by client.cpp only.
//
// Structure. ClientState holds, under one std::mutex (held only for short sections that never
// await, never around a syscall that can block, and never while a connection is destroyed):
// the options, a HostPool per host:port, the statistics, the closed flag and the idle timer's
// handle. A HostPool has a Semaphore of max_connections_per_host slots, its idle connections
// (a stack: oldest first, reuse takes the back), and `users`, the tasks holding a HostRef to it
// (waiting for a slot, or holding one).
//
// Invariants, under the mutex:
// - A HostPool is erased only when users == 0 and it has no idle connection, so nobody waits
//   on its semaphore and no Lease points to it when it goes.
// - A connection is in exactly one place: a HostPool's idle stack, one Lease, or being closed
//   by the one task that took it out of either. A Lease holds a slot, so connections leased or
//   being opened to a host never exceed its slots; one is opened only when the idle stack is
//   empty, so idle + leased never exceed them either.
// - Idle stacks are sorted by expiry (pushed at the back with now + idle_timeout, a constant,
//   and taken from the back), so expired ones are a prefix.
// - The idle timer (reap_idle) runs while any connection is pooled and the Client is open:
//   `reaper_running_` is set by whoever starts it and cleared by the timer itself, under the
//   mutex, when it finds nothing left to time, so there is never none while one is needed
//   and never two.
//
// A Lease's members are destroyed connection first, then its slot, then its HostRef: the
// connection is closed before a waiter may open another (the server never sees more than the
// limit), and the slot's semaphore is released while its HostPool still exists.

#include <openssl/crypto.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/io/resolve.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/join_handle.hpp>
#include <weft/semaphore.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/tls_error.hpp>
#include <weft/tls/tls_stream.hpp>
#include <weft/to_thread.hpp>
#include <weft/wait_for.hpp>

#include "client_connection.hpp"

namespace weft::http::detail {

struct IdleConnection {
  ClientConnection stream;
  Clock::time_point expires;
};

struct HostPool {
  HostPool(std::size_t slots_, std::string key_) : slots(slots_), key(std::move(key_)) {}
  Semaphore slots;
  const std::string key;
  std::vector<IdleConnection> idle;  // guarded by ClientState::mutex_
  std::size_t users = 0;             // guarded by ClientState::mutex_
};

class ClientState;

// A counted reference to a HostPool; the last one out of an empty pool erases it.
class HostRef {
 public:
  HostRef(ClientState* state, HostPool* pool) noexcept : state_(state), pool_(pool) {}
  HostRef(HostRef&& other) noexcept
      : state_(std::exchange(other.state_, nullptr)), pool_(std::exchange(other.pool_, nullptr)) {}
  HostRef& operator=(HostRef&&) = delete;
  HostRef(const HostRef&) = delete;
  ~HostRef();
  [[nodiscard]] HostPool& pool() const noexcept { return *pool_; }
  [[nodiscard]] ClientState& state() const noexcept { return *state_; }

 private:
  ClientState* state_;
  HostPool* pool_;
};

// One connection leased to one request, with its pool slot. Destroyed without give_back(), it
// closes the connection: whatever went wrong (an error, a timeout, a cancel) leaves nothing
// half-read to the next request.
class Lease {
 public:
  Lease(HostRef host, SemaphoreGuard slot, ClientConnection stream, bool reused) noexcept
      : host_(std::move(host)),
        slot_(std::move(slot)),
        stream_(std::move(stream)),
        reused_(reused) {}
  Lease(Lease&& other) noexcept
      : host_(std::move(other.host_)),
        slot_(std::move(other.slot_)),
        stream_(std::move(other.stream_)),
        reused_(other.reused_) {
    other.stream_.reset();
  }
  Lease& operator=(Lease&&) = delete;
  Lease(const Lease&) = delete;
  ~Lease();

  [[nodiscard]] ClientConnection& stream() noexcept { return *stream_; }
  // The connection came from the pool (it served an earlier request).
  [[nodiscard]] bool reused() const noexcept { return reused_; }
  // Returns the connection to the pool (after a complete response that allows it).
  void give_back();

 private:
  // Destruction order matters: see the top of this file.
  HostRef host_;
  SemaphoreGuard slot_;
  std::optional<ClientConnection> stream_;
  bool reused_;
};

class ClientState : public std::enable_shared_from_this<ClientState> {
 public:
  explicit ClientState(ClientOptions client_options)
      : options(std::move(client_options)),
        max_idle_per_host(options.max_idle_per_host.value_or(options.max_connections_per_host)) {}

  const ClientOptions options;
  const std::size_t max_idle_per_host;  // the option, or its default

  // A connection to `url`'s host:port: a pooled one if `allow_idle` and one is alive, else a
  // new one. Waits for a slot first. Throws ConnectError, ClientTimeout (connect), ClientError
  // (closed), CancelledError.
  Task<Lease> acquire(Url url, bool allow_idle) {
    HostRef host = ref_host(pool_key(url));
    SemaphoreGuard slot = co_await host.pool().slots.scoped();
    if (allow_idle) {
      while (std::optional<ClientConnection> idle = take_idle(host.pool())) {
        if (peer_still_there(*idle)) {
          note_leased(/*reused=*/true);
          co_return Lease(std::move(host), std::move(slot), std::move(*idle), true);
        }
        note_idle_closed(1);  // `idle` closes here, outside the lock
      }
    }
    ClientConnection stream = co_await connect(url);
    note_leased(/*reused=*/false);
    co_return Lease(std::move(host), std::move(slot), std::move(stream), false);
  }

  void note_retry() {
    std::lock_guard lock(mutex_);
    ++stats_.stale_retries;
  }

  [[nodiscard]] ClientStats stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

  // For close() and ~Client: no request may start any more; the idle connections move to
  // `out` (to be closed by the caller, outside the lock), and the idle timer's handle is
  // returned to be cancelled.
  [[nodiscard]] JoinHandle<void> shut(std::vector<ClientConnection>& out) {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto it = hosts_.begin(); it != hosts_.end();) {
      for (IdleConnection& c : it->second->idle) out.push_back(std::move(c.stream));
      it->second->idle.clear();
      if (it->second->users == 0) {
        it = hosts_.erase(it);
      } else {
        ++it;
      }
    }
    stats_.idle_closed += stats_.idle_connections;
    stats_.idle_connections = 0;
    return std::move(reaper_);
  }

 private:
  friend class HostRef;
  friend class Lease;

  // The pool of `url`: keyed by scheme, host and port (an https and an http connection to one
  // host:port are not interchangeable). Written into a per-thread buffer that keeps its
  // capacity, so a request to a host the client knows builds no string; ref_host copies it
  // only for a new host. Valid until the thread's next call: use it before any suspension.
  static const std::string& pool_key(const Url& url) {
    thread_local std::string key;
    key.assign(url.scheme());
    key += "://";
    key += url.host();
    key += ':';
    char digits[8];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, url.port());
    key.append(digits, end);
    return key;
  }

  HostRef ref_host(const std::string& key) {
    std::lock_guard lock(mutex_);
    if (closed_) throw ClientError("weft::http::Client: request after close()");
    auto it = hosts_.find(key);
    if (it == hosts_.end())
      it = hosts_.emplace(key, std::make_unique<HostPool>(options.max_connections_per_host, key))
               .first;
    ++it->second->users;
    return HostRef(this, it->second.get());
  }

  void unref_host(HostPool& pool) noexcept {
    std::lock_guard lock(mutex_);
    if (--pool.users == 0 && pool.idle.empty()) hosts_.erase(hosts_.find(pool.key));
  }

  // The newest idle connection that has not expired; expired ones met on the way are closed.
  std::optional<ClientConnection> take_idle(HostPool& pool) {
    std::vector<ClientConnection> expired;  // closed after the lock is released
    std::lock_guard lock(mutex_);
    const Clock::time_point now = Clock::now();
    while (!pool.idle.empty()) {
      IdleConnection c = std::move(pool.idle.back());
      pool.idle.pop_back();
      --stats_.idle_connections;
      if (c.expires > now) return std::move(c.stream);
      ++stats_.idle_closed;
      expired.push_back(std::move(c.stream));
    }
    return std::nullopt;
  }

  // A pooled connection the server has closed (or written to unasked: a 408 before closing,
  // which cannot answer a request not yet sent) reads as end of stream or data: it must not
  // be reused. This narrows the race with the server's close; the retry in client.cpp covers
  // what is left of it. MSG_PEEK consumes nothing and leaves the AsyncFd's readiness alone.
  static bool peer_still_there(const ClientConnection& stream) noexcept {
    char byte;
    const ssize_t n = ::recv(stream.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }

  // A new connection: TCP, then for https the TLS handshake (under its own timeout).
  Task<ClientConnection> connect(const Url& url) {
    io::TcpStream tcp = co_await connect_tcp(url);
    if (!url.is_https()) co_return ClientConnection(std::move(tcp));
    const std::chrono::milliseconds limit = options.handshake_timeout;
    try {
      const tls::Context context = co_await tls_context();
      co_return ClientConnection(
          co_await tls::TlsStream::connect(std::move(tcp), context, url.host(), limit));
    } catch (const tls::CertificateError& e) {
      throw TlsHandshakeError(url.to_string(), e.reason(), e.verify_result());
    } catch (const tls::TlsError& e) {
      throw TlsHandshakeError(url.to_string(), e.reason(), 0);
    } catch (const weft::TimeoutError&) {
      throw ClientTimeout(url.to_string(), TimeoutPhase::handshake, limit);
    } catch (const std::system_error& e) {
      // The server hung up during the handshake.
      throw ConnectionClosed(url.to_string(), e.code(), 0);
    }
  }

  // The client's TLS context: the options' own, or one that trusts the system store and
  // offers ALPN http/1.1, built at the first https request on the to_thread pool (loading
  // the store reads the CA bundle: tens of milliseconds no loop should block for). Two first
  // requests at once may both build one; the first stored is kept, so sessions are shared.
  Task<tls::Context> tls_context() {
    if (options.tls) co_return *options.tls;
    {
      std::lock_guard lock(mutex_);
      if (default_tls_) co_return *default_tls_;
    }
    auto build = [] {
      tls::Context context = tls::Context::client({.alpn = {"http/1.1"}});
      // Loading the store leaves OpenSSL state in this pool thread (its error queue), which
      // OpenSSL frees only when the thread ends; the pool's threads outlive the runtime, and
      // LeakSanitizer reported that state at exit. Free it now.
      OPENSSL_thread_stop();
      return context;
    };
    tls::Context built = co_await weft::to_thread(build);
    std::lock_guard lock(mutex_);
    if (!default_tls_) default_tls_ = std::move(built);
    co_return *default_tls_;
  }

  Task<io::TcpStream> connect_tcp(const Url& url) {
    std::vector<io::SocketAddress> addresses;
    try {
      // IP literals are parsed at once; names go to getaddrinfo on the to_thread pool.
      addresses = co_await io::resolve(url.host(), url.port());
    } catch (const std::system_error& e) {
      throw ConnectError(url.to_string(), e.code(), std::nullopt);
    }
    std::optional<ConnectError> first_error;
    const std::chrono::milliseconds limit = options.connect_timeout;
    for (const io::SocketAddress& address : addresses) {
      try {
        if (limit.count() > 0)
          co_return co_await weft::wait_for(io::TcpStream::connect(address), limit);
        co_return co_await io::TcpStream::connect(address);
      } catch (const weft::TimeoutError&) {
        // Try the next address; if every one times out, that is the error.
      } catch (const std::system_error& e) {
        if (!first_error) first_error.emplace(url.to_string(), e.code(), address);
      }
    }
    if (first_error) throw *first_error;
    throw ClientTimeout(url.to_string(), TimeoutPhase::connect, limit);
  }

  void note_leased(bool reused) {
    std::lock_guard lock(mutex_);
    ++stats_.requests;
    ++stats_.active_connections;
    ++(reused ? stats_.connections_reused : stats_.connections_opened);
  }

  void note_idle_closed(std::uint64_t n) {
    std::lock_guard lock(mutex_);
    stats_.idle_closed += n;
  }

  void note_lease_closed() noexcept {
    std::lock_guard lock(mutex_);
    --stats_.active_connections;
  }

  // A leased connection comes back: pooled (starting the idle timer if it is not running),
  // or closed if the Client is closed or pooling is off.
  void put_idle(HostPool& pool, ClientConnection stream) {
    std::optional<ClientConnection> evicted;  // closed after the lock is released
    bool start_timer = false;
    {
      std::lock_guard lock(mutex_);
      --stats_.active_connections;
      if (closed_ || max_idle_per_host == 0 || options.idle_timeout.count() <= 0) {
        evicted = std::move(stream);
      } else {
        pool.idle.push_back({std::move(stream), Clock::now() + options.idle_timeout});
        ++stats_.idle_connections;
        if (pool.idle.size() > max_idle_per_host) {
          evicted = std::move(pool.idle.front().stream);
          pool.idle.erase(pool.idle.begin());
          --stats_.idle_connections;
          ++stats_.idle_closed;
        }
        if (!reaper_running_) start_timer = reaper_running_ = true;
      }
    }
    if (start_timer) start_reaper();
  }

  void start_reaper() noexcept {
    JoinHandle<void> handle;
    try {
      handle =
          weft::spawn(reap_idle(shared_from_this()), {.name = "weft::http::Client idle timer"});
    } catch (...) {
      // Without a timer, expired connections are still closed when next met (take_idle).
      std::lock_guard lock(mutex_);
      reaper_running_ = false;
      return;
    }
    std::lock_guard lock(mutex_);
    if (closed_) handle.cancel();  // shut() ran meanwhile and could not see this one
    // The handle replaced belongs to a timer that has ended or is ending: it cleared
    // reaper_running_ before this one could be started.
    reaper_ = std::move(handle);
  }

  // The idle timer: sleeps until the oldest idle connection expires, closes the expired ones,
  // and ends when none is pooled (or the Client closed).
  static Task<void> reap_idle(std::shared_ptr<ClientState> state) {
    while (std::optional<Clock::time_point> next = state->close_expired()) {
      co_await weft::sleep_until(*next);
    }
  }

  // Closes expired idle connections; the earliest expiry left, or nullopt (and the timer
  // stops) if none is left.
  std::optional<Clock::time_point> close_expired() {
    std::vector<ClientConnection> expired;  // closed after the lock is released
    std::lock_guard lock(mutex_);
    std::optional<Clock::time_point> next;
    if (!closed_) {
      const Clock::time_point now = Clock::now();
      for (auto it = hosts_.begin(); it != hosts_.end();) {
        std::vector<IdleConnection>& idle = it->second->idle;
        std::size_t n = 0;
        while (n < idle.size() && idle[n].expires <= now)
          expired.push_back(std::move(idle[n++].stream));
        idle.erase(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(n));
        stats_.idle_connections -= n;
        stats_.idle_closed += n;
        if (!idle.empty() && (!next || idle.front().expires < *next)) next = idle.front().expires;
        if (idle.empty() && it->second->users == 0) {
          it = hosts_.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (!next) reaper_running_ = false;
    return next;
  }

  mutable std::mutex mutex_;
  // Everything below is guarded by mutex_.
  std::optional<tls::Context> default_tls_;  // set once (tls_context)
  std::unordered_map<std::string, std::unique_ptr<HostPool>> hosts_;
  ClientStats stats_;
  bool closed_ = false;
  bool reaper_running_ = false;
  JoinHandle<void> reaper_;
};

inline HostRef::~HostRef() {
  if (pool_ != nullptr) state_->unref_host(*pool_);
}

inline Lease::~Lease() {
  if (stream_) {
    stream_.reset();
    host_.state().note_lease_closed();
  }
  slot_.release();
}

inline void Lease::give_back() {
  ClientConnection stream = std::move(*stream_);
  stream_.reset();
  host_.state().put_idle(host_.pool(), std::move(stream));
}

}  // namespace weft::http::detail

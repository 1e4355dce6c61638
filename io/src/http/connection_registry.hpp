#pragma once

// The connections of one listener (one loop), with the deadlines that implement the server's
// timeouts and the hooks of its graceful shutdown.
//
// A connection arms a deadline before each wait (a read of the next request, of a body, a
// write) and disarms it after. Arming is one atomic store: no timer is created or cancelled
// per wait. A sweeper task per registry wakes every granularity period and, for each armed
// deadline that has passed, claims it (CAS to kExpired), counts the timeout and shuts the
// socket down (shutdown(2), which any thread may call): the wait ends with end of stream or
// EPIPE, and the connection, seeing kExpired when it disarms, knows it timed out. The CAS decides
// the race between a sweep and a connection that just finished its wait: either the connection
// disarmed first (no shutdown) or the sweep claimed first (the connection closes).
//
// An fd is shut down only under the registry's mutex, and a connection leaves the registry
// (under that mutex) before its socket is closed, so the sweep never touches a closed fd —
// or a reused fd number.

#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>

#include "weft/join_handle.hpp"
#include "weft/sleep.hpp"

namespace weft::http::detail {

// weft::Clock in nanoseconds, from CLOCK_MONOTONIC_COARSE when real: a few ns per read,
// ~4 ms resolution — plenty for timeouts of seconds. Under simulated time, the loop's clock.
inline std::int64_t coarse_now_ns() noexcept { return weft::detail::clock_now_coarse_ns(); }

struct ConnectionEntry {
  static constexpr std::int64_t kDisarmed = 0;
  static constexpr std::int64_t kExpired = -1;   // claimed by a sweep: a timeout
  static constexpr std::int64_t kShutDown = -2;  // claimed by the server's shutdown

  // > 0: the monotonic ns after which the current wait times out.
  std::atomic<std::int64_t> deadline{kDisarmed};
  // Waiting for the next request with no byte of it received: shutdown closes it at once.
  std::atomic<bool> idle{false};
  // Shutdown began: the response in progress says "Connection: close" and is the last.
  std::atomic<bool> closing{false};
  int fd = -1;
  // How a shutdown cuts an idle wait (close_idle): SHUT_RDWR, or SHUT_RD over TLS, which
  // wakes the reader and leaves the write side for the close_notify of its close. (A timeout
  // cuts both ways: its wait may be a write.)
  int idle_shutdown_how = SHUT_RDWR;
  // The listener's timeout counter, bumped by the sweep that claims the deadline, before it
  // shuts the socket down: a client that sees its connection cut by a timeout then finds the
  // timeout counted in stats(). (Counted by the connection when it disarmed, the count came
  // after the FIN the client had already read.)
  std::atomic<std::uint64_t>* timeouts = nullptr;
  JoinHandle<void> task;  // to cancel a handler that outlives the shutdown's grace period
  ConnectionEntry* prev = nullptr;
  ConnectionEntry* next = nullptr;

  // Arms for `timeout_ns` from now. seq_cst: the connection's half of the Dekker pair with
  // the server's shutdown (shutdown_state's seq_cst exchange of `stopping`, then
  // ConnectionRegistry::close_idle's seq_cst loads): the caller loads `stopping` after arming
  // an idle wait, so either the connection sees the shutdown or close_idle sees the armed
  // idle wait.
  void arm(std::int64_t timeout_ns) noexcept {
    deadline.store(coarse_now_ns() + timeout_ns, std::memory_order_seq_cst);
  }
  void arm_until(std::int64_t at_ns) noexcept { deadline.store(at_ns, std::memory_order_seq_cst); }
  // True if the wait was cut: it timed out or the server is shutting down; either way the
  // socket is being shut down.
  [[nodiscard]] bool disarm() noexcept {
    const std::int64_t was = deadline.exchange(kDisarmed, std::memory_order_acq_rel);
    return was == kExpired || was == kShutDown;
  }
};

class ConnectionRegistry {
 public:
  ConnectionRegistry() = default;
  ConnectionRegistry(const ConnectionRegistry&) = delete;
  ConnectionRegistry& operator=(const ConnectionRegistry&) = delete;
  ~ConnectionRegistry();

  // The mutex the acceptor holds while it spawns a connection and stores its JoinHandle,
  // so that the connection cannot leave (and free its entry) before it is complete.
  [[nodiscard]] std::unique_lock<std::mutex> lock() { return std::unique_lock(mutex_); }
  void add_locked(ConnectionEntry* entry) noexcept;
  // Unlinks and frees the entry (the connection's last act before closing its socket).
  void remove(ConnectionEntry* entry) noexcept;

  // Shuts down every connection whose deadline passed (the connection counts the timeout).
  void sweep(std::int64_t now_ns) noexcept;
  // Marks every connection closing and shuts down the idle ones; returns how many are left.
  std::size_t close_idle() noexcept;
  // End of the grace period: shuts down and cancels every connection.
  void cut_all() noexcept;
  [[nodiscard]] std::size_t size() const noexcept;

 private:
  mutable std::mutex mutex_;
  ConnectionEntry* head_ = nullptr;  // guarded by mutex_
  std::size_t size_ = 0;             // guarded by mutex_
};

}  // namespace weft::http::detail

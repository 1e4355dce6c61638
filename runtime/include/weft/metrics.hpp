#pragma once

#include <cstdint>
#include <vector>

#include "weft/runtime_export.hpp"

namespace weft {

/// Counters of one loop since the runtime started. Each is written only by its loop's thread
/// and read with relaxed loads, so a snapshot is consistent per counter, not across them.
struct WEFT_RUNTIME_API LoopMetrics {
  std::uint64_t tasks_run = 0;       ///< resumptions of a task by this loop
  std::uint64_t spawned_local = 0;   ///< weft::spawn called by a task running on this loop
  std::uint64_t injected_taken = 0;  ///< tasks this loop took from the injection queue
  std::uint64_t steals = 0;          ///< tasks moved from other loops' queues to this one
  std::uint64_t steal_attempts = 0;  ///< victims probed
  std::uint64_t parks = 0;           ///< times the loop blocked in epoll_wait
  std::uint64_t wakeups = 0;         ///< parks ended by another thread's eventfd write
  /// timers that expired on this loop
  std::uint64_t timers_fired = 0;
  std::uint64_t io_events = 0;  ///< epoll events delivered to fds
  std::uint64_t stalls = 0;     ///< tasks reported by the stall detector
  /// Tasks that were cancelled (CancelledError delivered at a suspension) and still ended
  /// with a value or another exception: they caught the cancel and carried on. Allowed, but
  /// not a clean cancellation (asyncio's uncancel() bookkeeping, as a counter).
  std::uint64_t cancels_swallowed = 0;
  /// Cancel requests from another task or thread that arrived after a task's last wake-up
  /// (while it ran its last step): it completed without reaching a suspension where the
  /// request could land, so its value or exception stood (see JoinHandle).
  std::uint64_t cancels_unseen = 0;

  /// Adds each counter of `o` to this one's (RuntimeMetrics::total).
  LoopMetrics& operator+=(const LoopMetrics& o) noexcept;
};

/// Counters of a Runtime, read by Runtime::metrics().
struct WEFT_RUNTIME_API RuntimeMetrics {
  /// One entry per loop, in loop order.
  std::vector<LoopMetrics> loops;
  std::uint64_t spawned_remote = 0;  ///< Runtime::spawn / block_on from outside the loops
  std::uint64_t live_tasks = 0;      ///< spawned and not yet completed
  /// weft::to_thread jobs: started (began running on a worker) - completed = running now.
  /// A discarded job ran to its end but nobody took its outcome (its awaiting task was
  /// cancelled while it ran); it is also counted as completed.
  std::uint64_t to_thread_started = 0;
  /// See to_thread_started.
  std::uint64_t to_thread_completed = 0;
  /// See to_thread_started.
  std::uint64_t to_thread_discarded = 0;
  std::uint64_t to_thread_waited = 0;  ///< calls that found every slot taken and queued
  /// weft::signal (RuntimeOptions::signals): tasks waiting now, and signals read so far.
  std::uint64_t signal_waiters = 0;
  /// See signal_waiters.
  std::uint64_t signals_received = 0;

  /// The loops' counters summed.
  [[nodiscard]] LoopMetrics total() const noexcept;
};

}  // namespace weft

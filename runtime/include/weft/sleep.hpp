#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>

#include "weft/errors.hpp"
#include "weft/runtime_export.hpp"

namespace weft {

namespace detail {
// The current thread's weft time in ns: the simulated clock of its loop when the thread is
// a loop of a runtime with RuntimeOptions::simulated_time, else CLOCK_MONOTONIC (the
// `_coarse` variant: CLOCK_MONOTONIC_COARSE, a few ms of resolution for a cheaper read).
WEFT_RUNTIME_API std::int64_t clock_now_ns() noexcept;
WEFT_RUNTIME_API std::int64_t clock_now_coarse_ns() noexcept;
}  // namespace detail

/// The clock of every weft deadline (sleep, wait_for, timeout_at, the io layer's timeouts):
/// monotonic, so a change of the wall clock moves none. A `std::chrono` clock, like
/// std::chrono::steady_clock, whose now() is CLOCK_MONOTONIC in nanoseconds; but on a loop of
/// a runtime built with RuntimeOptions::simulated_time it is that runtime's simulated time,
/// which starts at 0 and moves only by jumps (docs/simulated-time.md). Its time points do not
/// mix with steady_clock's: convert through time_since_epoch() where both are needed.
struct Clock {
  /// Nanoseconds, as a signed 64-bit count.
  using rep = std::int64_t;
  /// One tick is one nanosecond.
  using period = std::nano;
  /// A span of this clock.
  using duration = std::chrono::nanoseconds;
  /// A point of this clock.
  using time_point = std::chrono::time_point<Clock>;
  /// Never goes back (the simulated clock only jumps forward).
  static constexpr bool is_steady = true;
  /// The current time for the calling thread: real, or its loop's simulated time.
  static time_point now() noexcept { return time_point(duration(detail::clock_now_ns())); }
};

namespace detail {
// Registers a timer on the current loop and suspends; a deadline already passed yields.
WEFT_RUNTIME_API bool sleep_suspend(Clock::time_point deadline, std::coroutine_handle<> caller);
WEFT_RUNTIME_API void sleep_resume();
}  // namespace detail

/// `co_await weft::sleep_until(t)`: resumes at or after `t`, never before (on the loop that
/// registered the timer, or wherever the task is stolen to afterwards). Cancellable.
class SleepAwaiter {
 public:
  /// Waits until `deadline`.
  explicit SleepAwaiter(Clock::time_point deadline) noexcept : deadline_(deadline) {}
  /// Awaiter protocol, called by `co_await`; await_resume throws CancelledError if the task
  /// was cancelled.
  bool await_ready() const noexcept { return false; }
  /// Awaiter protocol, called by `co_await` when await_ready() returned false.
  bool await_suspend(std::coroutine_handle<> caller) const {
    return detail::sleep_suspend(deadline_, caller);
  }
  /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
  /// wait, or throws its error.
  void await_resume() const { detail::sleep_resume(); }

 private:
  Clock::time_point deadline_;
};

/// `co_await weft::sleep_until(t)`: suspends the task until `t` or later; see SleepAwaiter.
/// Cancellable.
[[nodiscard]] inline SleepAwaiter sleep_until(Clock::time_point deadline) noexcept {
  return SleepAwaiter{deadline};
}

/// `co_await weft::sleep(d)`: suspends the task for at least `d` (asyncio.sleep), rounded up
/// to the clock's tick. Cancellable.
template <class Rep, class Period>
[[nodiscard]] SleepAwaiter sleep(std::chrono::duration<Rep, Period> duration) noexcept {
  return SleepAwaiter{Clock::now() + std::chrono::ceil<Clock::duration>(duration)};
}

}  // namespace weft

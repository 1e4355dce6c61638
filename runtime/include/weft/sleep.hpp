#pragma once

#include <chrono>
#include <coroutine>

#include "weft/errors.hpp"
#include "weft/runtime_export.hpp"

namespace weft {

/// The clock of every weft deadline: monotonic, so a change of the wall clock moves none.
using Clock = std::chrono::steady_clock;

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

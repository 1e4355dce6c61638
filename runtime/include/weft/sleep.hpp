#pragma once

#include <chrono>
#include <coroutine>

#include "weft/errors.hpp"

namespace weft {

using Clock = std::chrono::steady_clock;

namespace detail {
// Registers a timer on the current loop and suspends; a deadline already passed yields.
bool sleep_suspend(Clock::time_point deadline, std::coroutine_handle<> caller);
void sleep_resume();
}  // namespace detail

// `co_await weft::sleep_until(t)`: resumes at or after `t`, never before (on the loop that
// registered the timer, or wherever the task is stolen to afterwards). Cancellable.
class SleepAwaiter {
 public:
  explicit SleepAwaiter(Clock::time_point deadline) noexcept : deadline_(deadline) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> caller) const {
    return detail::sleep_suspend(deadline_, caller);
  }
  void await_resume() const { detail::sleep_resume(); }

 private:
  Clock::time_point deadline_;
};

[[nodiscard]] inline SleepAwaiter sleep_until(Clock::time_point deadline) noexcept {
  return SleepAwaiter{deadline};
}

template <class Rep, class Period>
[[nodiscard]] SleepAwaiter sleep(std::chrono::duration<Rep, Period> duration) noexcept {
  return SleepAwaiter{Clock::now() + std::chrono::ceil<Clock::duration>(duration)};
}

}  // namespace weft

// weft::signal: the checks at the call, and the awaiter that waits in the runtime's
// SignalHub (signal_hub.hpp has the protocol).

#include "weft/signal.hpp"

#include <bit>
#include <coroutine>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "loop.hpp"
#include "scheduler.hpp"
#include "signal_hub.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/errors.hpp"

namespace weft {

namespace detail {

namespace {

class SignalAwaiter {
 public:
  SignalAwaiter(SignalHub& hub, std::uint64_t set) noexcept : hub_(hub) { waiter_.set = set; }

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> caller) {
    TaskHeader* self = current_task();
    if (self == nullptr) throw_no_current_task("co_await weft::signal");
    // A cancel already pending is thrown before anything is consumed (await_resume).
    if (self->cancel_requested()) return false;
    const int pending = hub_.take_or_link(waiter_, *self, caller);
    if (pending != 0) {
      waiter_.signal = pending;
      return false;
    }
    return self->commit_wait();
  }

  int await_resume() {
    // Only a delivery (with a signal) or a cancel (without: the registration was removed)
    // resumes a waiter. A signal handed over is returned even if a cancel raced with it:
    // the cancel stays pending and is delivered at the task's next suspension, and the
    // signal is not lost between the two.
    if (waiter_.signal != 0) return waiter_.signal;
    (void)current_task()->take_cancel();
    throw CancelledError();
  }

 private:
  SignalHub& hub_;
  SignalWaiter waiter_;
};

// A coroutine of its own, so that weft::signal checks its arguments when called, and the
// caller's array of signals (gone with the call's full-expression) is not kept.
Task<int> wait_for_set(SignalHub* hub, std::uint64_t set) {
  co_return co_await SignalAwaiter(*hub, set);
}

}  // namespace

Task<int> wait_for_signals(const int* signals, std::size_t count) {
  const std::uint64_t set = checked_signal_set(signals, count, "weft::signal");
  Loop* loop = current_loop();
  if (loop == nullptr) throw_no_current_task("weft::signal");
  SignalHub* hub = loop->scheduler().signal_hub();
  const std::uint64_t taken = hub != nullptr ? hub->taken() : 0;
  if ((set & ~taken) != 0)
    throw std::invalid_argument(
        "weft::signal: signal " + std::to_string(std::countr_zero(set & ~taken) + 1) +
        " is not in this runtime's RuntimeOptions::signals (a runtime waits only for the "
        "signals it blocked on all its threads from its start)");
  return wait_for_set(hub, set);
}

}  // namespace detail

}  // namespace weft

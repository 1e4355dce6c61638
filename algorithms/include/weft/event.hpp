#pragma once

/// @file
/// weft::Event (asyncio.Event): set() wakes every task waiting at that moment; wait() returns
/// at once while the event is set; clear() makes later waits block again. Safe between tasks
/// on any loops, and set()/clear()/is_set() may be called from any thread.
///
/// set() takes all current waiters out of the list under the mutex and wakes them after
/// releasing it (WakeChain), so a waiter is either in the list when set() runs (and woken) or
/// arrives after it and finds is_set — no lost wake-up. A waiter woken by set() that is then
/// cancelled before it resumes throws CancelledError: the notification was a broadcast, every
/// other waiter got it too, so there is nothing to hand on.

#include <coroutine>
#include <mutex>

#include "weft/detail/task_header.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/detail/wake_chain.hpp"
#include "weft/errors.hpp"

namespace weft {

/// asyncio.Event; see this file's description.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /// Sets the event and wakes every task waiting now. Any thread may call it.
  void set() noexcept {
    detail::WakeChain wakes;
    {
      std::lock_guard lock(mutex_);
      set_ = true;
      while (detail::ListWaiter* w = waiters_.pop_front()) {
        w->granted = true;
        wakes.add(*w);
      }
    }
    wakes.wake_all();
  }

  /// Makes later waits block again. Any thread may call it.
  void clear() noexcept {
    std::lock_guard lock(mutex_);
    set_ = false;
  }

  /// True while the event is set.
  [[nodiscard]] bool is_set() const noexcept {
    std::lock_guard lock(mutex_);
    return set_;
  }

  /// What `co_await event.wait()` waits with.
  class WaitAwaiter {
   public:
    /// Waits for `event` to be set.
    explicit WaitAwaiter(Event& event) noexcept : event_(event) {}
    WaitAwaiter(const WaitAwaiter&) = delete;
    WaitAwaiter& operator=(const WaitAwaiter&) = delete;

    /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
    bool await_ready() const noexcept { return false; }
    /// Awaiter protocol, called by `co_await` when await_ready() returned false.
    bool await_suspend(std::coroutine_handle<> caller) {
      std::unique_lock lock(event_.mutex_);
      if (event_.set_) {
        lock.unlock();
        set_at_once_ = true;
        if (detail::consume_budget()) return false;
        detail::current_task()->yield_from(caller);
        return true;
      }
      return detail::suspend_on(event_.waiters_, waiter_, lock, caller,
                                "co_await weft::Event::wait()");
    }
    /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
    /// wait, or throws its error.
    void await_resume() {
      if (!set_at_once_ && detail::resumed_cancelled()) throw CancelledError();
    }

   private:
    Event& event_;
    detail::ListWaiter waiter_;
    bool set_at_once_ = false;
  };

  /// `co_await ev.wait()`: until the event is set. Throws CancelledError if the task is
  /// cancelled while waiting.
  [[nodiscard]] WaitAwaiter wait() noexcept { return WaitAwaiter(*this); }

 private:
  mutable std::mutex mutex_;
  bool set_ = false;          // guarded by mutex_
  detail::WaitList waiters_;  // guarded by mutex_; non-empty only while !set_
};

}  // namespace weft

#pragma once

// weft::Condition (asyncio.Condition) over a weft::Mutex:
//
//   auto guard = co_await mutex.lock();
//   co_await cond.wait(guard, [&] { return !items.empty(); });
//
// wait(guard) unlocks the mutex, waits for a notify, and locks it again before returning —
// also when it throws (CancelledError), so the caller's guard always owns the lock
// afterwards, as with std::condition_variable. notify_one()/notify_all() wake the oldest
// waiter / every waiter (FIFO). Call them with the mutex held (asyncio requires it): a task
// between checking its predicate and waiting then cannot miss the notification.
//
// No lost wake-up: the waiter is linked in the condition's list, under the condition's own
// std::mutex, before the weft Mutex is unlocked, so any notify that follows the unlock
// finds it. A waiter that notify_one() chose and that is cancelled before it resumes passes
// the notification on to the next waiter (RELIABILITY.md, Cancellation); one woken by
// notify_all() has nothing to pass on. A wake with no predicate change is possible in that
// case, as with every condition variable: wait in a loop, or use the predicate overload.

#include <coroutine>
#include <exception>
#include <mutex>
#include <stdexcept>

#include "weft/detail/task_header.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/detail/wake_chain.hpp"
#include "weft/errors.hpp"
#include "weft/mutex.hpp"
#include "weft/task.hpp"

namespace weft {

class Condition {
 public:
  explicit Condition(Mutex& mutex) noexcept : mutex_(mutex) {}
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  [[nodiscard]] Mutex& mutex() const noexcept { return mutex_; }

  // `co_await cond.wait(guard)`: `guard` must own this condition's mutex.
  [[nodiscard]] Task<void> wait(MutexGuard& guard);

  // Waits until `predicate()` is true (checked with the mutex held).
  template <class Predicate>
  [[nodiscard]] Task<void> wait(MutexGuard& guard, Predicate predicate) {
    while (!predicate()) co_await wait(guard);
  }

  void notify_one() noexcept {
    std::unique_lock lock(mutex_of_waiters_);
    notify_one_locked(lock);
  }

  void notify_all() noexcept {
    detail::WakeChain wakes;
    {
      std::lock_guard lock(mutex_of_waiters_);
      while (detail::ListWaiter* w = waiters_.pop_front()) {
        w->granted = true;
        wakes.add(*w);
      }
    }
    wakes.wake_all();
  }

 private:
  struct Waiter : detail::ListWaiter {
    bool chosen_alone = false;  // by notify_one: pass it on if cancelled; under the mutex
  };

  class NotifyAwaiter {
   public:
    NotifyAwaiter(Condition& condition, MutexGuard& guard) noexcept
        : condition_(condition), guard_(guard) {}
    NotifyAwaiter(const NotifyAwaiter&) = delete;
    NotifyAwaiter& operator=(const NotifyAwaiter&) = delete;

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> caller) {
      std::unique_lock lock(condition_.mutex_of_waiters_);
      if (detail::current_task() != nullptr) {
        // Unlocking while holding mutex_of_waiters_: a notifier needs it, so it cannot run
        // between this unlock and the link below. (Lock order: waiters' mutex, then the
        // semaphore's inside unlock(); a notifier never takes the latter.)
        guard_.unlock();
      }
      return detail::suspend_on(condition_.waiters_, waiter_, lock, caller,
                                "co_await weft::Condition::wait()");
    }
    void await_resume() {
      if (detail::resumed_cancelled()) {
        if (waiter_.granted && waiter_.chosen_alone) condition_.notify_one();
        throw CancelledError();
      }
    }

   private:
    Condition& condition_;
    MutexGuard& guard_;
    Waiter waiter_;
  };

  void notify_one_locked(std::unique_lock<std::mutex>& lock) noexcept {
    detail::ListWaiter* w = waiters_.pop_front();
    if (w == nullptr) return;
    w->granted = true;
    static_cast<Waiter*>(w)->chosen_alone = true;
    lock.unlock();
    detail::wake_list_waiter(*w);
  }

  Mutex& mutex_;
  std::mutex mutex_of_waiters_;
  detail::WaitList waiters_;  // of Waiter; guarded by mutex_of_waiters_
};

inline Task<void> Condition::wait(MutexGuard& guard) {
  if (guard.mutex() != &mutex_) {
    throw std::logic_error("weft::Condition::wait: the guard does not own the condition's mutex");
  }
  std::exception_ptr error;
  try {
    co_await NotifyAwaiter(*this, guard);
  } catch (...) {
    error = std::current_exception();
  }
  // Lock again whatever happened: the caller's guard owns the mutex when wait() ends. A
  // cancel that arrives during this re-lock is not lost: it becomes the CancelledError
  // thrown here, or, if one is thrown already, is requested again for the next suspension.
  bool cancelled_while_relocking = false;
  while (!guard.owns_lock()) {
    try {
      guard = co_await mutex_.lock();
    } catch (const CancelledError&) {
      cancelled_while_relocking = true;
    }
  }
  if (cancelled_while_relocking) {
    if (error) {
      detail::current_task()->request_cancel();
    } else {
      error = std::make_exception_ptr(CancelledError());
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace weft

#pragma once

/// @file
/// weft::Condition (asyncio.Condition) over a weft::Mutex:
///
///   auto guard = co_await mutex.lock();
///   co_await cond.wait(guard, [&] { return !items.empty(); });
///
/// wait(guard) unlocks the mutex, waits for a notify, and locks it again before returning —
/// also when it throws (CancelledError), so the caller's guard always owns the lock
/// afterwards, as with std::condition_variable. notify(n) wakes the n oldest waiters (FIFO),
/// notify_one() is notify(1), notify_all() wakes every waiter. Call them with the mutex held
/// (asyncio requires it): a task between checking its predicate and waiting then cannot miss
/// the notification.
///
/// No lost wake-up: the waiter is linked in the condition's list, under the condition's own
/// std::mutex, before the weft Mutex is unlocked, so any notify that follows the unlock
/// finds it.
///
/// No lost notification: a waiter that notify(n) chose *owes* that notification to somebody
/// until its wait() returns normally. If its wait() ends by an exception instead — cancelled
/// before it resumed, or cancelled while it queued to re-lock the mutex — it passes the
/// notification on with notify(1) once it holds the lock again, just before it throws (as
/// asyncio's Condition.wait does since CPython gh-112202, where a notification died with a
/// waiter cancelled during the re-lock). One woken by notify_all() owes nothing: every other
/// waiter was woken too. Passing on may wake a waiter whose predicate is still false, as with
/// every condition variable: wait in a loop, or use the predicate overload.

#include <coroutine>
#include <cstddef>
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

/// asyncio.Condition over a weft::Mutex; see this file's description.
class Condition {
 public:
  /// A condition over `mutex`, which must outlive it.
  explicit Condition(Mutex& mutex) noexcept : mutex_(mutex) {}
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  /// The mutex given to the constructor.
  [[nodiscard]] Mutex& mutex() const noexcept { return mutex_; }

  /// `co_await cond.wait(guard)`: `guard` must own this condition's mutex.
  [[nodiscard]] Task<void> wait(MutexGuard& guard);

  /// Waits until `predicate()` is true (checked with the mutex held).
  template <class Predicate>
  [[nodiscard]] Task<void> wait(MutexGuard& guard, Predicate predicate) {
    while (!predicate()) co_await wait(guard);
  }

  /// Wakes the `n` oldest waiters (all of them if fewer wait); a no-op if none waits — a
  /// notification is not kept for a later waiter.
  void notify(std::size_t n = 1) noexcept {
    detail::WakeChain wakes;
    {
      std::lock_guard lock(mutex_of_waiters_);
      for (; n > 0; --n) {
        detail::ListWaiter* w = waiters_.pop_front();
        if (w == nullptr) break;
        w->granted = true;
        static_cast<Waiter*>(w)->owes_notification = true;
        wakes.add(*w);
      }
    }
    wakes.wake_all();
  }

  /// notify(1).
  void notify_one() noexcept { notify(1); }

  /// Wakes every task waiting now.
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

  /// Tasks waiting for a notification now (a snapshot; not those re-locking the mutex).
  [[nodiscard]] std::size_t waiting() const noexcept {
    std::lock_guard lock(mutex_of_waiters_);
    return waiters_.size();
  }

 private:
  struct Waiter : detail::ListWaiter {
    /// Chosen by notify(n) (not notify_all): written under mutex_of_waiters_ before the wake,
    /// read by the task after it resumed (ordered by the wake).
    bool owes_notification = false;
  };

  class NotifyAwaiter {
   public:
    /// `owes_notification` is set when the wait consumed a notification of notify(n), also
    /// when the wait then throws: wait() passes it on if it ends by an exception.
    NotifyAwaiter(Condition& condition, MutexGuard& guard, bool& owes_notification) noexcept
        : condition_(condition), guard_(guard), owes_notification_(owes_notification) {}
    NotifyAwaiter(const NotifyAwaiter&) = delete;
    NotifyAwaiter& operator=(const NotifyAwaiter&) = delete;

    /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
    bool await_ready() const noexcept { return false; }
    /// Awaiter protocol, called by `co_await` when await_ready() returned false.
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
    /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
    /// wait, or throws its error.
    void await_resume() {
      // `granted` and `owes_notification` were written under the mutex before the wake that
      // resumed us; a waiter a canceller took out of the list was granted nothing.
      owes_notification_ = waiter_.granted && waiter_.owes_notification;
      if (detail::resumed_cancelled()) throw CancelledError();
    }

   private:
    Condition& condition_;
    MutexGuard& guard_;
    bool& owes_notification_;
    Waiter waiter_;
  };

  Mutex& mutex_;
  mutable std::mutex mutex_of_waiters_;
  detail::WaitList waiters_;  // of Waiter; guarded by mutex_of_waiters_
};

inline Task<void> Condition::wait(MutexGuard& guard) {
  if (guard.mutex() != &mutex_) {
    throw std::logic_error("weft::Condition::wait: the guard does not own the condition's mutex");
  }
  std::exception_ptr error;
  bool owes_notification = false;
  try {
    co_await NotifyAwaiter(*this, guard, owes_notification);
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
  if (error) {
    // We consumed a notification meant for one waiter and will not act on it: hand it to
    // the next waiter, with the lock held as a notifier would.
    if (owes_notification) notify(1);
    std::rethrow_exception(error);
  }
}

}  // namespace weft

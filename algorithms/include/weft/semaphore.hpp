#pragma once

/// @file
/// weft::Semaphore and weft::BoundedSemaphore (asyncio.Semaphore / BoundedSemaphore), safe
/// between tasks on any loops of any runtime.
///
/// Fairness: a release() that finds waiters hands its permit straight to the oldest one and
/// never makes it available, so a task arriving later (try_acquire, or an acquire on another
/// loop) cannot overtake a waiter. Hence the invariant, under mutex_: waiters_ is non-empty
/// only while permits_ == 0.
///
/// Cancellation (detail/wait_list.hpp): a waiter removed from the list before it was granted
/// throws CancelledError with nothing to give back; a waiter that was granted a permit and is
/// cancelled before it resumes hands that permit on as a release() would — to the next waiter
/// or back to the count — and then throws. So permits are conserved whatever loop the release
/// and the cancel come from.
///
/// An acquire that finds a permit free completes without suspending and is never undone: a
/// cancel that is pending then is delivered at the task's next suspension, not here. If the
/// task's cooperative budget is spent, it keeps the permit and yields once first.

#include <coroutine>
#include <cstddef>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "weft/detail/task_header.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/errors.hpp"

namespace weft {

class SemaphoreGuard;

/// asyncio.Semaphore; see this file's description.
class Semaphore {
 public:
  /// A semaphore with `permits` permits and no bound on release().
  explicit Semaphore(std::size_t permits)
      : Semaphore(permits, std::numeric_limits<std::size_t>::max()) {}
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;
  /// No task may be waiting on it any more.
  ~Semaphore() = default;

  class AcquireAwaiter;
  class ScopedAwaiter;

  /// `co_await sem.acquire()`: takes a permit, waiting in FIFO order if none is free. Throws
  /// CancelledError if the task is cancelled while waiting (a permit it was given is passed on).
  [[nodiscard]] AcquireAwaiter acquire() noexcept;
  /// `auto guard = co_await sem.scoped()`: acquire(), and a guard that releases on scope exit.
  [[nodiscard]] ScopedAwaiter scoped() noexcept;

  /// Takes a free permit if there is one. Never overtakes a waiter (none is waiting then).
  [[nodiscard]] bool try_acquire() noexcept {
    std::lock_guard lock(mutex_);
    if (permits_ == 0) return false;
    --permits_;
    return true;
  }

  /// Gives a permit back: to the oldest waiter if there is one, else to the count. Throws
  /// std::logic_error if that would exceed the bound (BoundedSemaphore; for Semaphore the
  /// bound is SIZE_MAX).
  void release() {
    std::unique_lock lock(mutex_);
    if (permits_ >= max_permits_) {  // with waiters permits_ is 0: only a bound of 0 throws
      lock.unlock();
      throw std::logic_error("weft::BoundedSemaphore: released more often than acquired");
    }
    release_locked(lock);
  }

  /// Free permits now (a snapshot: other loops may change it at once).
  [[nodiscard]] std::size_t available() const noexcept {
    std::lock_guard lock(mutex_);
    return permits_;
  }

  /// Tasks waiting now (a snapshot).
  [[nodiscard]] std::size_t waiting() const noexcept {
    std::lock_guard lock(mutex_);
    return waiters_.size();
  }

  /// True if an acquire() now would wait (asyncio's Semaphore.locked()): no permit is free,
  /// or tasks are queued — a newcomer waits behind them whatever the count. A snapshot.
  [[nodiscard]] bool locked() const noexcept {
    std::lock_guard lock(mutex_);
    return permits_ == 0 || !waiters_.empty();
  }

 protected:
  /// For BoundedSemaphore: release() beyond `max_permits` throws std::logic_error.
  Semaphore(std::size_t permits, std::size_t max_permits)
      : permits_(permits), max_permits_(max_permits) {}

 private:
  /// The permit of a holder (or of a cancelled waiter that was granted one) goes to the next
  /// waiter or back to the count; never bounded, since the caller held it.
  void release_locked(std::unique_lock<std::mutex>& lock) noexcept {
    detail::ListWaiter* next = waiters_.pop_front();
    if (next == nullptr) {
      ++permits_;
      return;
    }
    next->granted = true;
    lock.unlock();
    detail::wake_list_waiter(*next);
  }
  void release_held() noexcept {
    std::unique_lock lock(mutex_);
    release_locked(lock);
  }

  friend class SemaphoreGuard;

  mutable std::mutex mutex_;
  std::size_t permits_;            // guarded by mutex_
  const std::size_t max_permits_;  // release() beyond it throws
  detail::WaitList waiters_;       // guarded by mutex_
};

/// asyncio.BoundedSemaphore: release() beyond the initial count throws std::logic_error.
class BoundedSemaphore : public Semaphore {
 public:
  /// A semaphore with `permits` permits, which is also the most it may hold.
  explicit BoundedSemaphore(std::size_t permits) : Semaphore(permits, permits) {}
};

/// What `co_await semaphore.acquire()` waits with.
class Semaphore::AcquireAwaiter {
 public:
  /// Waits for a permit of `semaphore`.
  explicit AcquireAwaiter(Semaphore& semaphore) noexcept : semaphore_(semaphore) {}
  AcquireAwaiter(const AcquireAwaiter&) = delete;
  AcquireAwaiter& operator=(const AcquireAwaiter&) = delete;

  /// The decision is taken under the mutex in await_suspend, which may decline to suspend.
  bool await_ready() const noexcept { return false; }

  /// Awaiter protocol, called by `co_await` when await_ready() returned false.
  bool await_suspend(std::coroutine_handle<> caller) {
    std::unique_lock lock(semaphore_.mutex_);
    if (semaphore_.permits_ > 0) {
      --semaphore_.permits_;
      lock.unlock();
      taken_at_once_ = true;
      if (detail::consume_budget()) return false;
      detail::current_task()->yield_from(caller);  // a budget exists only inside a task
      return true;
    }
    return detail::suspend_on(semaphore_.waiters_, waiter_, lock, caller,
                              "co_await weft::Semaphore::acquire()");
  }

  /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
  /// wait, or throws its error.
  void await_resume() {
    if (taken_at_once_) return;
    if (detail::resumed_cancelled()) {
      // `granted` was written under the mutex before the wake that resumed us.
      if (waiter_.granted) semaphore_.release_held();
      throw CancelledError();
    }
  }

 protected:
  /// The semaphore waited on.
  Semaphore& semaphore_;

 private:
  detail::ListWaiter waiter_;
  bool taken_at_once_ = false;
};

/// Releases its permit when destroyed (or at release()). Move-only.
class [[nodiscard("the permit is released when the guard is dropped")]] SemaphoreGuard {
 public:
  SemaphoreGuard() noexcept = default;
  /// Takes over a permit already acquired from `semaphore`.
  explicit SemaphoreGuard(Semaphore & semaphore) noexcept : semaphore_(&semaphore) {}
  /// Takes over `other`'s permit; `other` no longer owns one.
  SemaphoreGuard(SemaphoreGuard && other) noexcept
      : semaphore_(std::exchange(other.semaphore_, nullptr)) {}
  /// Releases this guard's permit, if it owns one, then takes over `other`'s.
  SemaphoreGuard& operator=(SemaphoreGuard&& other) noexcept {
    if (this != &other) {
      release();
      semaphore_ = std::exchange(other.semaphore_, nullptr);
    }
    return *this;
  }
  SemaphoreGuard(const SemaphoreGuard&) = delete;
  SemaphoreGuard& operator=(const SemaphoreGuard&) = delete;
  ~SemaphoreGuard() { release(); }

  /// True until the permit is released.
  [[nodiscard]] bool owns_permit() const noexcept { return semaphore_ != nullptr; }
  /// Releases the permit now (the destructor does the same); nothing if it owns none.
  void release() noexcept {
    if (semaphore_ != nullptr) std::exchange(semaphore_, nullptr)->release_held();
  }

 private:
  Semaphore* semaphore_ = nullptr;
};

/// What `co_await semaphore.scoped()` waits with: an acquire that gives a SemaphoreGuard.
class Semaphore::ScopedAwaiter : public Semaphore::AcquireAwaiter {
 public:
  /// Waits for a permit of the semaphore given.
  using AcquireAwaiter::AcquireAwaiter;
  /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
  /// wait, or throws its error.
  SemaphoreGuard await_resume() {
    /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
    /// wait, or throws its error.
    AcquireAwaiter::await_resume();
    return SemaphoreGuard(semaphore_);
  }
};

inline Semaphore::AcquireAwaiter Semaphore::acquire() noexcept { return AcquireAwaiter(*this); }
inline Semaphore::ScopedAwaiter Semaphore::scoped() noexcept { return ScopedAwaiter(*this); }

}  // namespace weft

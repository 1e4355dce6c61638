#pragma once

/// @file
/// weft::Mutex (asyncio.Lock): `auto guard = co_await m.lock();` — the guard unlocks when it
/// is dropped. Safe between tasks on any loops.
///
/// A Mutex is a BoundedSemaphore(1) with a guard, so it inherits the semaphore's promises
/// (semaphore.hpp): FIFO handoff — an unlock with waiters hands the lock straight to the
/// oldest, a newcomer's try_lock() cannot barge in — and a waiter that was handed the lock and
/// is cancelled before it resumes passes the lock on before throwing CancelledError.
///
/// Holding a weft::Mutex across co_await is what it is for; holding a std::mutex there would
/// block the loop (and deadlock it if the holder resumes on the same loop).

#include <cstddef>
#include <optional>
#include <utility>

#include "weft/semaphore.hpp"

namespace weft {

class Mutex;

/// Owns the lock of a Mutex until dropped or unlock()ed. Move-only.
class [[nodiscard("the lock is released when the guard is dropped")]] MutexGuard {
 public:
  MutexGuard() noexcept = default;
  /// Takes over `other`'s lock; `other` no longer owns one.
  MutexGuard(MutexGuard &&) noexcept = default;
  /// Unlocks this guard's mutex, if it owns it, then takes over `other`'s lock.
  MutexGuard& operator=(MutexGuard&&) noexcept = default;
  MutexGuard(const MutexGuard&) = delete;
  MutexGuard& operator=(const MutexGuard&) = delete;
  ~MutexGuard() = default;

  /// True while the guard holds the lock.
  [[nodiscard]] bool owns_lock() const noexcept { return permit_.owns_permit(); }
  /// owns_lock().
  explicit operator bool() const noexcept { return owns_lock(); }
  /// The mutex this guard locks, or nullptr once it unlocked (or was moved from).
  [[nodiscard]] Mutex* mutex() const noexcept { return owns_lock() ? mutex_ : nullptr; }
  /// Unlocks early (hands the lock to the oldest waiter). No-op if not owning.
  void unlock() noexcept { permit_.release(); }

 private:
  friend class Mutex;
  MutexGuard(Mutex & mutex, SemaphoreGuard permit) noexcept
      : mutex_(&mutex), permit_(std::move(permit)) {}

  Mutex* mutex_ = nullptr;
  SemaphoreGuard permit_;
};

/// asyncio.Lock; see this file's description.
class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  /// What `co_await mutex.lock()` waits with; gives a MutexGuard.
  class LockAwaiter : public Semaphore::AcquireAwaiter {
   public:
    /// Waits for `mutex`.
    explicit LockAwaiter(Mutex& mutex) noexcept
        : Semaphore::AcquireAwaiter(mutex.permit_), mutex_(mutex) {}
    /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
    /// wait, or throws its error.
    MutexGuard await_resume() {
      /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
      /// wait, or throws its error.
      Semaphore::AcquireAwaiter::await_resume();
      return MutexGuard(mutex_, SemaphoreGuard(mutex_.permit_));
    }

   private:
    Mutex& mutex_;
  };

  /// `co_await m.lock()`: waits (FIFO) for the lock; throws CancelledError if the task is
  /// cancelled while waiting.
  [[nodiscard]] LockAwaiter lock() noexcept { return LockAwaiter(*this); }

  /// The lock if it is free (nobody holds it, so nobody waits for it either), else nullopt.
  [[nodiscard]] std::optional<MutexGuard> try_lock() noexcept {
    if (!permit_.try_acquire()) return std::nullopt;
    return MutexGuard(*this, SemaphoreGuard(permit_));
  }

  /// A snapshot: another loop may lock or unlock it at once.
  [[nodiscard]] bool locked() const noexcept { return permit_.available() == 0; }

  /// Tasks waiting for the lock now (a snapshot).
  [[nodiscard]] std::size_t waiting() const noexcept { return permit_.waiting(); }

 private:
  BoundedSemaphore permit_{1};
};

}  // namespace weft

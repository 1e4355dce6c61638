#pragma once

// The awaiters of weft::Queue (queue.hpp): PushAwaiter, PopAwaiter and JoinAwaiter, each the
// queue's fast path (the ring, when it has one) then its locked path, as queue.hpp's top
// comment describes. Included at the end of queue.hpp; included alone, it includes queue.hpp
// first (whose include of this file is then skipped by the pragma) and defines them after.

#include <coroutine>

#include "weft/detail/task_header.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/detail/wake_chain.hpp"
#include "weft/errors.hpp"
#include "weft/queue.hpp"

namespace weft {

namespace detail {
// After an operation completed at once: the task goes on if its budget allows, else yields.
inline bool queue_done_at_once(std::coroutine_handle<> caller) noexcept {
  if (consume_budget()) return false;
  current_task()->yield_from(caller);  // a budget exists only inside a task
  return true;
}
}  // namespace detail

template <class T, class Order>
class Queue<T, Order>::PushAwaiter {
 public:
  PushAwaiter(Queue& queue, T&& value) noexcept : queue_(queue), value_(std::move(value)) {}
  PushAwaiter(const PushAwaiter&) = delete;
  PushAwaiter& operator=(const PushAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> caller) {
    if (!queue_.fast_push(value_)) {
      detail::WakeChain wakes;
      std::unique_lock lock(queue_.mutex_);
      if (queue_.shut_down_) {
        attempt_ = detail::QueueAttempt::shut_down;
        return false;
      }
      queue_.settle_locked(wakes);
      if (!queue_.admit_locked(value_, wakes)) {
        // A ring queue parks in three steps (top comment): flags, a last look, link.
        bool admitted = false;
        if (queue_.ring_ && queue_.push_waiters_.empty()) {
          queue_.update_gates_locked(Parking::pusher);
          admitted = queue_.admit_locked(value_, wakes);
          if (admitted) queue_.update_gates_locked(Parking::none);
        }
        if (!admitted) {
          return detail::suspend_on(queue_.push_waiters_, waiter_, lock, caller,
                                    "co_await weft::Queue::push()");
        }
      }
      lock.unlock();
      wakes.wake_all();
    }
    attempt_ = detail::QueueAttempt::done;
    return detail::queue_done_at_once(caller);
  }

  void await_resume() {
    if (attempt_ == detail::QueueAttempt::done) return;
    if (attempt_ == detail::QueueAttempt::shut_down) throw QueueShutDown();
    const bool cancelled = detail::resumed_cancelled();
    // Not granted: a canceller took us out of the list. Shut down: no slot was reserved.
    if (!waiter_.granted) throw CancelledError();
    if (waiter_.shut_down) {
      if (cancelled) throw CancelledError();
      throw QueueShutDown();
    }
    // A slot is reserved for us: fill it, or pass it on.
    bool shut_down_meanwhile = false;
    {
      detail::WakeChain wakes;
      std::unique_lock lock(queue_.mutex_);
      queue_.settle_locked(wakes);  // ring items ahead of ours go to waiting poppers first
      shut_down_meanwhile = queue_.shut_down_;
      queue_.use_reservation_locked(cancelled || shut_down_meanwhile ? nullptr : &value_, wakes);
      queue_.update_gates_locked(Parking::none);
      lock.unlock();
      wakes.wake_all();
    }
    if (cancelled) throw CancelledError();
    if (shut_down_meanwhile) throw QueueShutDown();
  }

 private:
  Queue& queue_;
  T value_;
  PushWaiter waiter_;
  detail::QueueAttempt attempt_ = detail::QueueAttempt::waited;
};

template <class T, class Order>
class Queue<T, Order>::PopAwaiter {
 public:
  explicit PopAwaiter(Queue& queue) noexcept : queue_(queue) {}
  PopAwaiter(const PopAwaiter&) = delete;
  PopAwaiter& operator=(const PopAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> caller) {
    if (!queue_.fast_pop(waiter_.item)) {
      detail::WakeChain wakes;
      std::unique_lock lock(queue_.mutex_);
      queue_.settle_locked(wakes);
      // Poppers still waiting after settle_locked: behind them, whatever the ring holds.
      const bool first = queue_.pop_waiters_.empty();
      if (!first || !queue_.take_locked(waiter_.item, wakes)) {
        if (first && queue_.shut_down_) {
          attempt_ = detail::QueueAttempt::shut_down;
          return false;
        }
        // A ring queue parks in three steps (top comment): flags, a last look, link.
        bool taken = false;
        if (first && queue_.ring_) {
          queue_.update_gates_locked(Parking::popper);
          taken = queue_.take_locked(waiter_.item, wakes);  // updates the flags if it took
        }
        if (!taken) {
          return detail::suspend_on(queue_.pop_waiters_, waiter_, lock, caller,
                                    "co_await weft::Queue::pop()");
        }
      }
      lock.unlock();
      wakes.wake_all();
    }
    attempt_ = detail::QueueAttempt::done;
    return detail::queue_done_at_once(caller);
  }

  T await_resume() {
    if (attempt_ == detail::QueueAttempt::shut_down) throw QueueShutDown();
    if (attempt_ == detail::QueueAttempt::waited && detail::resumed_cancelled()) {
      if (waiter_.item.has_value()) queue_.give_back(std::move(*waiter_.item));
      throw CancelledError();
    }
    if (waiter_.shut_down) throw QueueShutDown();
    return std::move(*waiter_.item);
  }

 private:
  Queue& queue_;
  PopWaiter waiter_;
  detail::QueueAttempt attempt_ = detail::QueueAttempt::waited;
};

template <class T, class Order>
class Queue<T, Order>::JoinAwaiter {
 public:
  explicit JoinAwaiter(Queue& queue) noexcept : queue_(queue) {}
  JoinAwaiter(const JoinAwaiter&) = delete;
  JoinAwaiter& operator=(const JoinAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> caller) {
    std::unique_lock lock(queue_.mutex_);
    if (queue_.unfinished_locked() == 0) {
      done_at_once_ = true;
      return false;
    }
    return detail::suspend_on(queue_.join_waiters_, waiter_, lock, caller,
                              "co_await weft::Queue::join()");
  }
  // Woken by the last task_done(), a broadcast: a cancelled joiner has nothing to pass on.
  void await_resume() {
    if (!done_at_once_ && detail::resumed_cancelled()) throw CancelledError();
  }

 private:
  Queue& queue_;
  detail::ListWaiter waiter_;
  bool done_at_once_ = false;
};

}  // namespace weft

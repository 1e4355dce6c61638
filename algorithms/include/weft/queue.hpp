#pragma once

// weft::Queue<T> (asyncio.Queue): a FIFO between tasks on any loops of any runtime, bounded
// (capacity n) or unbounded (capacity 0), with close() and join()/task_done().
//
//   co_await q.push(std::move(v));   T v = co_await q.pop();
//
// One std::mutex guards the items, the counters and the three WaitLists (poppers, pushers,
// joiners); every wake happens after it is released (WakeChain). Waiters are served FIFO.
//
// Invariants, under mutex_:
//   - pop waiters exist only while `items_` is empty: a push hands its item straight to the
//     oldest pop waiter (who resumes with it; the item never enters `items_`);
//   - push waiters exist only while the queue is full, where `full` counts the slots that
//     were already *reserved* for woken pushers: a pop that frees room reserves it for the
//     oldest push waiter, who appends its item when it resumes. A newcomer therefore never
//     takes the room a waiter was promised;
//   - after close() nothing enters the queue: pushers (waiting, reserved or new) throw
//     QueueClosed; poppers take what is left, then throw QueueClosed.
//
// Cancellation (detail/wait_list.hpp): a pop waiter that was handed an item and is cancelled
// before it resumes gives it back — to the next pop waiter, else to the FRONT of the queue
// (momentarily beyond the capacity if the room was taken meanwhile), so no item is lost and
// the order is kept as far as it can be. A push waiter that was given a slot and is
// cancelled passes the slot to the next push waiter; its item is not pushed. Either way the
// task then throws CancelledError. An operation that completes without suspending is never
// undone: a pending cancel is delivered at the task's next suspension.
//
// join() waits until every item ever pushed was marked by a task_done() (asyncio's
// semantics); close() does not change that count.

#include <coroutine>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "weft/detail/task_header.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/detail/wake_chain.hpp"
#include "weft/errors.hpp"

namespace weft {

namespace detail {
// How a queue operation went in await_suspend: it waited, or completed or failed at once.
enum class QueueAttempt : unsigned char { waited, done, closed };
}  // namespace detail

// Thrown by a push on a closed queue, and by a pop on a closed queue with no item left.
class QueueClosed : public std::runtime_error {
 public:
  QueueClosed() : std::runtime_error("weft: queue closed") {}
};

template <class T>
class Queue {
  // A hand-off moves the item under the lock after the waiter was taken out of its list: a
  // throwing move there would lose the waiter.
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "weft::Queue<T> needs a nothrow move constructor");

 public:
  // capacity 0: unbounded.
  explicit Queue(std::size_t capacity = 0) noexcept : capacity_(capacity) {}
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  // No task may be waiting on it any more. Items left are destroyed.
  ~Queue() = default;

  class PushAwaiter;
  class PopAwaiter;
  class JoinAwaiter;

  // `co_await q.push(v)`: appends `v`, waiting (FIFO) for room if the queue is full. Throws
  // QueueClosed if the queue is or gets closed first, CancelledError if the task is
  // cancelled while waiting (`v` is then not pushed).
  [[nodiscard]] PushAwaiter push(T value) noexcept(std::is_nothrow_move_constructible_v<T>);
  // `T v = co_await q.pop()`: the oldest item, waiting (FIFO) for one if none is there.
  // Throws QueueClosed once the queue is closed and empty, CancelledError if the task is
  // cancelled while waiting (an item it was handed goes back, see above).
  [[nodiscard]] PopAwaiter pop() noexcept;
  // `co_await q.join()`: until task_done() was called once for every item pushed.
  [[nodiscard]] JoinAwaiter join() noexcept;

  // Pushes if there is room now; moves from `value` only then. Throws QueueClosed if closed.
  [[nodiscard]] bool try_push(T&& value) {
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    if (closed_) throw QueueClosed();
    if (full_locked()) return false;
    accept_locked(std::move(value), wakes);
    lock.unlock();
    wakes.wake_all();
    return true;
  }
  [[nodiscard]] bool try_push(const T& value) {
    T copy(value);
    return try_push(std::move(copy));
  }

  // The oldest item if there is one now; nullopt if empty; QueueClosed if closed and empty.
  [[nodiscard]] std::optional<T> try_pop() {
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    if (items_.empty()) {
      if (closed_) throw QueueClosed();
      return std::nullopt;
    }
    std::optional<T> item(take_front_locked(wakes));
    lock.unlock();
    wakes.wake_all();
    return item;
  }

  // Marks one popped item as processed (asyncio's task_done). Throws std::logic_error if
  // called more often than items were pushed.
  void task_done() {
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    if (unfinished_ == 0) {
      throw std::logic_error("weft::Queue::task_done() called more times than items were pushed");
    }
    if (--unfinished_ == 0) {
      while (detail::ListWaiter* w = join_waiters_.pop_front()) {
        w->granted = true;
        wakes.add(*w);
      }
    }
    lock.unlock();
    wakes.wake_all();
  }

  // Wakes every waiting pusher and popper with QueueClosed; later pushes throw it; pops
  // take the items left, then throw it. Idempotent.
  void close() noexcept {
    detail::WakeChain wakes;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      while (detail::ListWaiter* w = pop_waiters_.pop_front()) {
        static_cast<PopWaiter*>(w)->closed = true;
        w->granted = true;
        wakes.add(*w);
      }
      while (detail::ListWaiter* w = push_waiters_.pop_front()) {
        static_cast<PushWaiter*>(w)->closed = true;
        w->granted = true;
        wakes.add(*w);
      }
    }
    wakes.wake_all();
  }

  // Snapshots: tasks on other loops may change them at once.
  [[nodiscard]] bool closed() const noexcept {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  [[nodiscard]] std::size_t size() const noexcept {
    std::lock_guard lock(mutex_);
    return items_.size();
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  // Items pushed and not yet marked by task_done().
  [[nodiscard]] std::size_t unfinished() const noexcept {
    std::lock_guard lock(mutex_);
    return unfinished_;
  }

 private:
  struct PopWaiter : detail::ListWaiter {
    std::optional<T> item;  // written by the waker under mutex_ (or by the task, at once)
    bool closed = false;    // woken by close(), under mutex_
  };
  struct PushWaiter : detail::ListWaiter {
    bool closed = false;  // woken by close(); granted && !closed: a slot is reserved for it
  };

  [[nodiscard]] bool full_locked() const noexcept {
    return capacity_ != 0 && items_.size() + reserved_ >= capacity_;
  }

  // A pushed item enters: to the oldest pop waiter (then `items_` is empty), else at the
  // back. Counted for join().
  void accept_locked(T&& value, detail::WakeChain& wakes) {
    if (detail::ListWaiter* w = pop_waiters_.pop_front()) {
      auto& popper = static_cast<PopWaiter&>(*w);
      popper.item.emplace(std::move(value));
      popper.granted = true;
      wakes.add(popper);
    } else {
      items_.push_back(std::move(value));
    }
    ++unfinished_;
  }

  T take_front_locked(detail::WakeChain& wakes) noexcept {
    T item(std::move(items_.front()));
    items_.pop_front();
    reserve_room_locked(wakes);
    return item;
  }

  // While there is room, reserve it for the oldest push waiters (FIFO).
  void reserve_room_locked(detail::WakeChain& wakes) noexcept {
    while (!closed_ && !push_waiters_.empty() && !full_locked()) {
      detail::ListWaiter* w = push_waiters_.pop_front();
      ++reserved_;
      w->granted = true;
      wakes.add(*w);
    }
  }

  // A cancelled pop waiter's item goes to the next pop waiter or back to the front.
  void give_back(T&& item) {
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    if (detail::ListWaiter* w = pop_waiters_.pop_front()) {
      auto& popper = static_cast<PopWaiter&>(*w);
      popper.item.emplace(std::move(item));
      popper.granted = true;
      wakes.add(popper);
    } else {
      items_.push_front(std::move(item));
    }
    lock.unlock();
    wakes.wake_all();
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<T> items_;            // guarded by mutex_
  std::size_t reserved_ = 0;       // slots promised to woken push waiters; guarded by mutex_
  std::size_t unfinished_ = 0;     // pushed minus task_done(); guarded by mutex_
  bool closed_ = false;            // guarded by mutex_
  detail::WaitList pop_waiters_;   // of PopWaiter; guarded by mutex_
  detail::WaitList push_waiters_;  // of PushWaiter; guarded by mutex_
  detail::WaitList join_waiters_;  // guarded by mutex_
};

template <class T>
class Queue<T>::PushAwaiter {
 public:
  PushAwaiter(Queue& queue, T&& value) noexcept : queue_(queue), value_(std::move(value)) {}
  PushAwaiter(const PushAwaiter&) = delete;
  PushAwaiter& operator=(const PushAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> caller) {
    detail::WakeChain wakes;
    std::unique_lock lock(queue_.mutex_);
    if (queue_.closed_) {
      attempt_ = detail::QueueAttempt::closed;
      return false;
    }
    if (queue_.full_locked()) {
      return detail::suspend_on(queue_.push_waiters_, waiter_, lock, caller,
                                "co_await weft::Queue::push()");
    }
    queue_.accept_locked(std::move(value_), wakes);
    lock.unlock();
    wakes.wake_all();
    attempt_ = detail::QueueAttempt::done;
    if (detail::consume_budget()) return false;
    detail::current_task()->yield_from(caller);  // a budget exists only inside a task
    return true;
  }

  void await_resume() {
    if (attempt_ == detail::QueueAttempt::done) return;
    if (attempt_ == detail::QueueAttempt::closed) throw QueueClosed();
    const bool cancelled = detail::resumed_cancelled();
    // Not granted: a canceller took us out of the list. Closed: no slot was reserved.
    if (!waiter_.granted) throw CancelledError();
    if (waiter_.closed) {
      if (cancelled) throw CancelledError();
      throw QueueClosed();
    }
    // A slot is reserved for us: fill it, or pass it on.
    bool closed_meanwhile = false;
    {
      detail::WakeChain wakes;
      std::unique_lock lock(queue_.mutex_);
      closed_meanwhile = queue_.closed_;
      if (!cancelled && !closed_meanwhile) queue_.accept_locked(std::move(value_), wakes);
      --queue_.reserved_;
      // Our slot is free again if we passed it on, or if the item went straight to a popper.
      queue_.reserve_room_locked(wakes);
      lock.unlock();
      wakes.wake_all();
    }
    if (cancelled) throw CancelledError();
    if (closed_meanwhile) throw QueueClosed();
  }

 private:
  Queue& queue_;
  T value_;
  PushWaiter waiter_;
  detail::QueueAttempt attempt_ = detail::QueueAttempt::waited;
};

template <class T>
class Queue<T>::PopAwaiter {
 public:
  explicit PopAwaiter(Queue& queue) noexcept : queue_(queue) {}
  PopAwaiter(const PopAwaiter&) = delete;
  PopAwaiter& operator=(const PopAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> caller) {
    detail::WakeChain wakes;
    std::unique_lock lock(queue_.mutex_);
    if (queue_.items_.empty()) {
      if (queue_.closed_) {
        attempt_ = detail::QueueAttempt::closed;
        return false;
      }
      return detail::suspend_on(queue_.pop_waiters_, waiter_, lock, caller,
                                "co_await weft::Queue::pop()");
    }
    waiter_.item.emplace(queue_.take_front_locked(wakes));
    lock.unlock();
    wakes.wake_all();
    attempt_ = detail::QueueAttempt::done;
    if (detail::consume_budget()) return false;
    detail::current_task()->yield_from(caller);  // a budget exists only inside a task
    return true;
  }

  T await_resume() {
    if (attempt_ == detail::QueueAttempt::closed) throw QueueClosed();
    if (attempt_ == detail::QueueAttempt::waited && detail::resumed_cancelled()) {
      if (waiter_.item.has_value()) queue_.give_back(std::move(*waiter_.item));
      throw CancelledError();
    }
    if (waiter_.closed) throw QueueClosed();
    return std::move(*waiter_.item);
  }

 private:
  Queue& queue_;
  PopWaiter waiter_;
  detail::QueueAttempt attempt_ = detail::QueueAttempt::waited;
};

template <class T>
class Queue<T>::JoinAwaiter {
 public:
  explicit JoinAwaiter(Queue& queue) noexcept : queue_(queue) {}
  JoinAwaiter(const JoinAwaiter&) = delete;
  JoinAwaiter& operator=(const JoinAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> caller) {
    std::unique_lock lock(queue_.mutex_);
    if (queue_.unfinished_ == 0) {
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

template <class T>
typename Queue<T>::PushAwaiter Queue<T>::push(T value) noexcept(
    std::is_nothrow_move_constructible_v<T>) {
  return PushAwaiter(*this, std::move(value));
}
template <class T>
typename Queue<T>::PopAwaiter Queue<T>::pop() noexcept {
  return PopAwaiter(*this);
}
template <class T>
typename Queue<T>::JoinAwaiter Queue<T>::join() noexcept {
  return JoinAwaiter(*this);
}

}  // namespace weft

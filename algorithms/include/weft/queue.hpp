#pragma once

// weft::Queue<T> (asyncio.Queue) and weft::LifoQueue<T> (asyncio.LifoQueue): a queue between
// tasks on any loops of any runtime, bounded (capacity n) or unbounded (capacity 0), with
// shutdown() and join()/task_done(). weft::PriorityQueue<T> (priority_queue.hpp) is the
// same queue with another order.
//
//   co_await q.push(std::move(v));   T v = co_await q.pop();
//
// The order is a policy (`Order`: FIFO, LIFO, smallest first) that only stores items; every
// rule below is the queue's and holds for each order.
//
// One std::mutex guards the items, the counters and the three WaitLists (poppers, pushers,
// joiners); every wake happens after it is released (WakeChain). Waiters are served FIFO.
//
// Invariants, under mutex_:
//   - pop waiters exist only while the queue holds no item: a push hands its item straight
//     to the oldest pop waiter (who resumes with it; the item never enters the queue);
//   - push waiters exist only while the queue is full, where `full` counts the slots that
//     were already *reserved* for woken pushers: a pop that frees room reserves it for the
//     oldest push waiter, who adds its item when it resumes. A newcomer therefore never
//     takes the room a waiter was promised;
//   - after shutdown() nothing enters the queue (Python 3.13's Queue.shutdown): pushers
//     (waiting, reserved or new) throw QueueShutDown; poppers take what is left, then throw
//     QueueShutDown. shutdown(immediate = true) also drops the items left at once (each
//     counts as done for join()), so every waiting popper throws QueueShutDown too. A popper
//     that was handed an item before the shutdown keeps it: its pop completed first.
//
// Cancellation (detail/wait_list.hpp): a pop waiter that was handed an item and is cancelled
// before it resumes gives it back — to the next pop waiter, else back where it was taken
// (the front of a FIFO, the top of a LIFO; momentarily beyond the capacity if the room was
// taken meanwhile), so no item is lost and the order is kept as far as it can be; after a
// shutdown(immediate) the item is dropped like the others. A push waiter that was given a
// slot and is cancelled passes the slot to the next push waiter; its item is not pushed.
// Either way the task then throws CancelledError. An operation that completes without
// suspending is never undone: a pending cancel is delivered at the task's next suspension.
//
// join() waits until every item ever pushed was marked by a task_done() (asyncio's
// semantics), or dropped by shutdown(immediate).
//
// close() is the name shutdown(false) had before Python gave queues a shutdown: the same
// operation, and QueueClosed is QueueShutDown.

#include <coroutine>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/queue_orders.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/detail/wake_chain.hpp"
#include "weft/errors.hpp"

namespace weft {

namespace detail {
// How a queue operation went in await_suspend: it waited, or completed or failed at once.
enum class QueueAttempt : unsigned char { waited, done, shut_down };
}  // namespace detail

// Thrown by a push on a shut-down queue, and by a pop on a shut-down queue with no item left.
class QueueShutDown : public std::runtime_error {
 public:
  QueueShutDown() : std::runtime_error("weft: queue shut down") {}
};

// What close() threw before queues had shutdown(): the same exception.
using QueueClosed = QueueShutDown;

template <class T, class Order = detail::FifoOrder<T>>
class Queue {
  // A hand-off moves the item under the lock after the waiter was taken out of its list: a
  // throwing move there would lose the waiter.
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "weft::Queue<T> needs a nothrow move constructor");

 public:
  // capacity 0: unbounded.
  explicit Queue(std::size_t capacity = 0) : capacity_(capacity) {}
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  // No task may be waiting on it any more. Items left are destroyed.
  ~Queue() = default;

  class PushAwaiter;
  class PopAwaiter;
  class JoinAwaiter;

  // `co_await q.push(v)`: adds `v`, waiting (FIFO) for room if the queue is full. Throws
  // QueueShutDown if the queue is or gets shut down first, CancelledError if the task is
  // cancelled while waiting (`v` is then not pushed).
  [[nodiscard]] PushAwaiter push(T value) noexcept(std::is_nothrow_move_constructible_v<T>);
  // `T v = co_await q.pop()`: the next item (oldest, newest or smallest: the queue's order),
  // waiting (FIFO) for one if none is there. Throws QueueShutDown once the queue is shut down
  // and empty, CancelledError if the task is cancelled while waiting (an item it was handed
  // goes back, see above).
  [[nodiscard]] PopAwaiter pop() noexcept;
  // `co_await q.join()`: until task_done() was called once for every item pushed.
  [[nodiscard]] JoinAwaiter join() noexcept;

  // asyncio's put_nowait: pushes if there is room now (true), moves from `value` only then;
  // false if the queue is full (QueueFull); throws QueueShutDown if it is shut down.
  [[nodiscard]] bool try_push(T&& value) {
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    if (shut_down_) throw QueueShutDown();
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

  // asyncio's get_nowait: the next item if there is one now; nullopt if the queue is empty
  // (QueueEmpty); throws QueueShutDown if it is shut down and empty.
  [[nodiscard]] std::optional<T> try_pop() {
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    if (order_.empty()) {
      if (shut_down_) throw QueueShutDown();
      return std::nullopt;
    }
    std::optional<T> item(take_locked(wakes));
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
    mark_done_locked(1, wakes);
    lock.unlock();
    wakes.wake_all();
  }

  // Python 3.13's Queue.shutdown: later pushes throw QueueShutDown, and so does every push
  // waiting now (also one already promised a slot); pops take the items left, then throw
  // QueueShutDown. With `immediate` the items left are dropped now — each counts as done
  // for join(), which returns once the items popped before are done too — so every waiting
  // popper throws QueueShutDown at once. A second call can still drop the items (immediate
  // after a plain shutdown); otherwise it changes nothing. Throws only std::bad_alloc, and
  // then changes nothing.
  void shutdown(bool immediate = false) {
    std::vector<T> dropped;  // destroyed after the mutex is released, in case ~T touches us
    detail::WakeChain wakes;
    {
      std::lock_guard lock(mutex_);
      if (immediate) {
        dropped.reserve(order_.size());  // the one step that may throw: before any change
        drop_items_ = true;
        order_.move_all_to(dropped);
        mark_done_locked(dropped.size(), wakes);
      }
      shut_down_ = true;
      while (detail::ListWaiter* w = pop_waiters_.pop_front()) {
        static_cast<PopWaiter*>(w)->shut_down = true;
        w->granted = true;
        wakes.add(*w);
      }
      while (detail::ListWaiter* w = push_waiters_.pop_front()) {
        static_cast<PushWaiter*>(w)->shut_down = true;
        w->granted = true;
        wakes.add(*w);
      }
    }
    wakes.wake_all();
  }

  // shutdown(false), under the name it had before (which allocates nothing, so cannot throw).
  void close() noexcept { shutdown(false); }

  // Snapshots: tasks on other loops may change them at once.
  [[nodiscard]] bool is_shut_down() const noexcept {
    std::lock_guard lock(mutex_);
    return shut_down_;
  }
  [[nodiscard]] bool closed() const noexcept { return is_shut_down(); }
  [[nodiscard]] std::size_t size() const noexcept {
    std::lock_guard lock(mutex_);
    return order_.size();
  }
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  // True if a push now would wait (asyncio's full()): every slot holds an item or is
  // promised to a woken pusher. Never true for an unbounded queue.
  [[nodiscard]] bool full() const noexcept {
    std::lock_guard lock(mutex_);
    return full_locked();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  // Items pushed and not yet marked by task_done() (nor dropped by shutdown(immediate)).
  [[nodiscard]] std::size_t unfinished() const noexcept {
    std::lock_guard lock(mutex_);
    return unfinished_;
  }

 protected:
  // For queues of another order whose Order carries state (PriorityQueue's comparator).
  Queue(std::size_t capacity, Order order) : capacity_(capacity), order_(std::move(order)) {}

 private:
  struct PopWaiter : detail::ListWaiter {
    std::optional<T> item;   // written by the waker under mutex_ (or by the task, at once)
    bool shut_down = false;  // woken by shutdown(), under mutex_
  };
  struct PushWaiter : detail::ListWaiter {
    // Woken by shutdown(); granted && !shut_down: a slot is reserved for it.
    bool shut_down = false;
  };

  [[nodiscard]] bool full_locked() const noexcept {
    return capacity_ != 0 && order_.size() + reserved_ >= capacity_;
  }

  // `n` items are done (task_done, or dropped): the last one releases the joiners.
  void mark_done_locked(std::size_t n, detail::WakeChain& wakes) noexcept {
    unfinished_ -= n < unfinished_ ? n : unfinished_;
    if (unfinished_ != 0) return;
    while (detail::ListWaiter* w = join_waiters_.pop_front()) {
      w->granted = true;
      wakes.add(*w);
    }
  }

  // A pushed item enters: to the oldest pop waiter (then the queue is empty), else into the
  // order. Counted for join().
  void accept_locked(T&& value, detail::WakeChain& wakes) {
    if (detail::ListWaiter* w = pop_waiters_.pop_front()) {
      auto& popper = static_cast<PopWaiter&>(*w);
      popper.item.emplace(std::move(value));
      popper.granted = true;
      wakes.add(popper);
    } else {
      order_.push(std::move(value));
    }
    ++unfinished_;
  }

  T take_locked(detail::WakeChain& wakes) noexcept {
    T item(order_.take());
    reserve_room_locked(wakes);
    return item;
  }

  // While there is room, reserve it for the oldest push waiters (FIFO).
  void reserve_room_locked(detail::WakeChain& wakes) noexcept {
    while (!shut_down_ && !push_waiters_.empty() && !full_locked()) {
      detail::ListWaiter* w = push_waiters_.pop_front();
      ++reserved_;
      w->granted = true;
      wakes.add(*w);
    }
  }

  // A cancelled pop waiter's item goes to the next pop waiter or back into the order; after
  // shutdown(immediate) it is dropped like the items that were left then.
  void give_back(T&& item) {
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    if (drop_items_) {
      // Left where it is: the awaiter holding it destroys it, with the mutex released.
      mark_done_locked(1, wakes);
      lock.unlock();
      wakes.wake_all();
      return;
    }
    if (detail::ListWaiter* w = pop_waiters_.pop_front()) {
      auto& popper = static_cast<PopWaiter&>(*w);
      popper.item.emplace(std::move(item));
      popper.granted = true;
      wakes.add(popper);
    } else {
      order_.put_back(std::move(item));
    }
    lock.unlock();
    wakes.wake_all();
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  Order order_;                    // the items; guarded by mutex_
  std::size_t reserved_ = 0;       // slots promised to woken push waiters; guarded by mutex_
  std::size_t unfinished_ = 0;     // pushed minus done; guarded by mutex_
  bool shut_down_ = false;         // guarded by mutex_
  bool drop_items_ = false;        // shutdown(immediate) ran; guarded by mutex_
  detail::WaitList pop_waiters_;   // of PopWaiter; guarded by mutex_
  detail::WaitList push_waiters_;  // of PushWaiter; guarded by mutex_
  detail::WaitList join_waiters_;  // guarded by mutex_
};

// asyncio.LifoQueue: pop() takes the item pushed last.
template <class T>
using LifoQueue = Queue<T, detail::LifoOrder<T>>;

template <class T, class Order>
class Queue<T, Order>::PushAwaiter {
 public:
  PushAwaiter(Queue& queue, T&& value) noexcept : queue_(queue), value_(std::move(value)) {}
  PushAwaiter(const PushAwaiter&) = delete;
  PushAwaiter& operator=(const PushAwaiter&) = delete;

  bool await_ready() const noexcept { return false; }

  bool await_suspend(std::coroutine_handle<> caller) {
    detail::WakeChain wakes;
    std::unique_lock lock(queue_.mutex_);
    if (queue_.shut_down_) {
      attempt_ = detail::QueueAttempt::shut_down;
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
      shut_down_meanwhile = queue_.shut_down_;
      if (!cancelled && !shut_down_meanwhile) queue_.accept_locked(std::move(value_), wakes);
      --queue_.reserved_;
      // Our slot is free again if we passed it on, or if the item went straight to a popper.
      queue_.reserve_room_locked(wakes);
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
    detail::WakeChain wakes;
    std::unique_lock lock(queue_.mutex_);
    if (queue_.order_.empty()) {
      if (queue_.shut_down_) {
        attempt_ = detail::QueueAttempt::shut_down;
        return false;
      }
      return detail::suspend_on(queue_.pop_waiters_, waiter_, lock, caller,
                                "co_await weft::Queue::pop()");
    }
    waiter_.item.emplace(queue_.take_locked(wakes));
    lock.unlock();
    wakes.wake_all();
    attempt_ = detail::QueueAttempt::done;
    if (detail::consume_budget()) return false;
    detail::current_task()->yield_from(caller);  // a budget exists only inside a task
    return true;
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

template <class T, class Order>
typename Queue<T, Order>::PushAwaiter Queue<T, Order>::push(T value) noexcept(
    std::is_nothrow_move_constructible_v<T>) {
  return PushAwaiter(*this, std::move(value));
}
template <class T, class Order>
typename Queue<T, Order>::PopAwaiter Queue<T, Order>::pop() noexcept {
  return PopAwaiter(*this);
}
template <class T, class Order>
typename Queue<T, Order>::JoinAwaiter Queue<T, Order>::join() noexcept {
  return JoinAwaiter(*this);
}

}  // namespace weft

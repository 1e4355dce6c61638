#pragma once

/// @file
/// weft::Queue<T> (asyncio.Queue) and weft::LifoQueue<T> (asyncio.LifoQueue): a queue between
/// tasks on any loops of any runtime, bounded (capacity n) or unbounded (capacity 0), with
/// shutdown() and join()/task_done(). weft::PriorityQueue<T> (priority_queue.hpp) is the
/// same queue with another order.
///
///   co_await q.push(std::move(v));   T v = co_await q.pop();
///
/// The order is a policy (`Order`: FIFO, LIFO, smallest first) that only stores items; every
/// rule below is the queue's and holds for each order.
///
/// One std::mutex guards the counters, the three WaitLists (poppers, pushers, joiners) and the
/// items — but for a FIFO bounded queue's ring, below; every wake happens after it is
/// released (WakeChain). Waiters are served FIFO.
///
/// Invariants, under mutex_ (for the ring, as far as the section can see: below):
///   - pop waiters exist only while the queue holds no item ready for them: a push hands its
///     item straight to the oldest pop waiter (who resumes with it; the item never enters the
///     queue), but in a ring queue only while the ring is empty (see "Claimed, unfinished
///     operations" below);
///   - push waiters exist only while the queue is full, where `full` counts the slots that
///     were already *reserved* for woken pushers: a pop that frees room reserves it for the
///     oldest push waiter, who adds its item when it resumes. A newcomer therefore never
///     takes the room a waiter was promised;
///   - after shutdown() nothing enters the queue (Python 3.13's Queue.shutdown): pushers
///     (waiting, reserved or new) throw QueueShutDown; poppers take what is left, then throw
///     QueueShutDown. shutdown(immediate = true) also drops the items left at once (each
///     counts as done for join()), so every waiting popper throws QueueShutDown too. A popper
///     that was handed an item before the shutdown keeps it: its pop completed first.
///
/// Cancellation (detail/wait_list.hpp): a pop waiter that was handed an item and is cancelled
/// before it resumes gives it back — to the next pop waiter, else back where it was taken
/// (the front of a FIFO, the top of a LIFO; momentarily beyond the capacity if the room was
/// taken meanwhile), so no item is lost and the order is kept as far as it can be; after a
/// shutdown(immediate) the item is dropped like the others. A push waiter that was given a
/// slot and is cancelled passes the slot to the next push waiter; its item is not pushed.
/// Either way the task then throws CancelledError. An operation that completes without
/// suspending is never undone: a pending cancel is delivered at the task's next suspension.
///
/// join() waits until every item ever pushed was marked by a task_done() (asyncio's
/// semantics), or dropped by shutdown(immediate).
///
/// close() is the name shutdown(false) had before Python gave queues a shutdown: the same
/// operation, and QueueClosed is QueueShutDown.
///
/// --- The ring: pushes and pops without the mutex --------------------------------------------
///
/// With one mutex, every push and pop moves its cache line between the cores whose loops use
/// the queue. A FIFO queue of capacity 1..kMaxRingCapacity keeps its items in a
/// detail::MpmcRing (mpmc_ring.hpp: Vyukov's bounded MPMC ring, whose two ends the queue can
/// gate) and pushes and pops take it without the mutex while nobody waits; the mutex path
/// above is their slow path. LIFO and priority queues, an unbounded queue and a larger
/// capacity (the ring allocates every slot up front) keep every item under the mutex.
///   - Gates (flags in the ring's end words, see mpmc_ring.hpp): the tail is gated while a
///     popper or a pusher waits, the stash holds an item, or the queue is shut down; the head
///     while a popper waits, the stash holds an item, or the queue is shut down. A gated
///     operation takes the mutex. So no newcomer passes a waiter: while poppers wait, pushes
///     hand their items over under the mutex; while pushers wait, no push takes the room a
///     pop frees before the mutex holder reserves it.
///   - The head's note: set while a pusher waits. Pops go on without the mutex, and one that
///     completes under the note then takes it to reserve the room it freed (settle()).
///   - Reservations: the ring counts them in its tail word and every other push looks past
///     the reserved room (mpmc_ring.hpp), so the tail needs no gate while a woken pusher is
///     on its way. (It had one at first: at 2 loops a third of the pushes then took the mutex,
///     in the window between a reservation and the woken pusher's resumption.)
///   - The stash (`order_`): items given back by cancelled poppers, in front of the ring (it
///     has no front to push to); both ends are gated until it is empty.
/// The flags change only under the mutex, at the end of every section that changed what they
/// depend on (update_gates_locked). A flag set for nothing (a waiter that its canceller
/// unlinked: deregistration does not recompute them) only sends operations to the slow path,
/// whose section clears it.
///
/// No lost wake-up. The danger: a popper parks because the ring looked empty while a push
/// that passed the gate before it closed stores its item without seeing the waiter; or a
/// pusher parks on a full ring while a pop frees a slot unseen. So a waiter parks in three
/// steps under the mutex: set the flags as if it were linked already (seq_cst RMWs), look at
/// the ring again with seq_cst loads (take the head item / check the room), and link itself
/// only if that fails. A fast operation stores its slot's seq with seq_cst, then loads its own
/// end's word with seq_cst (MpmcRing::publish). That is Dekker's handshake (mpmc_ring.hpp
/// proves it with the total order S): either the waiter's last look sees the operation's
/// item or room, or the operation sees the flag and takes the mutex (after the waiter
/// unlocked, so finding it linked) to hand over what it did (settle()). Every locked section
/// that looks at the ring does so with seq_cst loads, after the mutex (settle_locked): it
/// follows the flag's RMW in S and sees whatever the parking one would have. Hence at the end
/// of every section: a waiting popper means no item was ready at the head, a waiting pusher
/// means no room, as far as the section's loads show — and what they did not show belongs to
/// an operation that will see a flag and settle. Each operation reads its own end's word (a
/// push the tail, gated while poppers wait; a pop the head, noted while pushers wait): the
/// line it just CAS'ed, still in its core's cache; reading the other end's would take that
/// line from the other side on every call. Weaker orders fail (mpmc_ring.hpp): the waiter
/// would sleep by a ready item.
///
/// Claimed, unfinished operations. A push claims its position (CAS on the tail) before it
/// stores the item, so a popper may find the head item not ready though the tail is past
/// it: that push's load comes after the popper's RMW in S (the popper did not see its seq),
/// so it sees the gate and settles, handing on the items behind it too. A pop claims before
/// it moves its item out, so a slot the head is past may not be free yet: room is judged by
/// the slot past the reserved room (MpmcRing::room), not by the counts alone, and a slot is
/// reserved only once it is free.
/// Order behind an unfinished push. While a popper waits on such a head, items published
/// behind it wait in the ring too, older than any push to come. So a push under the mutex hands
/// its item straight to a waiting popper only when the ring holds no position at all
/// (may_hand_locked); otherwise it goes into the ring behind them, and the unfinished push's
/// settle() hands them all out in order. Handing it over would let a producer's later item
/// reach a consumer before its earlier one (a 2-loop stress caught it under g++ -O0, whose
/// slower pushes leave that window open longest).
///
/// Shutdown gates both ends for good. After shutdown(immediate), the item of a push that
/// claimed its slot before the gate and stores it after is dropped (done for join()) as if
/// the shutdown had found it: by the handshake, either the shutdown's drain sees it, or the
/// push sees the gate and drops it itself (settle()). No pop takes a ring item meanwhile
/// (take_locked), so it is never handed out after the shutdown.
///
/// join() in a ring queue: pushed = the ring's tail position (every claim) + the items handed
/// straight to a popper under the mutex; unfinished = pushed - done_. A fast push touches no
/// shared counter.

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/mpmc_ring.hpp"
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

/// Thrown by a push on a shut-down queue, and by a pop on a shut-down queue with no item left.
class QueueShutDown : public std::runtime_error {
 public:
  QueueShutDown() : std::runtime_error("weft: queue shut down") {}
};

/// What close() threw before queues had shutdown(): the same exception.
using QueueClosed = QueueShutDown;

template <class T, class Order = detail::FifoOrder<T>>
/// asyncio.Queue, safe between tasks on any loops; see this file's description.
class Queue {
  /// A hand-off moves the item under the lock after the waiter was taken out of its list: a
  /// throwing move there would lose the waiter.
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "weft::Queue<T> needs a nothrow move constructor");

  using Ring = detail::MpmcRing<T>;
  using RingMode = typename Ring::Mode;
  using RingResult = typename Ring::Result;

 public:
  /// The largest capacity kept in a ring (see the top comment).
  static constexpr std::size_t kMaxRingCapacity = std::size_t{1} << 16;

  /// capacity 0: unbounded.
  explicit Queue(std::size_t capacity = 0) : capacity_(capacity), ring_(make_ring(capacity)) {}
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;
  /// No task may be waiting on it any more. Items left are destroyed.
  ~Queue() = default;

  class PushAwaiter;
  class PopAwaiter;
  class JoinAwaiter;

  /// `co_await q.push(v)`: adds `v`, waiting (FIFO) for room if the queue is full. Throws
  /// QueueShutDown if the queue is or gets shut down first, CancelledError if the task is
  /// cancelled while waiting (`v` is then not pushed).
  [[nodiscard]] PushAwaiter push(T value) noexcept(std::is_nothrow_move_constructible_v<T>);
  /// `T v = co_await q.pop()`: the next item (oldest, newest or smallest: the queue's order),
  /// waiting (FIFO) for one if none is there. Throws QueueShutDown once the queue is shut down
  /// and empty, CancelledError if the task is cancelled while waiting (an item it was handed
  /// goes back, see above).
  [[nodiscard]] PopAwaiter pop() noexcept;
  /// `co_await q.join()`: until task_done() was called once for every item pushed.
  [[nodiscard]] JoinAwaiter join() noexcept;

  /// asyncio's put_nowait: pushes if there is room now (true), moves from `value` only then;
  /// false if the queue is full (QueueFull); throws QueueShutDown if it is shut down.
  [[nodiscard]] bool try_push(T&& value) {
    if (fast_push(value)) return true;
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    if (shut_down_) throw QueueShutDown();
    settle_locked(wakes);
    if (!admit_locked(value, wakes)) return false;
    lock.unlock();
    wakes.wake_all();
    return true;
  }
  /// As the rvalue form, copying `value`.
  [[nodiscard]] bool try_push(const T& value) {
    T copy(value);
    return try_push(std::move(copy));
  }

  /// asyncio's get_nowait: the next item if there is one now; nullopt if the queue is empty
  /// (QueueEmpty); throws QueueShutDown if it is shut down and empty.
  [[nodiscard]] std::optional<T> try_pop() {
    std::optional<T> item;
    if (fast_pop(item)) return item;
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    settle_locked(wakes);
    // Poppers still waiting after settle_locked: no item is ready for a newcomer.
    if (!pop_waiters_.empty() || !take_locked(item, wakes)) {
      if (shut_down_) throw QueueShutDown();
      return std::nullopt;
    }
    lock.unlock();
    wakes.wake_all();
    return item;
  }

  /// Marks one popped item as processed (asyncio's task_done). Throws std::logic_error if
  /// called more often than items were pushed.
  void task_done() {
    detail::WakeChain wakes;
    std::unique_lock lock(mutex_);
    if (unfinished_locked() == 0) {
      throw std::logic_error("weft::Queue::task_done() called more times than items were pushed");
    }
    mark_done_locked(1, wakes);
    lock.unlock();
    wakes.wake_all();
  }

  /// Python 3.13's Queue.shutdown: later pushes throw QueueShutDown, and so does every push
  /// waiting now (also one already promised a slot); pops take the items left, then throw
  /// QueueShutDown. With `immediate` the items left are dropped now — each counts as done
  /// for join(), which returns once the items popped before are done too — so every waiting
  /// popper throws QueueShutDown at once. A second call can still drop the items (immediate
  /// after a plain shutdown); otherwise it changes nothing. Throws only std::bad_alloc, and
  /// then changes nothing.
  void shutdown(bool immediate = false) {
    std::vector<T> dropped;  // destroyed after the mutex is released, in case ~T touches us
    detail::WakeChain wakes;
    {
      std::lock_guard lock(mutex_);
      // The one step that may throw: before any change. The ring holds at most its capacity.
      if (immediate) dropped.reserve(order_.size() + (ring_ ? ring_->capacity() : 0));
      shut_down_ = true;
      update_gates_locked(Parking::none);  // both ends gated for good
      if (immediate) {
        drop_items_ = true;
        order_.move_all_to(dropped);
        if (ring_) {
          // A push that claimed before the gate and that this misses sees the gate and drops
          // its item itself (settle()).
          for (std::optional<T> item; ring_->try_pop(item, RingMode::owner) == RingResult::done;
               item.reset()) {
            dropped.push_back(std::move(*item));
          }
        }
        mark_done_locked(dropped.size(), wakes);
      }
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

  /// shutdown(false), under the name it had before (which allocates nothing, so cannot throw).
  void close() noexcept { shutdown(false); }

  /// Snapshots: tasks on other loops may change them at once.
  [[nodiscard]] bool is_shut_down() const noexcept {
    std::lock_guard lock(mutex_);
    return shut_down_;
  }
  /// is_shut_down().
  [[nodiscard]] bool closed() const noexcept { return is_shut_down(); }
  /// Items in the queue now.
  [[nodiscard]] std::size_t size() const noexcept {
    std::lock_guard lock(mutex_);
    return order_.size() + (ring_ ? ring_->size() : 0);
  }
  /// True when no item is in the queue now.
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  /// True if a push now would wait (asyncio's full()): every slot holds an item or is
  /// promised to a woken pusher. Never true for an unbounded queue.
  [[nodiscard]] bool full() const noexcept {
    std::lock_guard lock(mutex_);
    return full_locked();
  }
  /// The capacity given to the constructor; 0 for unbounded.
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  /// Items pushed and not yet marked by task_done() (nor dropped by shutdown(immediate)).
  [[nodiscard]] std::size_t unfinished() const noexcept {
    std::lock_guard lock(mutex_);
    return unfinished_locked();
  }

 protected:
  /// For queues of another order whose Order carries state (PriorityQueue's comparator).
  Queue(std::size_t capacity, Order order)
      : capacity_(capacity), ring_(make_ring(capacity)), order_(std::move(order)) {}

 private:
  struct PopWaiter : detail::ListWaiter {
    std::optional<T> item;   ///< written by the waker under mutex_ (or by the task, at once)
    bool shut_down = false;  ///< woken by shutdown(), under mutex_
  };
  struct PushWaiter : detail::ListWaiter {
    /// Woken by shutdown(); granted && !shut_down: a slot is reserved for it.
    bool shut_down = false;
  };
  /// Who is about to link itself, for the flags set before its last look at the ring.
  enum class Parking : unsigned char { none, popper, pusher };

  static std::unique_ptr<Ring> make_ring(std::size_t capacity) {
    if constexpr (std::is_same_v<Order, detail::FifoOrder<T>>) {
      if (capacity != 0 && capacity <= kMaxRingCapacity) return std::make_unique<Ring>(capacity);
    }
    return nullptr;
  }

  // --- the ring's fast paths (no lock) ---

  /// True if `value` went into the ring (moved from only then).
  bool fast_push(T& value) noexcept {
    if (!ring_) return false;
    const RingResult r = ring_->try_push(value, RingMode::fast);
    if (r == RingResult::done_flagged) settle();
    return r == RingResult::done || r == RingResult::done_flagged;
  }
  /// True if `out` (empty) got the ring's head item.
  bool fast_pop(std::optional<T>& out) noexcept {
    if (!ring_) return false;
    const RingResult r = ring_->try_pop(out, RingMode::fast);
    if (r == RingResult::done_flagged) settle();
    return r == RingResult::done || r == RingResult::done_flagged;
  }

  /// A fast operation saw a flag: hand ring items to poppers, room to pushers (and after
  /// shutdown(immediate) drop what the ring holds, one item at a time, each destroyed after
  /// the mutex is released).
  void settle() noexcept {
    for (;;) {
      std::optional<T> dropped;
      {
        detail::WakeChain wakes;
        std::unique_lock lock(mutex_);
        settle_locked(wakes);
        if (drop_items_ && ring_->try_pop(dropped, RingMode::owner) == RingResult::done) {
          mark_done_locked(1, wakes);
        }
        lock.unlock();
        wakes.wake_all();
      }
      if (!dropped.has_value()) return;
    }
  }

  // --- under mutex_ ---

  /// Starts every locked section that looks at the ring: what fast operations left to do —
  /// ring items to the oldest poppers, room to the oldest pushers — and the flags brought up
  /// to date.
  void settle_locked(detail::WakeChain& wakes) noexcept {
    if (!ring_) return;
    while (!pop_waiters_.empty()) {
      std::optional<T> item;
      if (ring_->try_pop(item, RingMode::owner) != RingResult::done) break;
      hand_locked(std::move(*item), wakes);
    }
    reserve_room_locked(wakes);
    update_gates_locked(Parking::none);
  }

  /// The ring's flags for the state now, plus a waiter about to link itself (whose last look
  /// at the ring must follow them).
  void update_gates_locked(Parking parking) noexcept {
    if (!ring_) return;
    using End = typename Ring::End;
    const bool poppers = !pop_waiters_.empty() || parking == Parking::popper;
    const bool pushers = !push_waiters_.empty() || parking == Parking::pusher;
    const bool stash = !order_.empty();
    ring_->set_flags(End::tail, shut_down_ || poppers || pushers || stash ? Ring::kGate : 0);
    ring_->set_flags(End::head, (shut_down_ || poppers || stash ? Ring::kGate : 0) |
                                    (pushers ? Ring::kNote : 0));
  }

  /// Room for one more item beyond the reserved ones (bounded queues).
  [[nodiscard]] bool room_locked() const noexcept {
    if (!ring_) return order_.size() + reserved_ < capacity_;
    return order_.size() + ring_->reserved() + ring_->size() < capacity_ && ring_->room();
  }
  /// Pushers still waiting (past a ring's kMaxReserved) mean full, though there is room.
  [[nodiscard]] bool full_locked() const noexcept {
    return capacity_ != 0 && (!push_waiters_.empty() || !room_locked());
  }

  [[nodiscard]] std::size_t unfinished_locked() const noexcept {
    return static_cast<std::size_t>(pushed_ + (ring_ ? ring_->pushed() : 0) - done_);
  }

  /// `n` items are done (task_done, or dropped): the last one releases the joiners.
  void mark_done_locked(std::size_t n, detail::WakeChain& wakes) noexcept {
    const std::size_t unfinished = unfinished_locked();
    done_ += n < unfinished ? n : unfinished;
    if (n < unfinished) return;
    while (detail::ListWaiter* w = join_waiters_.pop_front()) {
      w->granted = true;
      wakes.add(*w);
    }
  }

  /// The oldest pop waiter (there is one) takes `item`.
  void hand_locked(T&& item, detail::WakeChain& wakes) noexcept {
    auto& popper = static_cast<PopWaiter&>(*pop_waiters_.pop_front());
    popper.item.emplace(std::move(item));
    popper.granted = true;
    wakes.add(popper);
  }

  /// True if a push now may go straight to the oldest pop waiter: one waits, and no item is
  /// ahead of the push (in a ring queue: the ring holds no position, see the top comment).
  /// Exact under the mutex: both ring ends are gated while poppers wait, so no fast operation
  /// claims a position meanwhile.
  [[nodiscard]] bool may_hand_locked() const noexcept {
    return !pop_waiters_.empty() && (!ring_ || ring_->size() == 0);
  }

  /// A newcomer's push, if it need not wait: to the oldest pop waiter, else into the queue.
  /// Moves from `value` only if it returns true (a ring end still open may fill meanwhile).
  bool admit_locked(T& value, detail::WakeChain& wakes) {
    if (full_locked()) return false;
    if (may_hand_locked()) {
      hand_locked(std::move(value), wakes);
      ++pushed_;
      return true;
    }
    if (ring_) return ring_->try_push(value, RingMode::owner) == RingResult::done;
    order_.push(std::move(value));
    ++pushed_;
    return true;
  }

  /// A reserved pusher resumed: `value` fills its room (or goes straight to the oldest popper
  /// if nothing is ahead of it, leaving the room free), or, if null, the room is passed on. Then
  /// the free room goes to the oldest push waiters.
  void use_reservation_locked(T* value, detail::WakeChain& wakes) {
    if (value != nullptr && may_hand_locked()) {
      hand_locked(std::move(*value), wakes);
      ++pushed_;
      value = nullptr;
    }
    if (!ring_) {
      --reserved_;
      if (value != nullptr) {
        order_.push(std::move(*value));
        ++pushed_;
      }
    } else if (value == nullptr) {
      ring_->unreserve();
    } else if (!ring_->push_reserved(*value)) {
      // The ring keeps reserved room free (mpmc_ring.hpp); were that broken, the item would
      // rather jump the queue through the stash than be lost.
      assert(false && "a reserved slot was taken");
      ring_->unreserve();
      order_.push(std::move(*value));
      ++pushed_;
    }
    reserve_room_locked(wakes);
  }

  /// The next item for a popper no waiter is ahead of: the stash (or the order), else the ring
  /// — unless shutdown(immediate) ran: an item there now is a late push's, which drops it.
  bool take_locked(std::optional<T>& out, detail::WakeChain& wakes) noexcept {
    if (!order_.empty()) {
      out.emplace(order_.take());
    } else if (!ring_ || drop_items_ || ring_->try_pop(out, RingMode::owner) != RingResult::done) {
      return false;
    }
    reserve_room_locked(wakes);
    update_gates_locked(Parking::none);
    return true;
  }

  /// While there is room, reserve it for the oldest push waiters (FIFO). A ring counts its
  /// reservations itself (at most MpmcRing::kMaxReserved: more waiters wait for those).
  void reserve_room_locked(detail::WakeChain& wakes) noexcept {
    while (!shut_down_ && !push_waiters_.empty() && room_locked()) {
      if (!ring_) {
        ++reserved_;
      } else if (!ring_->reserve()) {
        break;
      }
      detail::ListWaiter* w = push_waiters_.pop_front();
      w->granted = true;
      wakes.add(*w);
    }
  }

  /// A cancelled pop waiter's item goes to the next pop waiter or back into the order (the
  /// stash, for a ring); after shutdown(immediate) it is dropped like the items left then.
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
    // Before settle_locked: this item is older than any the ring holds.
    if (!pop_waiters_.empty()) {
      hand_locked(std::move(item), wakes);
    } else {
      order_.put_back(std::move(item));
    }
    settle_locked(wakes);  // also gates the ring while the stash holds the item
    lock.unlock();
    wakes.wake_all();
  }

  const std::size_t capacity_;
  const std::unique_ptr<Ring> ring_;  // FIFO queues of capacity 1..kMaxRingCapacity only
  mutable std::mutex mutex_;
  Order order_;                    // the items, or a ring's stash; guarded by mutex_
  std::size_t reserved_ = 0;       // slots promised to woken pushers (not a ring's); mutex_
  std::uint64_t pushed_ = 0;       // items pushed, but those into the ring; guarded by mutex_
  std::uint64_t done_ = 0;         // items done or dropped; guarded by mutex_
  bool shut_down_ = false;         // guarded by mutex_
  bool drop_items_ = false;        // shutdown(immediate) ran; guarded by mutex_
  detail::WaitList pop_waiters_;   // of PopWaiter; guarded by mutex_
  detail::WaitList push_waiters_;  // of PushWaiter; guarded by mutex_
  detail::WaitList join_waiters_;  // guarded by mutex_
};

/// asyncio.LifoQueue: pop() takes the item pushed last.
template <class T>
using LifoQueue = Queue<T, detail::LifoOrder<T>>;

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

// The awaiters push(), pop() and join() return.
#include "weft/detail/queue_awaiters.hpp"  // IWYU pragma: export

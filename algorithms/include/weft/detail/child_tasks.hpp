#pragma once

// Child tasks: the one mechanism under gather, gather_settled, when_any, wait_for, shield and
// TaskGroup. A combinator (the *owner*, a task) spawns each piece of work as a child task
// and must never return while one of them still runs.
//
// Each child runs inside run_child(), which awaits the user's Task, stores how it ended in a
// Settled<T> slot that lives in the owner's frame, destroys the user's frame, and only then
// posts its ChildNode to the owner's CompletionQueue. The owner waits on that queue (one
// cancellable wait for "any child ended", which a JoinHandle cannot give: it waits for one
// task), so it learns of the first failure or the first winner in completion order.
//
// Leaving is always "cancel, then join": the owner cancels the children that may still run
// and awaits every child's JoinHandle. A cancel of the owner that arrives during a join
// interrupts only that await (the JoinHandle was not consumed), so the owner notes it and
// awaits the same handle again; join_all() reports whether that happened, and the
// combinator then ends in CancelledError (or, for a TaskGroup with failures, re-arms it).
// This does not depend on whether the runtime also cancels a joinee when its joiner is
// cancelled: the owner cancels children explicitly.
//
// A child whose work ended in CancelledError ends in ChildCancelled, a CancelledError, so
// (a) the runtime counts it as cleanly cancelled (a child that returns normally after a
// cancel was delivered counts as having swallowed it) and (b) the owner can tell, at a join,
// the child's CancelledError (ChildCancelled: the join is done) from its own (plain
// CancelledError: the join was interrupted). Every other outcome is caught into the slot,
// so a child task never ends in an exception the runtime would report as unobserved.
//
// Lifetime: the slot, the node and the queue live in the owner's frame. A child touches them
// only inside run_child's body, which ends before the child task completes, and the owner
// joins every child before its frame goes — so no child ever sees them dangle. (At a forced
// runtime shutdown frames are destroyed without resuming; run_child's locals touch nothing
// of the owner's in their destructors.)

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <mutex>
#include <span>
#include <tuple>
#include <utility>
#include <vector>

#include "weft/detail/require_task.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/wait_list.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/sleep.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft::detail {

// How a child's work ended, as the owner needs it without looking into the Settled slot.
enum class ChildEnding { value, error, cancelled };

// One child's notice to its owner. Lives in the owner's frame (or a TaskGroup's list).
struct ChildNode {
  ChildNode* next = nullptr;                // link in the CompletionQueue, under its mutex
  std::size_t index = 0;                    // set by the owner before the child is spawned
  ChildEnding ending = ChildEnding::value;  // written by the child before it posts the node
};

// The child's ending when its work ended in CancelledError: still a CancelledError for the
// runtime's bookkeeping, but recognisable at the owner's join (see the top comment).
class ChildCancelled : public CancelledError {};

// The ended children of one owner, in the order they ended, and the owner waiting for the
// next one. Any number of children post (from any loop); only the owner waits, so at most
// one waiter is ever linked. A node stays queued until the owner takes it, so a wake-up that
// races with a cancel of the owner hands on nothing: the next wait finds the node.
class CompletionQueue {
 public:
  CompletionQueue() = default;
  CompletionQueue(const CompletionQueue&) = delete;
  CompletionQueue& operator=(const CompletionQueue&) = delete;

  // The child's last act in run_child. Touches nothing of the node or queue after unlock.
  void post(ChildNode& node) noexcept {
    ListWaiter* waiter = nullptr;
    {
      std::lock_guard lock(mutex_);
      node.next = nullptr;
      if (tail_ != nullptr) {
        tail_->next = &node;
      } else {
        head_ = &node;
      }
      tail_ = &node;
      waiter = waiters_.pop_front();
    }
    if (waiter != nullptr) wake_list_waiter(*waiter);
  }

  class NextAwaiter {
   public:
    explicit NextAwaiter(CompletionQueue& queue) noexcept : queue_(queue) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> caller) {
      TaskHeader* self = current_task();
      if (self == nullptr) throw_no_current_task("co_await a weft combinator");
      std::unique_lock lock(queue_.mutex_);
      if (queue_.head_ == nullptr)
        return suspend_on(queue_.waiters_, waiter_, lock, caller, queue_.label_,
                          WaitKind::children);
      lock.unlock();
      // A node is there: go on at once, unless the cooperative budget says to let others run.
      if (consume_budget()) return false;
      self->yield_from(caller);
      return true;
    }
    ChildNode& await_resume() {
      if (resumed_cancelled()) throw CancelledError();  // the node stays for the next wait
      std::lock_guard lock(queue_.mutex_);
      ChildNode* node = queue_.head_;
      queue_.head_ = node->next;
      if (queue_.head_ == nullptr) queue_.tail_ = nullptr;
      return *node;
    }

   private:
    CompletionQueue& queue_;
    ListWaiter waiter_;
  };

  // `co_await queue.next()`: the next child to have ended (the oldest not yet taken).
  // Cancellable: throws CancelledError and takes nothing.
  [[nodiscard]] NextAwaiter next() noexcept { return NextAwaiter{*this}; }

  // What the owner's wait is called in errors and task dumps (a string literal).
  void set_label(const char* label) noexcept { label_ = label; }

 private:
  const char* label_ = "co_await a weft combinator (its children)";
  std::mutex mutex_;
  ChildNode* head_ = nullptr;
  ChildNode* tail_ = nullptr;
  WaitList waiters_;
};

// The body of every child task. `task` is destroyed (with its frame, so the work's locals
// and parameters) before the node is posted: once the owner hears of the end, the work's
// destructors have run.
template <class T>
Task<void> run_child_body(Task<T> task, Settled<T>* slot, CompletionQueue* queue, ChildNode* node) {
  ChildEnding ending = ChildEnding::value;
  {
    Task<T> work = std::move(task);
    try {
      if constexpr (std::is_void_v<T>) {
        co_await std::move(work);
        slot->emplace_value();
      } else {
        slot->emplace_value(co_await std::move(work));
      }
    } catch (const CancelledError&) {
      slot->set_error(std::current_exception());
      ending = ChildEnding::cancelled;
    } catch (...) {
      slot->set_error(std::current_exception());
      ending = ChildEnding::error;
    }
  }
  node->ending = ending;
  queue->post(*node);
  if (ending == ChildEnding::cancelled) throw ChildCancelled();
}

// The child task: run_child_body, marked so that the runtime always runs it (even when it
// is cancelled before its first run) and never turns a late cancel into its outcome — the
// owner waits for its node and reads its ending from the slot.
template <class T>
Task<void> run_child(Task<T> task, Settled<T>* slot, CompletionQueue* queue, ChildNode* node) {
  Task<void> child = run_child_body(std::move(task), slot, queue, node);
  child.handle().promise().set_reports_own_end();
  return child;
}

// Awaits one child's JoinHandle until it is really joined. True if the awaiting task was
// cancelled meanwhile (each such cancel was consumed here; the caller delivers it).
inline Task<bool> join_child(JoinHandle<void>& handle) {
  bool owner_cancelled = false;
  for (;;) {
    try {
      co_await handle;
      break;
    } catch (const ChildCancelled&) {
      break;
    } catch (const CancelledError&) {
      owner_cancelled = true;  // only this await was interrupted: join again
    }
  }
  co_return owner_cancelled;
}

// Awaits every handle (see join_child). Call after cancelling the children that may run.
inline Task<bool> join_all(std::span<JoinHandle<void>> handles) {
  bool owner_cancelled = false;
  for (JoinHandle<void>& handle : handles) {
    if (!handle.valid()) continue;  // never spawned (spawn itself threw)
    for (;;) {
      try {
        co_await handle;
        break;
      } catch (const ChildCancelled&) {
        break;
      } catch (const CancelledError&) {
        owner_cancelled = true;
      }
    }
  }
  co_return owner_cancelled;
}

inline void cancel_all(std::span<JoinHandle<void>> handles) noexcept {
  for (JoinHandle<void>& handle : handles) handle.cancel();  // an ended child ignores it
}

// When supervise() stops waiting for children and cancels the rest.
enum class StopAt {
  first_failure,  // gather: a child ended in an exception (CancelledError included)
  never,          // gather_settled: every child runs to its end
  first_end,      // when_any: any child ended
};

// The owner's side of a fixed set of `handles.size()` children (all spawned, unless
// `spawn_error` says spawning failed part-way): waits for their ends in completion order
// until `stop` says to stop, then cancels what may still run and joins every child. Returns
// the node that stopped the wait, or nullptr if all ended first.
//
// A cancel of the owner, at any point before this returns, stops the wait, cancels every
// child and — after all are joined — comes out as CancelledError. It wins over a child's
// failure found before it: the caller asked this task to stop, and every child's exception
// in that window is most likely the cancel's own echo.
inline Task<ChildNode*> supervise(CompletionQueue& queue, std::span<JoinHandle<void>> handles,
                                  std::exception_ptr spawn_error, StopAt stop) {
  ChildNode* stopped_at = nullptr;
  bool owner_cancelled = false;
  if (!spawn_error) {
    for (std::size_t ended = 0; ended < handles.size(); ++ended) {
      try {
        ChildNode& node = co_await queue.next();
        if (stop == StopAt::first_end ||
            (stop == StopAt::first_failure && node.ending != ChildEnding::value)) {
          stopped_at = &node;
          break;
        }
      } catch (const CancelledError&) {
        owner_cancelled = true;
        break;
      }
    }
  }
  if (owner_cancelled || stopped_at != nullptr || spawn_error) cancel_all(handles);
  owner_cancelled |= co_await join_all(handles);
  if (owner_cancelled) throw CancelledError();
  if (spawn_error) std::rethrow_exception(spawn_error);
  co_return stopped_at;
}

// The children of a homogeneous fan-out (a vector of tasks): slot, node and handle each.
template <class T>
class ChildVector {
 public:
  explicit ChildVector(std::size_t n) : slots(n), nodes(n), handles(n) {}

  // Spawns one child per task. If a spawn throws, the exception is returned and the children
  // already spawned are left for supervise() to cancel and join.
  std::exception_ptr spawn(std::vector<Task<T>>& tasks) noexcept {
    try {
      for (std::size_t i = 0; i < tasks.size(); ++i) {
        nodes[i].index = i;
        handles[i] = weft::spawn(run_child(std::move(tasks[i]), &slots[i], &queue, &nodes[i]));
      }
    } catch (...) {
      return std::current_exception();
    }
    return nullptr;
  }

  std::vector<Settled<T>> slots;
  std::vector<ChildNode> nodes;
  std::vector<JoinHandle<void>> handles;
  CompletionQueue queue;
};

// The children of a heterogeneous fan-out (a pack of tasks).
template <class... Ts>
class ChildTuple {
 public:
  static constexpr std::size_t size = sizeof...(Ts);

  std::exception_ptr spawn(std::tuple<Task<Ts>...>& tasks) noexcept {
    try {
      spawn_each(tasks, std::index_sequence_for<Ts...>{});
    } catch (...) {
      return std::current_exception();
    }
    return nullptr;
  }

  // The exception of child `index` (which ended in one).
  [[nodiscard]] std::exception_ptr error_at(std::size_t index) const noexcept {
    std::exception_ptr out;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((I == index ? (void)(out = std::get<I>(slots).error()) : void()), ...);
    }
    (std::index_sequence_for<Ts...>{});
    return out;
  }

  std::tuple<Settled<Ts>...> slots;
  std::array<ChildNode, size> nodes;
  std::array<JoinHandle<void>, size> handles;
  CompletionQueue queue;

 private:
  template <std::size_t... I>
  void spawn_each(std::tuple<Task<Ts>...>& tasks, std::index_sequence<I...>) {
    // A fold over the comma operator runs left to right: children start in argument order.
    ((nodes[I].index = I,
      handles[I] = weft::spawn(
          run_child(std::move(std::get<I>(tasks)), &std::get<I>(slots), &queue, &nodes[I]))),
     ...);
  }
};

// A child that only waits: wait_for's timer.
inline Task<void> sleep_until_task(Clock::time_point deadline) { co_await sleep_until(deadline); }

}  // namespace weft::detail

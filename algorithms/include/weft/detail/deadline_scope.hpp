#pragma once

// What every deadline of the toolkit runs: wait_for, timeout_at and weft::timeout's
// TimeoutScope. The work runs in the awaiting task, under a TaskDeadline
// (weft/detail/task_deadline.hpp explains the mechanism: a deadline is a field of the task
// that its loop arms only when the task suspends, and its expiry is a cancel of the task).
//
// So the work is never spawned and nothing is thrown on the success path; a Task that
// finishes without suspending never arms a timer. Because the work is part of the awaiting
// task, wait_for cannot return before the work has ended, and a cancel of the awaiting task
// reaches the work directly.
//
// Outcome: the work's own value or exception stands, also one it produced after the
// deadline's cancel reached it (asyncio: a value returned after the cancel wins). A work
// that ends in CancelledError gives TimeoutError if its scope's deadline fired and nothing
// else cancelled the task; CancelledError otherwise. A deadline already passed when the
// scope starts never starts a Task.

#include <exception>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "weft/detail/task_deadline.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/timeout_error.hpp"

namespace weft {
class TimeoutScope;  // timeout.hpp
}

namespace weft::detail {

// When a scope's deadline is: absolute, relative to when the scope starts (Tasks are lazy:
// wait_for counts from its start, not from its creation), or none.
struct DeadlineSpec {
  static DeadlineSpec at(std::optional<Clock::time_point> t) noexcept {
    DeadlineSpec s;
    s.at_ = t;
    return s;
  }
  static DeadlineSpec after(Clock::duration d) noexcept {
    DeadlineSpec s;
    s.after_ = d;
    s.relative_ = true;
    return s;
  }
  [[nodiscard]] std::optional<Clock::time_point> resolve() const {
    if (relative_) return Clock::now() + after_;
    return at_;
  }
  // Whether `resolve()`'s deadline had already passed: for a relative one, no second read
  // of the clock (a clock read is a fair share of a ready wait_for's cost).
  [[nodiscard]] bool passed(const TaskDeadline& deadline) const noexcept {
    return relative_ ? after_ <= Clock::duration::zero() : deadline.passed();
  }

 private:
  std::optional<Clock::time_point> at_;
  Clock::duration after_{};
  bool relative_ = false;
};

// Drops a Task that must not run, without the never-awaited report: not running it was the
// point (asyncio's wait_for with a timeout <= 0 never starts a coroutine either).
template <class T>
void discard_unstarted(Task<T>& task) noexcept {
  if (!task.valid()) return;
  task.handle().promise().mark_started();
  task = Task<T>();
}

// The work ended in CancelledError (or never started): TimeoutError or CancelledError.
[[noreturn]] inline void throw_cancelled_ending(TaskDeadline& deadline) {
  if (deadline.end_cancelled() == TaskDeadline::Ending::timeout) throw TimeoutError();
  throw CancelledError();
}

// The scope object a deadline's work sees: the TaskDeadline itself for wait_for, a
// TimeoutScope (which wraps one) for weft::timeout.
inline TaskDeadline& deadline_of(TaskDeadline& deadline) noexcept { return deadline; }
TaskDeadline& deadline_of(TimeoutScope& scope) noexcept;  // defined in timeout.hpp

// Runs the Task that `make_work(scope)` returns under a new `Scope` with deadline `spec`.
template <class T, class Scope, class MakeWork>
Task<T> run_under_deadline(DeadlineSpec spec, MakeWork make_work) {
  Scope scope(spec.resolve());
  TaskDeadline& deadline = deadline_of(scope);
  Task<T> work = make_work(scope);
  if (spec.passed(deadline)) {
    discard_unstarted(work);
    deadline.expire_unstarted();
    throw_cancelled_ending(deadline);
  }
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(work);
      deadline.end_with_outcome();
    } else {
      T value = co_await std::move(work);  // a named T: no reference to a co_await temporary
      deadline.end_with_outcome();
      co_return std::forward<T>(value);
    }
  } catch (const CancelledError&) {
    throw_cancelled_ending(deadline);
  } catch (...) {
    deadline.end_with_outcome();
    throw;
  }
}

// Awaits an already spawned task under a deadline: a finished one gives its outcome
// whatever the deadline; a running one, when the deadline passes, is cancelled (awaiting a
// JoinHandle passes the awaiter's cancel on to the joinee) and joined. Its own outcome
// then wins unless it ended in CancelledError.
template <class T>
Task<T> run_handle_under_deadline(DeadlineSpec spec, JoinHandle<T> handle) {
  if (!handle.valid()) throw std::logic_error("weft: a timeout on an empty JoinHandle");
  if (handle.done()) co_return co_await handle;
  TaskDeadline deadline(spec.resolve());
  if (spec.passed(deadline)) deadline.expire_now();
  try {
    if constexpr (std::is_void_v<T>) {
      co_await handle;
      deadline.end_with_outcome();
      co_return;
    } else {
      T value = co_await handle;
      deadline.end_with_outcome();
      co_return std::forward<T>(value);
    }
  } catch (const CancelledError&) {
    // Decided below: a handler cannot co_await the joinee's outcome.
  } catch (...) {
    deadline.end_with_outcome();
    throw;
  }
  const TaskDeadline::Ending ending = deadline.end_cancelled();
  // The joinee has ended (a cancelled join still waits for that): what it ended with wins
  // over a timeout, unless it is the cancel itself.
  if (ending == TaskDeadline::Ending::timeout && handle.done() && !handle.cancelled())
    co_return co_await handle;
  if (ending == TaskDeadline::Ending::timeout) throw TimeoutError();
  throw CancelledError();
}

}  // namespace weft::detail

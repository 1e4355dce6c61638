#pragma once

// weft::wait_for / weft::timeout_at: await a task with a time limit (asyncio.wait_for,
// asyncio.timeout_at).
//
//   try {
//     Reply r = co_await weft::wait_for(fetch(url), 500ms);
//   } catch (const weft::TimeoutError&) { ... }  // fetch was cancelled and has finished
//
//   auto h = weft::spawn(fetch(url));             // or a task already running
//   Reply r = co_await weft::wait_for(std::move(h), 500ms);
//
// The work runs as a child; a timer task sleeps until the deadline. When the deadline comes
// first, the work is cancelled and then *awaited*: wait_for does not return before it has
// ended, however long its clean-up takes (asyncio 3.12 does the same; older versions could
// leave it running). Then:
// - it ended in CancelledError: TimeoutError;
// - it ended otherwise — swallowed the cancel and returned a value, or threw something else
//   while cleaning up — that outcome wins: the value is returned, the exception rethrown.
//
// A deadline already passed (a timeout <= 0), as asyncio's test_waitfor pins down:
// - a Task that has not started never starts: TimeoutError, and its body never runs;
// - a JoinHandle whose task has finished gives that task's outcome (value or exception);
// - a JoinHandle whose task still runs: the task is cancelled and joined, as above.
//
// A JoinHandle is taken by value: wait_for owns the task from then on. Cancelling it (the
// deadline, or a cancel of the awaiting task) cancels the handle's task, exactly as for a
// Task, and wait_for joins it before returning.
//
// Nested scopes: only the scope whose deadline fired turns its work's CancelledError into
// TimeoutError — and when several expire at the same moment, only the outermost of them
// (every time, on any number of loops; see detail/deadline_scope.hpp for how). A cancel of
// the task awaiting wait_for cancels the work, waits for it, and comes out as
// CancelledError — also when the deadline passed at the same moment, and also when the work
// had already produced a value (the cancel is never lost). So an outer timeout that expires
// while an inner wait_for runs reaches the inner one as CancelledError, and the outer turns
// that into its TimeoutError.
//
// wait_for measures the timeout from when the returned Task starts, not from when it was
// created (Tasks are lazy). For a deadline that can move while the work runs, see
// weft::timeout (timeout.hpp).

#include <chrono>
#include <utility>

#include "weft/detail/deadline_scope.hpp"
#include "weft/join_handle.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/timeout_error.hpp"

namespace weft {

template <class T>
[[nodiscard]] Task<T> timeout_at(Task<T> task, Clock::time_point deadline) {
  detail::DeadlineScope scope(deadline);
  co_return co_await detail::run_under(scope, std::move(task));
}

template <class T>
[[nodiscard]] Task<T> timeout_at(JoinHandle<T> handle, Clock::time_point deadline) {
  detail::DeadlineScope scope(deadline);
  co_return co_await detail::run_under(scope, std::move(handle));
}

template <class T, class Rep, class Period>
[[nodiscard]] Task<T> wait_for(Task<T> task, std::chrono::duration<Rep, Period> timeout) {
  detail::DeadlineScope scope(Clock::now() + std::chrono::ceil<Clock::duration>(timeout));
  co_return co_await detail::run_under(scope, std::move(task));
}

template <class T, class Rep, class Period>
[[nodiscard]] Task<T> wait_for(JoinHandle<T> handle, std::chrono::duration<Rep, Period> timeout) {
  detail::DeadlineScope scope(Clock::now() + std::chrono::ceil<Clock::duration>(timeout));
  co_return co_await detail::run_under(scope, std::move(handle));
}

}  // namespace weft

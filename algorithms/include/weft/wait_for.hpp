#pragma once

/// @file
/// weft::wait_for / weft::timeout_at: await a task with a time limit (asyncio.wait_for,
/// asyncio.timeout_at).
///
///   try {
///     Reply r = co_await weft::wait_for(fetch(url), 500ms);
///   } catch (const weft::TimeoutError&) { ... }  // fetch was cancelled and has finished
///
///   auto h = weft::spawn(fetch(url));             // or a task already running
///   Reply r = co_await weft::wait_for(std::move(h), 500ms);
///
/// The work runs in the awaiting task, as asyncio.timeout runs its block: it is not spawned,
/// and no timer exists until the task first suspends inside it (work that is ready at once
/// costs a few stores). When the deadline comes first, the task is cancelled: the work gets
/// CancelledError at the suspension it is in (or its next one), and wait_for returns only
/// once the work has ended, however long its clean-up takes (asyncio 3.12 does the same).
/// Then:
/// - it ended in CancelledError: TimeoutError;
/// - it ended otherwise — swallowed the cancel and returned a value, or threw something else
///   while cleaning up — that outcome wins: the value is returned, the exception rethrown.
///
/// A deadline already passed (a timeout <= 0), as asyncio's test_waitfor pins down:
/// - a Task that has not started never starts: TimeoutError, and its body never runs;
/// - a JoinHandle whose task has finished gives that task's outcome (value or exception);
/// - a JoinHandle whose task still runs: the task is cancelled and joined, as above.
///
/// A JoinHandle is taken by value: wait_for owns the task from then on. The deadline, or a
/// cancel of the awaiting task, cancels the handle's task (awaiting a handle passes a cancel
/// on), and wait_for joins it before returning.
///
/// Nested scopes: only the scope whose deadline fired turns the work's CancelledError into
/// TimeoutError — and when several have expired, only the outermost of them (every time, on
/// any number of loops; see weft/detail/task_deadline.hpp). A cancel of the task awaiting
/// wait_for reaches the work and comes out as CancelledError, also when the deadline passed
/// at the same moment. So an outer timeout that expires while an inner wait_for runs reaches
/// the inner one as CancelledError, and the outer turns that into its TimeoutError.
///
/// wait_for measures the timeout from when the returned Task starts, not from when it was
/// created (Tasks are lazy). For a deadline that can move while the work runs, see
/// weft::timeout (timeout.hpp).

#include <chrono>
#include <utility>

#include "weft/detail/deadline_scope.hpp"
#include "weft/join_handle.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/timeout_error.hpp"

namespace weft {

template <class T>
/// Awaits `task`, cancelling it at `deadline`; see this file's description.
[[nodiscard]] Task<T> timeout_at(Task<T> task, Clock::time_point deadline) {
  return detail::run_under_deadline<T, detail::TaskDeadline>(
      detail::DeadlineSpec::at(deadline),
      [work = std::move(task)](detail::TaskDeadline&) mutable { return std::move(work); });
}

template <class T>
/// As the Task form, for a task already spawned, which timeout_at then owns.
[[nodiscard]] Task<T> timeout_at(JoinHandle<T> handle, Clock::time_point deadline) {
  return detail::run_handle_under_deadline(detail::DeadlineSpec::at(deadline), std::move(handle));
}

template <class T, class Rep, class Period>
/// Awaits `task`, cancelling it after `timeout`; see this file's description.
[[nodiscard]] Task<T> wait_for(Task<T> task, std::chrono::duration<Rep, Period> timeout) {
  return detail::run_under_deadline<T, detail::TaskDeadline>(
      detail::DeadlineSpec::after(std::chrono::ceil<Clock::duration>(timeout)),
      [work = std::move(task)](detail::TaskDeadline&) mutable { return std::move(work); });
}

template <class T, class Rep, class Period>
/// As the Task form, for a task already spawned, which wait_for then owns.
[[nodiscard]] Task<T> wait_for(JoinHandle<T> handle, std::chrono::duration<Rep, Period> timeout) {
  return detail::run_handle_under_deadline(
      detail::DeadlineSpec::after(std::chrono::ceil<Clock::duration>(timeout)), std::move(handle));
}

}  // namespace weft

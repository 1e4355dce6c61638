#pragma once

// weft::wait_for / weft::timeout_at: await a task with a time limit (asyncio.wait_for,
// asyncio.timeout_at).
//
//   try {
//     Reply r = co_await weft::wait_for(fetch(url), 500ms);
//   } catch (const weft::TimeoutError&) { ... }  // fetch was cancelled and has finished
//
// The task runs as a child; a timer child sleeps until the deadline. When the deadline comes
// first, the work is cancelled and then *awaited*: wait_for does not return before it has
// ended, however long its clean-up takes (asyncio 3.12 does the same; older versions could
// leave it running). Then:
// - it ended in CancelledError: TimeoutError;
// - it ended otherwise — swallowed the cancel and returned a value, or threw something else
//   while cleaning up — that outcome wins: the value is returned, the exception rethrown.
// A deadline already passed (zero timeout) cancels the work at once; work that finishes
// without reaching a suspension (an already-available result) still returns its value.
//
// Scopes nest without confusion because each scope's work is its own task: only the scope
// whose own timer fired turns its work's CancelledError into TimeoutError. A cancel of the
// task awaiting wait_for cancels the work, waits for it, and comes out as CancelledError —
// also when the deadline passed at the same moment, and also when the work had already
// produced a value (the cancel is never lost). So an outer timeout that expires while an
// inner wait_for runs reaches the inner one as CancelledError, and the outer turns that into
// its TimeoutError.
//
// wait_for measures the timeout from when the returned Task starts, not from when it was
// created (Tasks are lazy).

#include <chrono>
#include <exception>
#include <type_traits>
#include <utility>

#include "weft/detail/child_tasks.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/sleep.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"
#include "weft/timeout_error.hpp"

namespace weft {

template <class T>
[[nodiscard]] Task<T> timeout_at(Task<T> task, Clock::time_point deadline) {
  Settled<T> work_slot;
  Settled<void> timer_slot;
  detail::CompletionQueue queue;
  detail::ChildNode work_node{.index = 0};
  detail::ChildNode timer_node{.index = 1};
  // [0] the work, [1] the timer (none if the deadline already passed).
  JoinHandle<void> handles[2];
  bool timed_out = false;
  bool owner_cancelled = false;

  handles[0] = spawn(detail::run_child(std::move(task), &work_slot, &queue, &work_node));
  if (Clock::now() >= deadline) {
    timed_out = true;
    handles[0].cancel();
  } else {
    std::exception_ptr spawn_error;
    try {
      handles[1] = spawn(
          detail::run_child(detail::sleep_until_task(deadline), &timer_slot, &queue, &timer_node));
    } catch (...) {
      spawn_error = std::current_exception();
    }
    if (spawn_error) {  // cannot time the work: stop it, join it, say why
      handles[0].cancel();
      if (co_await detail::join_all(handles)) throw CancelledError();
      std::rethrow_exception(spawn_error);
    }
  }

  // Until the work has ended: the timer firing or a cancel of ours cancels it — once: the
  // second of the two must not interrupt the clean-up the first started — and we go on
  // waiting for it. Each of our cancels is consumed here and delivered below.
  bool work_cancelled = timed_out;
  for (bool work_ended = false; !work_ended;) {
    try {
      detail::ChildNode& node = co_await queue.next();
      if (&node == &work_node) {
        work_ended = true;
      } else if (node.ending == detail::ChildEnding::value) {  // the timer fired
        timed_out = true;
      }
    } catch (const CancelledError&) {
      owner_cancelled = true;
    }
    if ((timed_out || owner_cancelled) && !work_cancelled) {
      work_cancelled = true;
      handles[0].cancel();
    }
  }
  handles[1].cancel();  // may still sleep; a fired timer ignores it
  if (co_await detail::join_all(handles)) owner_cancelled = true;

  if (owner_cancelled) throw CancelledError();
  if (timed_out && work_node.ending == detail::ChildEnding::cancelled) throw TimeoutError();
  co_return std::move(work_slot).value();
}

template <class T, class Rep, class Period>
[[nodiscard]] Task<T> wait_for(Task<T> task, std::chrono::duration<Rep, Period> timeout) {
  const Clock::time_point deadline = Clock::now() + std::chrono::ceil<Clock::duration>(timeout);
  co_return co_await timeout_at(std::move(task), deadline);
}

}  // namespace weft

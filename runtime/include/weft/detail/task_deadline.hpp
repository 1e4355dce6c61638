#pragma once

// TaskDeadline: a deadline on the running task. wait_for, timeout_at and weft::timeout run
// their work *in the awaiting task* (the work is co_awaited, not spawned) under one of these,
// as asyncio.timeout does: when the deadline passes, the task is cancelled, and the scope
// turns the CancelledError that comes out of the work into TimeoutError.
//
// What it costs. A scope is an object in the awaiting coroutine's frame, pushed on a stack
// of scopes that the task's header points to. Nothing else happens while the work runs
// without suspending: work that is ready at once never arms a timer and never throws. When
// the task suspends inside a scope, the loop that ran it arms one timer node per unarmed
// scope (the loop checks one flag after each run). Ending the scope unlinks that node: on
// the node's own loop at once; from another loop (the task was stolen) by posting it back,
// as a cancelled sleep does.
//
// Firing. The node's loop requests the deadline's cancel of the task
// (TaskHeader::request_deadline_cancel): delivered like any cancel (a waiting task is woken
// with CancelledError, a running one gets it at its next suspension). As in asyncio, the
// task counts its unanswered cancel requests (Task.cancelling()): every cancel of the task
// and every deadline's request adds one; a scope whose deadline fired answers its own at
// its end (uncancel), and compares what is left with the count it started with.
//
// Outcome, at the scope's end:
// - The work ended with a value or an exception other than CancelledError: that stands. A
//   fired scope answers its request; with no request left, a delivery still pending (the
//   work finished before a suspension received it) is withdrawn.
// - The work ended in CancelledError and the deadline fired: TimeoutError if, once the
//   scope has answered its request, no more are left than when it started (and none was
//   pending then); CancelledError otherwise — another cancel of the task came, or an
//   enclosing scope expired too.
// - Before deciding, an enclosing scope whose deadline has passed but whose timer has not
//   fired (it may be due on another loop) is counted as fired now. So with nested scopes
//   that expire together, the outermost turns the cancel into its TimeoutError, whichever
//   loop's timer ran first (asyncio: nested timeouts with the same deadline); an inner
//   scope started after an outer one's cancel was swallowed still times out itself.
//
// Threads. Only the task that runs the scope touches it (construct, reschedule, end,
// destroy), so apart from the node's state word nothing is shared: the loop that arms the
// nodes does so while it still holds the task (RUNNING), and the node's loop reads only the
// node.

#include <chrono>
#include <cstdint>
#include <optional>

#include "weft/runtime_export.hpp"
#include "weft/sleep.hpp"

namespace weft::detail {

class TaskHeader;
struct TimerNode;

class WEFT_RUNTIME_API TaskDeadline {
 public:
  using Deadline = std::optional<Clock::time_point>;  // nullopt: no deadline

  enum class Ending {
    stands,     // the work's own outcome is the scope's
    timeout,    // TimeoutError
    cancelled,  // CancelledError goes on
  };

  // Pushes the scope on the current task's stack. From inside a weft task.
  explicit TaskDeadline(Deadline deadline);
  TaskDeadline(const TaskDeadline&) = delete;
  TaskDeadline& operator=(const TaskDeadline&) = delete;
  // Unlinks its timer and pops the scope.
  ~TaskDeadline();

  [[nodiscard]] Deadline deadline() const noexcept;
  // The deadline has passed and its cancel went out (or the work never started).
  [[nodiscard]] bool expired() const noexcept;
  // True if the deadline has already passed (then the work must not start).
  [[nodiscard]] bool passed() const noexcept;

  // A new deadline (nullopt: none). One already passed expires the scope at once (the work
  // gets CancelledError at its next suspension). Throws std::logic_error after expiry, and
  // when called from another task than the scope's.
  void reschedule(Deadline deadline);

  // The deadline passed before the work started: it never will (then end_cancelled()).
  void expire_unstarted() noexcept;
  // The deadline passed before the scope began awaiting running work: cancel the task now.
  void expire_now() noexcept;

  // The work ended in CancelledError (or, never started, the deadline having passed).
  [[nodiscard]] Ending end_cancelled() noexcept;
  // The work ended otherwise (a value, or another exception).
  void end_with_outcome() noexcept;

  // For the loop, after a run of `task` that suspended: arms every scope of the task that
  // needs a timer, on the calling loop. (Out of memory for a timer ends the process: the
  // loop has no task to report it to.)
  static void arm_all(TaskHeader& task) noexcept;

 private:
  static constexpr std::int64_t kNone = INT64_MAX;

  // Unlinks the timer node, if armed; notes whether it fired.
  void disarm() noexcept;
  // Counts every enclosing scope whose deadline has passed but has not fired as fired.
  void expire_passed_enclosing() noexcept;

  TaskHeader* const task_;
  TaskDeadline* enclosing_;  // changes only if an enclosing scope ends out of order
  std::int64_t deadline_ns_;
  TimerNode* node_ = nullptr;
  std::uint32_t requests_at_start_;
  bool pending_at_start_;
  bool delivered_at_start_;
  bool fired_ = false;  // the deadline's cancel went out (or is taken as done: see above)
};

}  // namespace weft::detail

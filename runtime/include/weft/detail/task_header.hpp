#pragma once

// TaskHeader: the scheduler's view of one spawned task, and the two small state machines
// every suspension in weft goes through.
//
// 1. Scheduling (`sched_`): RUNNING while a loop is inside resume(); NOTIFIED while the task
//    is in a run queue or owes one. schedule() sets NOTIFIED and enqueues only if neither bit
//    was set, so a task is never in two queues and never runs on two loops at once: a wake
//    that arrives while the task is still RUNNING (the waker got there before resume()
//    returned) is left as NOTIFIED, and the loop re-queues the task when resume() returns.
//    This keeps every frame single-threaded at any instant, whatever the compiler does
//    around await_suspend.
//
// 2. Waiting (`wait_`): a cancellable suspension (sleep, fd wait, join) publishes a
//    *registration* with some waker (a timer heap, an fd's readiness word, a joinee) and
//    then sets WAITING. Exactly one of two parties consumes a registration:
//      - the waker, which calls wake(): WAITING -> idle, schedule;
//      - a canceller, which claims it (WAITING -> WAITING|CLAIMED) and asks the waker's
//        structure to remove it. If the removal succeeds the canceller schedules the task;
//        if the waker had already taken the registration, whichever of the two finishes
//        last (WOKEN vs DEREG_FAILED) schedules it.
//    Invariant: a registration is gone from its waker's structure before its task resumes,
//    so no waker ever touches a task (or the awaiter in its frame) that has moved on. No
//    generation counters, no stale entries, no reference counts held by registrations.
//    A waker may fire between publishing and WAITING (another loop's reactor or a joinee
//    finishing on another core): it leaves WOKEN, and commit_wait() does not suspend.
//    CANCEL is the request itself: set by request_cancel(), consumed by take_cancel() when
//    the task resumes; a request that arrives while the task is not waiting is delivered at
//    its next cancellable suspension (commit_wait sees it and cancels itself).
//    CLOSED ends the protocol: the loop completing the task sets it in one RMW that also
//    reads CANCEL, and request_cancel() refuses a closed task. So every accepted request is
//    either delivered (take_cancel) or seen by the completer, which decides what it meant
//    (JoinHandle's top comment states the rule): a task cancelled before it first runs
//    never runs; one that cancelled itself and then returned a value ends cancelled
//    (asyncio's rule); one that another task or thread cancelled after its last wake-up
//    keeps its outcome, and the completer counts the request as unseen. A task that *saw*
//    the CancelledError and caught it keeps whatever it returned.
//
// The atomics are private: they change only through the member functions below and the join
// protocol's two friends (join.cpp), and each of those names the operation it pairs with.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "weft/detail/intrusive_list.hpp"
#include "weft/runtime_export.hpp"

namespace weft::detail {

class Loop;
class Scheduler;
class TaskHeader;
class TaskPromiseBase;
class TaskDeadline;

// How a canceller removes a registration from its waker's structure.
enum class Deregistration {
  removed,    // gone: the waker will never call wake()
  in_flight,  // the waker already took it and will call wake()
  deferred,   // removal runs later on the waker's loop, which calls finish_cancel()
};

struct WaitRegistration {
  Deregistration (*deregister)(TaskHeader& task, void* context) = nullptr;
  void* context = nullptr;
};

enum class WakeResult { scheduled, claimed_by_canceller, early };

// What a waiting task waits on, in a form a task dump (weft/task_dump.hpp) can print without
// touching the thing waited on: that may be gone by the time the dump reads the note, so the
// note holds only numbers and static strings, never a pointer the dump follows.
enum class WaitKind : std::uint8_t {
  unknown,    // published by no awaiter (a custom one): the dump says "waiting"
  sleep,      // value: the deadline, ns on the runtime's clock
  fd_read,    // value: the fd
  fd_write,   // value: the fd
  join,       // value: the joined task's id
  primitive,  // what: the operation; value: the primitive's address; count: waiters ahead
  children,   // what: the combinator waiting for its children to end
  to_thread,  // what: a slot or the job; count: calls queued ahead for a slot
  signal,     // value: the awaited signals, bit n-1 for signal n
};

struct WaitNote {
  WaitKind kind = WaitKind::unknown;
  std::uint32_t count = 0;
  std::uint64_t value = 0;
  const char* what = nullptr;  // a string literal (static storage), or nullptr
};

// The list node base holds the registry links (runtime/src/task_list.hpp): only the owning
// loop's thread (or, for owner_ == nullptr, whoever holds the foreign registry's lock) reads
// or writes them.
class WEFT_RUNTIME_API TaskHeader : public IntrusiveListNode<TaskHeader> {
 public:
  // sched_ bits
  static constexpr std::uint32_t kRunning = 1u << 0;
  static constexpr std::uint32_t kNotified = 1u << 1;
  static constexpr std::uint32_t kComplete = 1u << 2;
  static constexpr std::uint32_t kJoinWaiter = 1u << 3;
  static constexpr std::uint32_t kDetached = 1u << 4;
  // The runtime destroyed the frame without running it to the end, and the outcome is
  // CancelledError: at a forced shutdown, or for a cancel request the task never saw.
  static constexpr std::uint32_t kDiscarded = 1u << 5;
  // The task ended by cancellation (set together with kComplete).
  static constexpr std::uint32_t kEndedCancelled = 1u << 6;
  // wait_ bits
  static constexpr std::uint32_t kWaiting = 1u << 0;
  static constexpr std::uint32_t kCancel = 1u << 1;
  static constexpr std::uint32_t kClaimed = 1u << 2;
  static constexpr std::uint32_t kWoken = 1u << 3;
  static constexpr std::uint32_t kDeregFailed = 1u << 4;
  static constexpr std::uint32_t kClosed = 1u << 5;  // completed: no cancel request accepted
  // The high bits count the cancel requests not yet answered (asyncio's Task.cancelling()):
  // every request_cancel() and every deadline's request adds one, also when a request is
  // already pending (each is an RMW on wait_), and only a deadline scope that answers its own
  // takes one away (uncancel). A scope compares the count with the one it started with to
  // tell its own expiry from a cancel of the task (task_deadline.hpp). 24 bits: a task would
  // need 16M unanswered requests to wrap it.
  static constexpr unsigned kRequestCountShift = 8;
  static constexpr std::uint32_t kRequestCountOne = 1u << kRequestCountShift;
  static constexpr std::uint32_t kRequestCountMask = ~(kRequestCountOne - 1);

  // Constructed by make_spawned_task (spawned_task.hpp) in the room in front of `root`'s frame
  // (task_frame.hpp): the header and the frame are one block.
  TaskHeader(Scheduler* scheduler, std::coroutine_handle<> root,
             TaskPromiseBase* root_promise) noexcept
      : scheduler_(scheduler), root_(root), root_promise_(root_promise), resume_point_(root) {}
  TaskHeader(const TaskHeader&) = delete;
  TaskHeader& operator=(const TaskHeader&) = delete;

  // --- references -----------------------------------------------------------------------
  void add_ref() noexcept {
    // Relaxed: a new reference is made from an existing one, which keeps the task alive.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: the last release must see every other holder's writes before destroying.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy_block();
  }

  // --- scheduling -------------------------------------------------------------------------
  // Makes the task runnable: from a loop of its runtime into that loop's queues, from
  // anywhere else into the runtime's injection queue.
  void schedule() noexcept;

  // Shutdown only, with every loop stopped: destroys the suspended frame and marks the task
  // complete-and-discarded, so a JoinHandle still held gets CancelledError.
  void abandon() noexcept;

  // For the completing loop: destroys the frame (parameters, promise, a value returned)
  // before the task is marked complete with kDiscarded.
  void discard_frame() noexcept;

  // True once complete with a frame the runtime destroyed (see kDiscarded): the promise is
  // gone, the outcome is CancelledError.
  [[nodiscard]] bool is_discarded() const noexcept {
    // Acquire, like is_complete(): the bit is set in the completing RMW.
    return (sched_.load(std::memory_order_acquire) & kDiscarded) != 0;
  }
  // True once the task has completed by cancellation.
  [[nodiscard]] bool ended_cancelled() const noexcept {
    // Acquire pairs with the completing acq_rel RMW that set both bits.
    constexpr std::uint32_t both = kComplete | kEndedCancelled;
    return (sched_.load(std::memory_order_acquire) & both) == both;
  }

  [[nodiscard]] bool is_complete() const noexcept {
    // Acquire pairs with the completing loop's acq_rel RMW that set kComplete, so the
    // result written by the task is visible to whoever observes completion.
    return (sched_.load(std::memory_order_acquire) & kComplete) != 0;
  }

  // --- waiting (called by the task itself, on the thread running it) ----------------------
  void prepare_wait(std::coroutine_handle<> resume_at, WaitRegistration reg,
                    const WaitNote& note = {}) noexcept {
    resume_point_ = resume_at;
    registration_ = reg;
    publish_wait_note(note);
  }
  // Returns true if the task must suspend, false if it was woken (or cancelled) already.
  [[nodiscard]] bool commit_wait() noexcept;
  // Suspend-and-requeue with no registration (yield, an exhausted budget).
  void yield_from(std::coroutine_handle<> resume_at) noexcept {
    resume_point_ = resume_at;
    schedule();
  }
  // True (and the request consumed) if a cancel is pending: the awaiter then throws.
  [[nodiscard]] bool take_cancel() noexcept;

  // --- waking and cancelling (any thread) -------------------------------------------------
  WakeResult wake() noexcept;
  // False if the task has completed (CLOSED), true if the request was accepted (or one was
  // already pending): it will be delivered, or seen by the completer.
  bool request_cancel() noexcept;
  // A deadline's request (task_deadline.hpp): delivered like any other, and counted. From
  // any thread; never on a completed task (its scopes have ended).
  void request_deadline_cancel() noexcept;
  // A deadline that has passed but whose timer has not fired yet: counted as a request
  // without a new delivery (the CancelledError already on its way answers it). By the task.
  void count_deadline_request() noexcept;
  // By the task, for a deadline scope that answers its own request: one request fewer; with
  // none left, a pending delivery goes too. Returns the count left.
  std::uint32_t uncancel() noexcept;
  // Second half of a cancel whose deregistration returned `deferred`.
  void finish_cancel(bool removed) noexcept;

  [[nodiscard]] bool cancel_requested() const noexcept {
    return (wait_.load(std::memory_order_relaxed) & kCancel) != 0;
  }
  // The count of unanswered cancel requests (see kRequestCountShift). By the task itself.
  [[nodiscard]] std::uint32_t cancel_request_count() const noexcept {
    return wait_.load(std::memory_order_relaxed) >> kRequestCountShift;
  }

  // True while a wake() is recorded that nobody has consumed yet (kWoken): the waker fired
  // before the task committed its wait, or before its canceller finished. A relaxed snapshot
  // for tests: it orders nothing.
  [[nodiscard]] bool has_unconsumed_wake() const noexcept {
    return (wait_.load(std::memory_order_relaxed) & kWoken) != 0;
  }

  // --- for the loop -----------------------------------------------------------------------
  [[nodiscard]] std::coroutine_handle<> resume_point() const noexcept { return resume_point_; }
  [[nodiscard]] bool root_done() const noexcept { return root_.done(); }
  [[nodiscard]] Scheduler* scheduler() const noexcept { return scheduler_; }
  [[nodiscard]] TaskPromiseBase* root_promise() const noexcept { return root_promise_; }

  // A loop took the task from a run queue: NOTIFIED -> RUNNING in one RMW (a queued task has
  // NOTIFIED set and RUNNING clear).
  void begin_run() noexcept {
    // Acquire pairs with the release that queued it (schedule()'s RMW, or end_run()'s on the
    // loop that ran it last): resume_point and the frame's state, as the last loop to run it
    // left them, are visible here.
    sched_.fetch_xor(kNotified | kRunning, std::memory_order_acquire);
  }
  // The run ended with the task suspended: clears RUNNING. True if a wake-up came during the
  // run (NOTIFIED): the task is owed a queue, and the caller queues it.
  [[nodiscard]] bool end_run() noexcept {
    // acq_rel: release publishes what the task wrote (resume_point, its frame) to the next
    // loop that runs it (begin_run); acquire sees a NOTIFIED set by a waker (schedule())
    // during the run.
    return (sched_.fetch_and(~kRunning, std::memory_order_acq_rel) & kNotified) != 0;
  }
  // The completing loop closes the task to cancel requests (CLOSED). True if a request was
  // pending that the task never saw (not delivered at a suspension).
  [[nodiscard]] bool close_to_cancel() noexcept {
    // The race with request_cancel() is decided by the RMWs' total order on wait_ alone;
    // acq_rel, like wait_'s other RMWs, keeps the wait protocol's happens-before chain through
    // this word unbroken (no read here relies on it).
    return (wait_.fetch_or(kClosed, std::memory_order_acq_rel) & kCancel) != 0;
  }
  // The completing loop ends the task: clears RUNNING and sets kComplete with the rest of
  // `outcome` (kDiscarded, kEndedCancelled). Returns the bits before: with kJoinWaiter the
  // caller wakes joiner(); with kDetached nobody will take the result.
  [[nodiscard]] std::uint32_t mark_complete(std::uint32_t outcome) noexcept {
    std::uint32_t before = sched_.load(std::memory_order_relaxed);
    // acq_rel: release publishes the result to whoever sees kComplete (is_complete(),
    // join_handle_dropped); acquire reads the joiner_ that publish_join_waiter published with
    // kJoinWaiter.
    while (!sched_.compare_exchange_weak(before, (before & ~kRunning) | outcome,
                                         std::memory_order_acq_rel, std::memory_order_relaxed)) {
    }
    return before;
  }
  // The task awaiting this one; read only after mark_complete() returned kJoinWaiter.
  [[nodiscard]] TaskHeader* joiner() const noexcept { return joiner_; }

  // The registry the task is in (its links are the IntrusiveListNode base): the loop that
  // spawned it, or nullptr for the scheduler's foreign registry.
  Loop* owner_ = nullptr;
  // Link in the owner's stack of tasks that completed on another loop.
  TaskHeader* remote_next_ = nullptr;

  // For reports only. A task spawned on a loop numbers from that loop's own counter, with
  // (loop index + 1) in the bits from kIdLoopShift up, so no shared counter is touched on the
  // spawn path; tasks spawned from outside take the scheduler's counter (top bits 0).
  static constexpr unsigned kIdLoopShift = 48;
  std::uint64_t id_ = 0;
  // The innermost deadline scope the task runs in (task_deadline.hpp), and whether some
  // scope on that stack still needs its timer: the loop arms it when the task suspends.
  // Only the task's own runs touch these, and the loop running it before it clears RUNNING.
  TaskDeadline* deadline_top_ = nullptr;
  bool deadline_unarmed_ = false;
  // The name shown in reports. Any thread may rename a task (JoinHandle, TaskRef) while its
  // loop formats a report: name_ is read and written only under name_lock_, by copy.
  [[nodiscard]] std::string name() const;
  void set_name(std::string name);
  // Before the task is shared (spawn): no lock needed.
  void init_name(std::string&& name) noexcept;
  // Set by the loop on the task's first run (ordered like cancel_delivered_ below): a task
  // whose cancel was requested before that never enters its body.
  bool body_started_ = false;
  // Set by the task itself when a cancel is delivered to it (take_cancel); read by the loop
  // that completes it, after its last run (ordered by the sched_ transitions). A task that
  // then ends other than by CancelledError swallowed the cancel: counted in the metrics.
  bool cancel_delivered_ = false;
  // Set by request_cancel() when the running task asks to cancel itself (its own handle,
  // current_task()), cleared with the delivery (take_cancel). Written and read only by the
  // task's own runs and the loop completing it after its last run (ordered like
  // cancel_delivered_): the completer ends such a task cancelled even if it returned.
  bool self_cancel_pending_ = false;
  // Beside the flags, in what was padding: the dump's fields below, and since_ticks_.
  std::atomic<std::uint16_t> run_loop_{0};  // the loop index + 1 of the last run; 0: none yet
  unsigned spawn_line_ = 0;                 // with spawn_file_
  std::atomic<std::uint32_t> since_ticks_{0};

  // --- for task dumps (runtime/src/task_dump.cpp), which read a task from any thread -------
  // Where spawn() was called (file null: not recorded) and the root coroutine's function, set
  // before the task is shared and constant after: the dump reads them while the frame may be
  // being destroyed, so they are copies, not the promise's. (The spawn line sits beside the
  // flags above, in what was padding.)
  const char* spawn_file_ = nullptr;
  const char* coroutine_ = nullptr;
  // The task the dump shows this one under: the spawner, or the task owning the TaskGroup
  // it was spawned into. Relaxed: a label, ordering nothing.
  std::atomic<std::uint64_t> parent_id_{0};
  // When the task entered its present state (its loop's clock as of the loop's last look:
  // Loop::clock_ns, stale by at most a maintenance interval; in ticks of 2^20 ns, about 1 ms,
  // modulo 2^32: a dump subtracts modulo 2^32 too, right for any state shorter than 52 days;
  // a shift, not a division, on every run and wait), and on which loop
  // it last began to run: written by the task's runs and by wake-ups, read by dumps. Relaxed:
  // each is one word a dump prints; a dump racing with a transition may pair a state with
  // the previous state's time, which it says is approximate.
  // The task changed state at `now_ns` (a loop's clock_ns): queued by a waker on a loop, or
  // suspended at the end of a run (stamped by the loop while the task is still RUNNING; a
  // waker's stamp may race with it, and either time is close).
  void note_state_change(std::int64_t now_ns) noexcept {
    since_ticks_.store(to_since_ticks(now_ns), std::memory_order_relaxed);
  }
  // Queued by a thread outside the loops, which has no cheap clock: the time is unknown.
  void forget_since() noexcept { since_ticks_.store(0, std::memory_order_relaxed); }
  void note_run(unsigned loop, std::int64_t now_ns) noexcept {
    run_loop_.store(static_cast<std::uint16_t>(loop + 1), std::memory_order_relaxed);
    since_ticks_.store(to_since_ticks(now_ns), std::memory_order_relaxed);
  }
  // 0 means "not known", so every time maps to an odd tick (an error of at most one tick).
  static constexpr unsigned kSinceTickShift = 20;
  static std::uint32_t to_since_ticks(std::int64_t ns) noexcept {
    return static_cast<std::uint32_t>(static_cast<std::uint64_t>(ns) >> kSinceTickShift) | 1u;
  }
  // The last wait's note, consistent (a seqlock with the task as its only writer: its runs
  // are ordered by sched_). False if the task was writing it on every try.
  [[nodiscard]] bool read_wait_note(WaitNote& out) const noexcept;
  [[nodiscard]] std::uint32_t since_ticks() const noexcept {
    return since_ticks_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] unsigned spawn_line() const noexcept { return spawn_line_; }
  // The loop the task last began to run on, or -1 if it has not run yet.
  [[nodiscard]] int last_run_loop() const noexcept {
    return static_cast<int>(run_loop_.load(std::memory_order_relaxed)) - 1;
  }
  [[nodiscard]] std::uint32_t sched_bits() const noexcept {
    return sched_.load(std::memory_order_relaxed);  // a snapshot for dumps: orders nothing
  }
  [[nodiscard]] std::uint32_t wait_bits() const noexcept {
    return wait_.load(std::memory_order_relaxed);  // a snapshot for dumps: orders nothing
  }

 private:
  void publish_wait_note(const WaitNote& note) noexcept {
    // The single writer's half of a seqlock: odd while writing. The release fence keeps the
    // odd store before the fields; the release store of the even number keeps them before it.
    // A reader that sees the same even number before and after its reads saw one note.
    const std::uint32_t seq = note_seq_.load(std::memory_order_relaxed);
    note_seq_.store(seq + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    note_kind_.store(static_cast<std::uint8_t>(note.kind), std::memory_order_relaxed);
    note_count_.store(note.count, std::memory_order_relaxed);
    note_value_.store(note.value, std::memory_order_relaxed);
    note_what_.store(note.what, std::memory_order_relaxed);
    note_seq_.store(seq + 2, std::memory_order_release);
  }

  // The join protocol (join.cpp) sets kJoinWaiter and kDetached on sched_ and publishes
  // joiner_. Friends rather than public members: no other code may set those bits, and the
  // protocol's orderings stay next to each other in one file.
  friend bool publish_join_waiter(TaskHeader& joinee, TaskHeader& joiner) noexcept;
  friend void join_handle_dropped(TaskHeader& task) noexcept;

  void run_deregistration() noexcept;
  // The last reference is gone: destroys the frame if it is still there, then this header,
  // and frees their block.
  void destroy_block() noexcept;

  std::atomic<std::uint32_t> sched_{kNotified};
  std::atomic<std::uint32_t> wait_{0};
  // Two from the start: the JoinHandle's and the registry's. Every header is made by
  // make_spawned_task and registered by submit_spawn right after, so the registry's reference
  // needs no locked add on the spawn path.
  std::atomic<std::uint32_t> refs_{2};
  std::atomic<std::uint32_t> note_count_{0};  // the wait note's (beside: what was padding)
  // Written by the joiner before it publishes kJoinWaiter (release), read by the completer
  // after mark_complete() saw kJoinWaiter (acquire).
  TaskHeader* joiner_ = nullptr;

  // Null when unnamed (most tasks): one word in every frame's header room instead of a
  // std::string's four, at the price of an allocation per named task.
  std::unique_ptr<std::string> name_;
  // A spin lock: renames are rare and the critical sections copy one short string.
  mutable std::atomic<bool> name_lock_{false};
  // The wait note's kind and sequence (the rest is below), in what was padding.
  std::atomic<std::uint8_t> note_kind_{0};
  std::atomic<std::uint32_t> note_seq_{0};
  friend class NameLock;

  Scheduler* const scheduler_;
  const std::coroutine_handle<> root_;
  TaskPromiseBase* const root_promise_;
  // Written by the task while RUNNING; read by the next loop to resume it after that loop's
  // RUNNING transition (acquire), which follows the writer's release of RUNNING or NOTIFIED.
  std::coroutine_handle<> resume_point_;
  WaitRegistration registration_;
  std::atomic<std::uint64_t> note_value_{0};
  std::atomic<const char*> note_what_{nullptr};
};

// The task being run by this thread's loop, or nullptr outside a task. Not inline: a
// coroutine that moved to another loop must not reuse a thread-local address computed
// before it suspended, so every access is a real call.
[[nodiscard]] WEFT_RUNTIME_API TaskHeader* current_task() noexcept;

// The cooperative budget: an operation that completes without suspending spends one unit;
// when the budget is spent it returns false and the awaiter suspends through yield instead,
// so a task that always finds data ready still lets its loop poll I/O and timers.
[[nodiscard]] WEFT_RUNTIME_API bool consume_budget() noexcept;

// I/O pays for the work it did, not only for the operation: a read or write that moved
// `bytes` charges them against the run's byte allowance (256 KiB), and spending it spends
// the whole budget, so the task's next ready operation yields. Without it a task sending a
// file in 256 KiB pieces to a fast reader ran 128 pieces (32 MiB) per run.
WEFT_RUNTIME_API void charge_budget_for_io(std::size_t bytes) noexcept;

}  // namespace weft::detail

#pragma once

// Loop: one event loop on one thread. The scheduling algorithm, its invariants and the
// shutdown order are described at the top of loop.cpp.

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include "io_state.hpp"
#include "parker.hpp"
#include "reactor.hpp"
#include "registry_guard.hpp"
#include "reporting.hpp"
#include "task_list.hpp"
#include "timer_queue.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/work_stealing_deque.hpp"
#include "weft/metrics.hpp"

namespace weft::detail {

class Scheduler;
class SignalHub;

// CLOCK_MONOTONIC in ns: real time, whatever the runtime's clock (spinning, stall reports).
std::int64_t monotonic_ns() noexcept;

// A counter with a single writer thread, read by others: load + store, no locked
// instruction on the hot path. Release/acquire (free on x86) so that the shutdown
// quiescence check can reason with happens-before over the spawn and completion counts.
class OwnerCounter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_release);
  }
  [[nodiscard]] std::uint64_t get() const noexcept {
    return value_.load(std::memory_order_acquire);
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Loop {
 public:
  using Deque = WorkStealingDeque<TaskHeader*>;

  Loop(Scheduler& scheduler, unsigned index, std::size_t deque_capacity);
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  ~Loop();

  void run();  // the thread body

  [[nodiscard]] unsigned index() const noexcept { return index_; }
  // The tasks that were running when this loop began its shutdown (once it has exited).
  [[nodiscard]] const PendingTasks& pending_at_shutdown() const noexcept {
    return pending_at_shutdown_;
  }
  [[nodiscard]] Scheduler& scheduler() noexcept { return scheduler_; }
  [[nodiscard]] TaskHeader* current_task() const noexcept { return current_task_; }
  // The clock (monotonic ns) as of the loop's last look: at each maintenance and after each
  // park. Owner thread only; what task dumps' "for how long" is measured with (a word read,
  // no clock read, so the run path can afford it).
  [[nodiscard]] std::int64_t clock_ns() const noexcept { return clock_ns_; }
  [[nodiscard]] bool consume_budget() noexcept { return budget_ > 0 && --budget_ > 0; }
  void charge_io(std::size_t bytes) noexcept {
    if (bytes < io_allowance_) {
      io_allowance_ -= bytes;
    } else {
      io_allowance_ = 0;
      budget_ = 0;
    }
  }

  // --- owner thread only -----------------------------------------------------------------
  void schedule_local(TaskHeader* task);  // a wake-up issued on this loop's thread
  void spawn_local(TaskHeader* task);     // a new task from a task on this loop
  [[nodiscard]] TimerQueue& timers() noexcept { return timers_; }
  // This loop's time in ns: its simulated clock (loop_simulation.cpp), or CLOCK_MONOTONIC.
  [[nodiscard]] std::int64_t now_ns() const noexcept {
    return simulated_ ? virtual_now_ : monotonic_ns();
  }
  void retire_io(IoState* state) noexcept;
  void cancel_timer_here(TimerNode* node) noexcept;

  // --- any thread -------------------------------------------------------------------------
  void add_io(IoState* state);  // epoll_ctl is thread-safe; the state is complete before it
  // Before the loop's thread starts: registers this loop's signalfd of `hub` with the
  // reactor; its edges are read on this thread (signal_hub.hpp).
  void watch_signals(SignalHub& hub);
  void post_timer_cancel(TimerNode* node);
  void post_io_retire(IoState* state);
  void post_remote_completion(TaskHeader* task) noexcept;
  void unpark() noexcept { parker_.unpark(); }
  [[nodiscard]] Reactor& reactor() noexcept { return reactor_; }
  [[nodiscard]] const Deque::Stealer& stealer() const noexcept { return stealer_; }
  [[nodiscard]] bool has_queued_work() const noexcept;
  // A simulated loop's clock as a task dump on another thread may read it (see now_ns()).
  [[nodiscard]] std::int64_t simulated_now_for_dump() const noexcept {
    return virtual_now_published_.load(std::memory_order_relaxed);
  }
  // For task dumps, from any thread: appends every task of this loop's registry to `out`,
  // each with a reference the caller releases. Never waits for the loop: it holds the
  // registry's lock for a bounded number of tasks at a time (loop.cpp says how a walk
  // survives the loop's changes in between). False if the registry changed so much under
  // the walk that some tasks may be missing.
  bool snapshot_registry(std::vector<TaskHeader*>& out);
  [[nodiscard]] LoopMetrics metrics() const noexcept;
  // The fds this loop's reactor watches (registered and not yet retired): its share of the
  // connections, for least_loaded_loop(). A moment's value, read without ordering.
  [[nodiscard]] std::size_t registered_fds() const noexcept {
    return registered_fds_.load(std::memory_order_relaxed);
  }

  // For the stall monitor: odd while a task is running; bumped at every task start and end.
  [[nodiscard]] std::uint64_t run_sequence() const noexcept {
    return run_seq_.load(std::memory_order_relaxed);
  }
  // The monitor flags a run it reported, so the loop can name the task when it suspends.
  void flag_stall(std::uint64_t run_seq, std::int64_t first_seen_ns) noexcept;
  // The monitor saw run `run_seq` on two samples: let thieves take the LIFO slot.
  void expose_lifo(std::uint64_t run_seq) noexcept;
  // A thief's attempt at an exposed LIFO slot; nullptr if not exposed or empty.
  [[nodiscard]] TaskHeader* steal_lifo() noexcept;

  // Tasks spawned / completed by this loop, for the shutdown quiescence check.
  OwnerCounter spawned_count;
  OwnerCounter completed_count;

  // --- shutdown (see loop.cpp), called by ~Scheduler with every loop thread joined ------
  // Processes the mailboxes, frees timers and forgets queued tasks (all loops, first).
  void drain_after_stop() noexcept;
  // Destroys the frames of tasks that outlived the grace period (then, all loops).
  void abandon_remaining() noexcept;
  // Drops the registry's references (last).
  void release_registry() noexcept;

 private:
  TaskHeader* next_task();
  TaskHeader* take_injected();
  void run_task(TaskHeader* task);
  // body_ran is false when a task cancelled before its first run is ended unstarted.
  void complete(TaskHeader* task, bool body_ran = true);
  void push_back(TaskHeader* task);
  bool maintenance(std::int64_t timeout_ns);
  bool drain_mailboxes();
  void drain_remote_completions() noexcept;
  void fire_timers();
  // Out of work: take some from another loop or the injection queue, and return the task to
  // run first (nullptr if none). They stop this loop's search when they find one.
  [[nodiscard]] TaskHeader* steal();
  [[nodiscard]] TaskHeader* spin_for_work();
  void park();
  void park_for(std::int64_t timeout_ns);
  std::int64_t park_timeout_ns();
  // A task in the LIFO slot, the deque or the seeded run list.
  [[nodiscard]] bool has_local_work() const noexcept {
    return lifo_slot_.load(std::memory_order_relaxed) != nullptr || deque_.size() > 0 ||
           !seeded_ready_.empty();
  }
  // --- simulated time (loop_simulation.cpp) ---------------------------------------------
  // Points the thread's weft::Clock at this loop's simulated clock (or back to the real one).
  void bind_clock(bool bind) noexcept;
  // A parking loop with timers pending: jumps the clock to the next deadline and fires it,
  // unless work is in sight or on its way (a to_thread job).
  void park_simulated();
  [[nodiscard]] TaskHeader* next_task_seeded();
  void begin_shutdown();
  void report_stall_end(TaskHeader* task);

  Scheduler& scheduler_;
  const unsigned index_;
  Reactor reactor_;
  Parker parker_{reactor_};
  Deque::Owner deque_;
  Deque::Stealer stealer_;

  // The LIFO slot: put and taken by the owner; taken by a thief only when exposed (see
  // steal_lifo). Exchanges on both sides decide who gets the task.
  std::atomic<TaskHeader*> lifo_slot_{nullptr};
  std::atomic<std::uint64_t> lifo_exposed_{0};  // the run_seq_ the monitor exposed it for

  // Owner-only scheduling state.
  unsigned lifo_streak_ = 0;
  // The current run has put a task in the LIFO slot: its later wake-ups and spawns queue
  // behind, in order (schedule_local).
  bool lifo_filled_this_run_ = false;
  std::uint64_t tick_ = 0;
  std::uint64_t next_id_ = 0;
  TaskHeader* current_task_ = nullptr;
  int budget_ = 0;
  std::size_t io_allowance_ = 0;  // bytes of I/O left in this run (charge_io)
  bool searching_ = false;
  bool shutdown_seen_ = false;
  bool dispatching_io_ = false;   // inside the reactor's dispatch (maintenance)
  bool io_wake_pending_ = false;  // that dispatch made the deque non-empty
  unsigned fruitless_spins_ = 0;  // spins in a row that found no work (spin_for_work)
  unsigned spin_skips_ = 0;
  std::minstd_rand rng_;
  TimerQueue timers_;
  // Simulated time (RuntimeOptions::simulated_time), constant after construction but the
  // clock: only this thread reads or writes them.
  const bool simulated_;
  const bool seeded_;  // picks the next task at random among the runnable ones
  std::int64_t virtual_now_ = 0;
  // virtual_now_ for task dumps on other threads (written at each jump; relaxed: a dump
  // prints times relative to it, ordering nothing).
  std::atomic<std::int64_t> virtual_now_published_{0};
  std::uint64_t seed_state_ = 0;
  // Seeded only: every runnable task of this loop (no LIFO slot, no deque), picked from at
  // random by next_task_seeded.
  std::vector<TaskHeader*> seeded_ready_;
  // Written by add_io from any thread (an fd may be registered here from another loop);
  // relaxed: it lets maintenance skip epoll_wait(0) when no fd is registered, and
  // least_loaded_loop() compare the loops, and neither orders anything by it.
  std::atomic<std::size_t> registered_fds_{0};
  // Changed only by this thread, always under registry_guard_'s owner side, so a dump on
  // another thread can walk it under the dump side (snapshot_registry).
  TaskList registry_;
  RegistryGuard registry_guard_;
  std::int64_t clock_ns_ = 0;  // see clock_ns()
  // Filled by begin_shutdown on this loop's thread; read by ~Scheduler after the join.
  PendingTasks pending_at_shutdown_;
  // Set before the thread starts, then constant: its address is the signalfd's cookie.
  SignalHub* signal_hub_ = nullptr;

  // Cross-thread mailboxes, drained by the owner between tasks and after every park.
  moodycamel::ConcurrentQueue<TimerNode*> timer_cancels_;
  moodycamel::ConcurrentQueue<IoState*> io_retired_;
  // Tasks owned (registered) here that completed on another loop: a Treiber stack that is
  // only ever pushed and emptied whole, so it has no ABA problem.
  std::atomic<TaskHeader*> remote_completed_{nullptr};

  std::atomic<std::uint64_t> run_seq_{0};
  std::atomic<std::uint64_t> stall_flag_{0};
  std::atomic<std::int64_t> stall_first_seen_ns_{0};

  OwnerCounter tasks_run_, spawned_local_, injected_taken_, steals_, steal_attempts_, parks_,
      wakeups_, timers_fired_, io_events_, stalls_, cancels_swallowed_, cancels_unseen_;
};

// The loop running on this thread, or nullptr (a real call, see current_task()).
[[nodiscard]] Loop* current_loop() noexcept;

}  // namespace weft::detail

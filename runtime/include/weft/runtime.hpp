#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <latch>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "weft/detail/block_on.hpp"
#include "weft/join_handle.hpp"
#include "weft/metrics.hpp"
#include "weft/report.hpp"
#include "weft/runtime_export.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"
#include "weft/task_dump.hpp"

namespace weft {

/// RuntimeOptions::simulated_time: a virtual clock for tests and simulations
/// (docs/simulated-time.md). Weft's Clock then starts at 0 on the loop and, whenever the loop
/// has nothing to run and timers are pending, jumps at once to the earliest deadline.
struct SimulatedTime {
  /// Unset: tasks runnable at once run in weft's usual order (deterministic on one loop).
  /// Set: the loop picks each next task pseudo-randomly among the runnable ones, from a
  /// generator seeded with this value: the same seed gives the same interleaving run after
  /// run, another seed another one, so order-dependent bugs surface.
  std::optional<std::uint64_t> seed{};
};

/// How a Runtime is built; the defaults suit a server.
struct RuntimeOptions {
  /// Event loops, one thread each. 0 means one per core (std::thread::hardware_concurrency).
  unsigned loops = 0;
  /// A loop whose current task runs this long without suspending is reported. 0 disables.
  std::chrono::milliseconds stall_threshold{25};
  /// Cap on stall reports, so a pathological program cannot flood stderr.
  unsigned max_stall_reports_per_second = 4;
  /// At shutdown, tasks left are cancelled; any still running after this long have their
  /// frames destroyed without finishing (reported as shutdown_forced).
  std::chrono::milliseconds shutdown_grace{5000};
  /// At shutdown, one pending_at_shutdown report counts and names the tasks still running
  /// then (a detached ticker, a forgotten handle's task), which shutdown cancels: asyncio's
  /// "Task was destroyed but it is pending!". False: no report.
  bool report_pending_at_shutdown = true;
  /// Where reports go (thread-safe). Default: one line on stderr each.
  ReportSink on_report{};
  /// Initial slots of each loop's work-stealing deque (it grows). Tests shrink it so the
  /// growth paths run; 256 matches a typical burst of spawns between two steals.
  std::size_t deque_capacity = 256;
  /// Workers of the oneTBB arena that runs weft::to_thread's jobs. 0 means one per core.
  /// Started on the first to_thread call, so a runtime that never calls it starts none.
  unsigned to_thread_threads = 0;
  /// to_thread jobs in flight at once; a call beyond waits, FIFO.
  std::size_t max_to_thread_jobs = 512;
  /// Signals the runtime takes over for its life, for weft::signal (weft/signal.hpp): blocked
  /// on all its threads from its start (on the constructing thread too, until the Runtime is
  /// destroyed), read through one signalfd per loop, and given a disposition that reroutes
  /// one landing on a thread weft does not own, so that one sent to the process is never
  /// lost and never runs the previous disposition; masks and dispositions are restored at
  /// the end. Checked by the constructor: std::invalid_argument for SIGKILL, SIGSTOP, the
  /// fault signals, SIGPIPE or a number that is no signal; std::logic_error for a signal
  /// another live Runtime took.
  std::vector<int> signals{};
  /// A signal that makes the runtime report a task dump (weft/task_dump.hpp) through
  /// on_report (ReportKind::task_dump; stderr by default): e.g. SIGUSR1, then
  /// `kill -USR1 <pid>` shows what every task is doing, also while the loops are stuck. 0
  /// (the default): none. Taken over like `signals` (masks, dispositions, one runtime per
  /// signal), and must not be one of them; send it to the process, not to one of its threads.
  int dump_signal = 0;
  /// Set: the runtime runs on simulated time (see SimulatedTime), for tests and simulations,
  /// never for a server. It has one loop: `loops` must be 0 or 1 (std::invalid_argument
  /// otherwise). Real I/O still works, but waiting for it never moves the clock.
  std::optional<SimulatedTime> simulated_time{};
};

/// A multi-loop runtime: N event loops on N threads sharing tasks by work stealing. Build one
/// per program (weft::run does), or embed one in a server and feed it tasks with spawn().
/// Destroying it cancels the tasks left, waits for them (up to shutdown_grace), joins the
/// threads and frees every frame.
///
/// SIGPIPE: a peer that closed its end makes a write fail with EPIPE, and calls that cannot
/// say MSG_NOSIGNAL (sendfile, write) also raise SIGPIPE, which by default ends the process.
/// weft leaves the process's disposition alone and blocks SIGPIPE in the signal mask of every
/// thread it starts, for that thread's life: the loop threads (so tasks, handlers, weft::io
/// and the HTTP server), the stall monitor, and each oneTBB worker before the first
/// to_thread job it runs (oneTBB's workers are shared by the process: one that ran a
/// to_thread job keeps SIGPIPE blocked afterwards). On those threads a write to a closed
/// peer returns EPIPE and never kills the process; threads a task or a job starts inherit
/// the mask. The thread that calls run() or block_on() only waits, and its mask is not
/// touched for SIGPIPE. Your own threads are yours: one that writes to sockets or pipes must
/// use send(MSG_NOSIGNAL), block SIGPIPE with pthread_sigmask, or set a disposition for the
/// process, as it would without weft.
///
/// Other signals: the ones in RuntimeOptions::signals are blocked on every thread of the
/// runtime, the constructing thread included (from the constructor to the destructor, which
/// restores its mask when it runs on the same thread), and tasks wait for them with
/// weft::signal (weft/signal.hpp).
class WEFT_RUNTIME_API Runtime {
 public:
  /// Starts the loops, one thread each. Throws std::invalid_argument or std::logic_error for
  /// a RuntimeOptions::signals it refuses (see there).
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  /// Runs `task` on the loops and blocks this thread until it finishes; returns its value or
  /// rethrows its exception. Not callable from a loop thread (it would block that loop).
  template <class T>
  T block_on(Task<T> task) {
    detail::check_block_on_allowed(*scheduler_);
    const detail::SignalMaskScope signal_mask(*scheduler_);
    auto state = std::make_shared<detail::BlockOnState<T>>();
    // It must run to release the blocked thread, whatever cancels it (a shutdown).
    Task<void> root = detail::run_to_outcome(std::move(task), state);
    root.handle().promise().set_reports_own_end();
    spawn(std::move(root), {.name = "block_on"}, CallSite::unrecorded("weft::Runtime::block_on"))
        .detach();
    state->done.wait();
    return state->outcome.get();
  }

  /// Spawns from any thread: from outside the loops the task goes to the injection queue and
  /// wakes a parked loop.
  /// (Two overloads, as weft::spawn: no defaulted SpawnOptions for g++ 12 to relocate.)
  /// `site`, defaulted, records the line of the call for task dumps (dump()).
  template <class T>
  JoinHandle<T> spawn(Task<T> task, SpawnOptions options,
                      CallSite site = CallSite::here("weft::Runtime::spawn")) {
    detail::TaskHeader* spawned = detail::make_spawned_task(scheduler_.get(), std::move(task));
    detail::submit_spawn(spawned, std::move(options.name), site.origin());
    return JoinHandle<T>{spawned};
  }
  template <class T>
  /// As spawn(task, options), without a name.
  JoinHandle<T> spawn(Task<T> task, CallSite site = CallSite::here("weft::Runtime::spawn")) {
    detail::TaskHeader* spawned = detail::make_spawned_task(scheduler_.get(), std::move(task));
    detail::submit_spawn(spawned, std::string(), site.origin());
    return JoinHandle<T>{spawned};
  }

  /// The number of event loops.
  [[nodiscard]] unsigned loops() const noexcept;
  /// A snapshot of the counters, read while the loops run.
  [[nodiscard]] RuntimeMetrics metrics() const;
  /// What every live task is doing, as a tree (weft/task_dump.hpp). From any thread, also
  /// while a loop is stuck in a task: it never waits for a loop.
  [[nodiscard]] TaskDump dump() const;

 private:
  std::unique_ptr<detail::Scheduler> scheduler_;
};

/// asyncio.run: a runtime for the duration of one task.
template <class T>
T run(Task<T> task, RuntimeOptions options = {}) {
  Runtime runtime(std::move(options));
  return runtime.block_on(std::move(task));
}

}  // namespace weft

#pragma once

// ThreadPool: the oneTBB arena behind weft::to_thread, one per Runtime, and the slots that
// bound its in-flight jobs.
//
// Jobs. A job is submitted with arena.enqueue (FIFO-fair, runs only on TBB workers, never on
// the submitting loop). The worker runs it, frees its slot, lets go of the pool's job
// reference, wakes the awaiting task (a foreign wake: schedule() injects it), and last of
// all leaves `running_`. The awaiting task's registration never removes anything
// (deregistration answers in_flight after requesting stop), so a task resumes only after
// its job's wake: no job outlives its awaiter unseen.
//
// Slots. `in_flight_` counts slots held (a job submitted or about to be); at most
// `max_jobs_`. A caller finding none free waits in `waiters_`, a FIFO of ThreadSlotWaiter
// with the protocol of algorithms/include/weft/detail/wait_list.hpp (runtime/ cannot
// include algorithms/):
//   waiting:  lock; take a slot if one is free and nobody queues before us; else link,
//             prepare_wait(deregister_slot_waiter), unlock, commit_wait().
//   freeing:  lock; pop the oldest waiter and mark it granted (the slot passes to it,
//             in_flight_ unchanged) or, with nobody waiting, --in_flight_; unlock; wake it.
//   cancel:   lock; unlink if still linked (removed), else the freer has it (in_flight).
//   resuming: a cancelled waiter that was granted frees the slot again before throwing.
// Invariant: a waiter is linked only while its task waits for a slot, and is unlinked under
// `mutex_` before that task can resume.
//
// Shutdown. The Scheduler calls wait_idle() once its loops have stopped: no task runs, so no
// job can be submitted, and `running_` only falls. Every job that started runs to its end
// (jobs are never killed) and its last touch of the runtime — the wake, which may inject
// the task into the Scheduler's injection queue — happens before `running_` reaches zero,
// so the Scheduler may then drain queues and destroy frames.
//
// Workers. The arena is built with no slot reserved for an external thread (nobody ever
// joins it), and oneTBB's process-wide worker count is raised with a global_control so
// that `threads` workers can serve it at once; both only on the first job, so a runtime
// that never calls to_thread starts no TBB thread. A worker blocks SIGPIPE before the first
// job it runs for weft (weft/detail/sigpipe.hpp).
//
// Signals (RuntimeOptions::signals, signal_hub.hpp). Workers that oneTBB starts for this
// arena are started by a thread of the runtime (the one whose enqueue needed them) and
// inherit its mask. A worker started earlier, for other work, blocks them before its first
// job here: checked before every job (a thread-local flag, no syscall after the first).
// After every job the worker takes what is pending for it, so a job's raise() (a signal to
// its own thread, which no loop's signalfd can read) reaches the waiters before the job's
// awaiter is woken. That is one sigtimedwait per job, only in a runtime with signals.

#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "weft/metrics.hpp"
#include "weft/to_thread.hpp"

namespace weft::detail {

class SignalHub;

// The FIFO of tasks waiting for a slot; guarded by the pool's mutex.
using ThreadSlotQueue = IntrusiveList<ThreadSlotWaiter>;

class ThreadPool {
 public:
  // `threads` 0 means one per core; `max_jobs` must be at least 1. `signals` (may be null):
  // the runtime's taken-over signals, blocked and drained around each job.
  ThreadPool(unsigned threads, std::size_t max_jobs, SignalHub* signals);
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;
  ~ThreadPool();  // wait_idle(), then gives back the workers it asked oneTBB for

  [[nodiscard]] unsigned threads() const noexcept { return threads_; }

  // --- slots (see the protocol above) -----------------------------------------------------
  // True if a slot was taken at once; otherwise `w` is linked and its task must suspend.
  [[nodiscard]] bool take_slot_or_enqueue(ThreadSlotWaiter& w, TaskHeader& task,
                                          std::coroutine_handle<> caller);
  void free_slot() noexcept;
  static Deregistration deregister_slot_waiter(TaskHeader& task, void* context) noexcept;

  // --- jobs -------------------------------------------------------------------------------
  // Holding a slot: hands the job to a worker. On failure (out of memory) frees the slot
  // and rethrows; the job was not submitted.
  void submit(ThreadJobRef& job);
  // Blocks until every submitted job has ended. Only once no job can be submitted any more.
  void wait_idle() noexcept;
  // A job is submitted and not ended: its wake-up is still to come (simulated time waits).
  [[nodiscard]] bool busy() noexcept;

  void count_discarded() noexcept { discarded_.fetch_add(1, std::memory_order_relaxed); }
  void add_metrics(RuntimeMetrics& m) const noexcept;

 private:
  void start_workers();
  void run_job(ThreadJob* job) noexcept;

  const unsigned threads_;
  const std::size_t max_jobs_;
  SignalHub* const signals_;
  tbb::task_arena arena_;
  std::once_flag started_flag_;
  bool workers_requested_ = false;  // written inside call_once, read by the destructor

  std::mutex mutex_;
  std::condition_variable idle_cv_;
  std::size_t in_flight_ = 0;  // slots held; guarded by mutex_
  std::size_t running_ = 0;    // jobs submitted and not ended; guarded by mutex_
  ThreadSlotQueue waiters_;    // guarded by mutex_

  // Statistics only: relaxed. A reader that must see a count (a test after its await)
  // already has happens-before through the job's wake.
  std::atomic<std::uint64_t> started_{0};
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> discarded_{0};
  std::atomic<std::uint64_t> waited_{0};
};

}  // namespace weft::detail

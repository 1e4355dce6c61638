#pragma once

// Scheduler: what the loops of one Runtime share — the loops themselves, the injection
// queue, the idle set, the registry of tasks spawned from outside the loops, the stall
// monitor and the shutdown state. Runtime is its public face.

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "idle.hpp"
#include "loop.hpp"
#include "task_list.hpp"
#include "weft/runtime.hpp"

namespace weft::detail {

class SignalHub;
class StallMonitor;
class DumpOnSignal;
class ThreadPool;

class Scheduler {
 public:
  explicit Scheduler(RuntimeOptions options);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler();  // the shutdown sequence (scheduler.cpp)

  [[nodiscard]] const RuntimeOptions& options() const noexcept { return options_; }
  [[nodiscard]] unsigned num_loops() const noexcept { return static_cast<unsigned>(loops_.size()); }
  [[nodiscard]] Loop& loop(unsigned i) noexcept { return *loops_[i]; }
  [[nodiscard]] Idle& idle() noexcept { return idle_; }
  [[nodiscard]] ThreadPool& thread_pool() noexcept { return *thread_pool_; }
  // The signals taken over (RuntimeOptions::signals); nullptr if none.
  [[nodiscard]] SignalHub* signal_hub() const noexcept { return signal_hub_.get(); }

  // --- work from outside the loops --------------------------------------------------------
  void inject(TaskHeader* task);
  [[nodiscard]] moodycamel::ConcurrentQueue<TaskHeader*>& injection() noexcept {
    return injection_;
  }
  [[nodiscard]] bool injection_empty() const noexcept { return injection_.size_approx() == 0; }
  // New work was queued: wake a parked loop if no loop is searching (see idle.hpp).
  void notify_one() noexcept;
  [[nodiscard]] bool any_work_queued() const noexcept;

  void register_foreign(TaskHeader* task);
  void unlink_foreign(TaskHeader* task) noexcept;
  // For task dumps: appends the foreign registry's tasks to `out`, each with a reference.
  void snapshot_foreign(std::vector<TaskHeader*>& out);

  // --- shutdown ---------------------------------------------------------------------------
  // Acquire, paired with ~Scheduler's release store.
  [[nodiscard]] bool shutting_down() const noexcept {
    return shutting_down_.load(std::memory_order_acquire);
  }
  // Acquire, paired with request_stop()'s release store.
  [[nodiscard]] bool stop_requested() const noexcept {
    return stop_.load(std::memory_order_acquire);
  }
  // True when every task ever spawned has completed (see the argument in scheduler.cpp).
  [[nodiscard]] bool quiescent() const noexcept;
  void request_stop() noexcept;
  void cancel_foreign_tasks();
  // True once the loops have exited and their structures may be touched from this thread.
  [[nodiscard]] bool loops_stopped() const noexcept {
    return loops_stopped_.load(std::memory_order_acquire);
  }

  // --- diagnostics ------------------------------------------------------------------------
  void report(Report report) const;
  void loop_parking() noexcept;
  void loop_unparked() noexcept;
  [[nodiscard]] std::atomic<std::uint32_t>& active_loops() noexcept { return active_loops_; }
  [[nodiscard]] RuntimeMetrics metrics() const;

  [[nodiscard]] std::uint64_t next_task_id() noexcept {
    return next_task_id_.fetch_add(1, std::memory_order_relaxed) + 1;
  }

 private:
  RuntimeOptions options_;
  // First: its constructor blocks the signals on this thread before any thread starts (so
  // they all inherit the mask), and it is destroyed last, once every thread has ended.
  std::unique_ptr<SignalHub> signal_hub_;
  // weft::to_thread's workers. Declared early: destroyed after everything that may still
  // hold a job (frames are freed in ~Scheduler's body, after the pool went idle).
  std::unique_ptr<ThreadPool> thread_pool_;
  std::vector<std::unique_ptr<Loop>> loops_;
  Idle idle_;
  moodycamel::ConcurrentQueue<TaskHeader*> injection_;

  mutable std::mutex foreign_mutex_;
  TaskList foreign_registry_;     // guarded by foreign_mutex_
  PendingTasks foreign_pending_;  // guarded by foreign_mutex_; see Loop::pending_at_shutdown_
  std::atomic<std::uint64_t> foreign_spawned_{0};

  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> loops_stopped_{false};
  std::atomic<std::uint32_t> active_loops_{0};
  std::atomic<std::uint64_t> next_task_id_{0};

  std::mutex exit_mutex_;
  std::condition_variable exit_cv_;
  unsigned exited_ = 0;  // guarded by exit_mutex_

  std::unique_ptr<StallMonitor> monitor_;
  std::unique_ptr<DumpOnSignal> dump_on_signal_;  // RuntimeOptions::dump_signal's thread
  std::vector<std::thread> threads_;

  friend class Loop;
  void loop_exited();
};

}  // namespace weft::detail

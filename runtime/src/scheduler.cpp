#include "scheduler.hpp"

#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include "dump_on_signal.hpp"
#include "reporting.hpp"
#include "signal_hub.hpp"
#include "stall_monitor.hpp"
#include "thread_pool.hpp"
#include "weft/detail/sigpipe.hpp"

namespace weft::detail {

namespace {
unsigned resolve_loops(const RuntimeOptions& options) {
  const unsigned requested = options.loops;
  if (options.simulated_time) {
    // One loop: the clock jumps when the loop is idle, and a seed orders one run queue.
    if (requested > 1)
      throw std::invalid_argument("weft::RuntimeOptions::simulated_time: needs loops 0 or 1");
    return 1;
  }
  if (requested > 0xffff) throw std::invalid_argument("weft::RuntimeOptions::loops: at most 65535");
  if (requested != 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw != 0 ? hw : 1;
}
}  // namespace

Scheduler::Scheduler(RuntimeOptions options)
    : options_(std::move(options)),
      signal_hub_(options_.signals.empty() && options_.dump_signal == 0
                      ? nullptr
                      : std::make_unique<SignalHub>(options_.signals, resolve_loops(options_),
                                                    options_.dump_signal)),
      thread_pool_(std::make_unique<ThreadPool>(options_.to_thread_threads,
                                                options_.max_to_thread_jobs, signal_hub_.get())),
      idle_(resolve_loops(options_)) {
  RegistryGuard::init_process();  // before the loops start: they read its outcome
  const unsigned n = resolve_loops(options_);
  loops_.reserve(n);
  for (unsigned i = 0; i < n; ++i)
    loops_.push_back(std::make_unique<Loop>(*this, i, options_.deque_capacity));
  if (signal_hub_ && signal_hub_->has_loop_signals())
    for (unsigned i = 0; i < n; ++i) loops_[i]->watch_signals(*signal_hub_);
  if (signal_hub_ && signal_hub_->dump_fd() >= 0) {
    dump_on_signal_ = std::make_unique<DumpOnSignal>(*this, signal_hub_->dump_fd());
    signal_hub_->on_dump_signal(&DumpOnSignal::request, dump_on_signal_.get());
  }
  active_loops_.store(n, std::memory_order_relaxed);
  // The monitor reports stalls and, with several loops, exposes a busy loop's LIFO slot.
  if (options_.stall_threshold.count() > 0 || n > 1)
    monitor_ = std::make_unique<StallMonitor>(*this);
  threads_.reserve(n);
  for (unsigned i = 0; i < n; ++i) {
    threads_.emplace_back([this, i] {
      block_sigpipe_in_this_thread();  // before any task runs here: weft/detail/sigpipe.hpp
      loops_[i]->run();
    });
  }
}

// Shutdown:
//   1. shutting_down_ = true and every loop unparked. Each loop cancels the tasks in its
//      registry (loop 0 also the foreign one) and keeps running them; a task spawned from
//      now on is cancelled at birth.
//   2. Loops exit when quiescent() (request_stop), or when the grace period ends here first.
//   3. With every thread joined: mailboxes drained and timers freed on all loops first (a
//      cancel message may name a task of another loop's registry), then frames of tasks that
//      ignored the cancel destroyed, then the registries' references dropped.
Scheduler::~Scheduler() {
  if (current_loop() != nullptr && &current_loop()->scheduler() == this) {
    std::fputs("weft: a Runtime was destroyed from one of its own tasks; aborting\n", stderr);
    std::terminate();
  }
  // Release, paired with the loops' acquire loads (shutting_down()). No Dekker pattern needs
  // more: a parked loop learns of it through the unpark() below, whose seq_cst exchange on
  // its parker word it reads (begin_park/end_park, acquire) before it looks again; and
  // register_foreign's check is ordered against loop 0's cancel_foreign_tasks by
  // foreign_mutex_.
  // First: a dump on its thread reads the loops' registries, which the shutdown empties.
  if (signal_hub_) signal_hub_->on_dump_signal(nullptr, nullptr);
  dump_on_signal_.reset();
  shutting_down_.store(true, std::memory_order_release);
  for (auto& loop : loops_) loop->unpark();
  {
    std::unique_lock lock(exit_mutex_);
    const bool clean = exit_cv_.wait_for(lock, options_.shutdown_grace,
                                         [this] { return exited_ == loops_.size(); });
    if (!clean) {
      lock.unlock();
      request_stop();
    }
  }
  for (auto& t : threads_) t.join();
  {
    // The loops wrote theirs before exiting (the joins order it); the foreign one is
    // guarded by its mutex.
    PendingTasks pending;
    for (auto& loop : loops_) pending.merge(loop->pending_at_shutdown());
    {
      std::lock_guard lock(foreign_mutex_);
      pending.merge(foreign_pending_);
    }
    report_pending_at_shutdown(this, pending);
  }
  // No task runs now, so no to_thread job can start; the ones running end on their own and
  // may still wake (inject) their tasks: wait for them before draining and freeing.
  thread_pool_->wait_idle();
  monitor_.reset();
  loops_stopped_.store(true, std::memory_order_release);

  for (auto& loop : loops_) loop->drain_after_stop();
  TaskHeader* queued = nullptr;
  while (injection_.try_dequeue(queued)) {
  }
  for (auto& loop : loops_) loop->abandon_remaining();
  {
    std::vector<TaskHeader*> left;
    foreign_registry_.for_each([&](TaskHeader* t) {
      if (!t->is_complete()) left.push_back(t);
    });
    for (TaskHeader* t : left) {
      emit_report(this, {ReportKind::shutdown_forced, -1, describe_task(*t),
                         "weft: task " + describe_task(*t) +
                             " did not finish within the shutdown grace period after being "
                             "cancelled; its frame was destroyed"});
      t->abandon();
    }
  }
  for (auto& loop : loops_) loop->release_registry();
  foreign_registry_.for_each([&](TaskHeader* t) {
    foreign_registry_.unlink(t);
    t->release();
  });
  while (injection_.try_dequeue(queued)) {
  }
}

void Scheduler::inject(TaskHeader* task) {
  injection_.enqueue(task);
  notify_one();
}

void Scheduler::notify_one() noexcept {
  const int loop = idle_.loop_to_notify();
  if (loop >= 0) loops_[static_cast<unsigned>(loop)]->unpark();
}

bool Scheduler::any_work_queued() const noexcept {
  if (!injection_empty()) return true;
  for (const auto& loop : loops_)
    if (loop->has_queued_work()) return true;
  return false;
}

void Scheduler::register_foreign(TaskHeader* task) {
  task->owner_ = nullptr;
  std::lock_guard lock(foreign_mutex_);
  foreign_registry_.push_front(task);
  // Counted before the task can run, so quiescent() cannot miss it.
  foreign_spawned_.fetch_add(1, std::memory_order_release);
  if (shutting_down_.load(std::memory_order_acquire)) task->request_cancel();
}

void Scheduler::unlink_foreign(TaskHeader* task) noexcept {
  {
    std::lock_guard lock(foreign_mutex_);
    foreign_registry_.unlink(task);
  }
  task->release();
}

void Scheduler::snapshot_foreign(std::vector<TaskHeader*>& out) {
  // Few tasks (those spawned from outside the loops), so one hold of the mutex.
  std::lock_guard lock(foreign_mutex_);
  foreign_registry_.for_each([&](TaskHeader* task) {
    task->add_ref();
    out.push_back(task);
  });
}

void Scheduler::cancel_foreign_tasks() {
  std::lock_guard lock(foreign_mutex_);
  const bool report_pending = options_.report_pending_at_shutdown;
  foreign_registry_.for_each([this, report_pending](TaskHeader* t) {
    if (report_pending) foreign_pending_.add_if_pending(*t);
    t->request_cancel();
  });
}

// Quiescence: every task spawned so far has completed. Completions are summed before
// spawns. A completion counted was preceded (happens-before, through the task's own run)
// by its spawn's count, so completed <= spawned as sets; equal sizes mean equal sets: every
// task spawned before the spawn counters were read had completed before the completion
// counters were read, so none was alive in between to spawn another, and foreign spawns
// after shutdown began are cancelled at birth (they would make spawned > completed anyway).
bool Scheduler::quiescent() const noexcept {
  std::uint64_t completed = 0;
  for (const auto& loop : loops_) completed += loop->completed_count.get();
  std::uint64_t spawned = foreign_spawned_.load(std::memory_order_acquire);
  for (const auto& loop : loops_) spawned += loop->spawned_count.get();
  return spawned == completed;
}

void Scheduler::request_stop() noexcept {
  stop_.store(true, std::memory_order_release);
  for (auto& loop : loops_) loop->unpark();
}

void Scheduler::loop_exited() {
  {
    std::lock_guard lock(exit_mutex_);
    ++exited_;
  }
  exit_cv_.notify_all();
}

void Scheduler::report(Report report) const { emit_report(this, report); }

void Scheduler::loop_parking() noexcept { active_loops_.fetch_sub(1, std::memory_order_relaxed); }

void Scheduler::loop_unparked() noexcept {
  // The monitor sleeps while the count is 0; wake it on the way up.
  if (active_loops_.fetch_add(1, std::memory_order_release) == 0 && monitor_)
    active_loops_.notify_one();
}

RuntimeMetrics Scheduler::metrics() const {
  RuntimeMetrics m;
  std::uint64_t completed = 0, spawned = foreign_spawned_.load(std::memory_order_relaxed);
  for (const auto& loop : loops_) {
    m.loops.push_back(loop->metrics());
    completed += loop->completed_count.get();
    spawned += loop->spawned_count.get();
  }
  m.spawned_remote = foreign_spawned_.load(std::memory_order_relaxed);
  m.live_tasks = spawned > completed ? spawned - completed : 0;
  thread_pool_->add_metrics(m);
  if (signal_hub_) {
    m.signal_waiters = signal_hub_->waiters();
    m.signals_received = signal_hub_->received();
  }
  return m;
}

void check_block_on_allowed(Scheduler& scheduler) {
  if (current_loop() != nullptr)
    throw std::logic_error(
        "weft::Runtime::block_on called from a loop thread: it would block the loop; "
        "co_await the task instead");
  if (scheduler.shutting_down()) throw std::logic_error("weft::Runtime::block_on: shutting down");
}

SignalMaskScope::SignalMaskScope(Scheduler& scheduler) noexcept
    : hub_(scheduler.signal_hub()),
      added_(hub_ != nullptr ? hub_->block_missing_in_this_thread() : 0) {}

SignalMaskScope::~SignalMaskScope() {
  if (hub_ != nullptr) hub_->unblock_in_this_thread(added_);
}

}  // namespace weft::detail

namespace weft {

Runtime::Runtime(RuntimeOptions options)
    : scheduler_(std::make_unique<detail::Scheduler>(std::move(options))) {}

Runtime::~Runtime() = default;

unsigned Runtime::loops() const noexcept { return scheduler_->num_loops(); }

RuntimeMetrics Runtime::metrics() const { return scheduler_->metrics(); }

}  // namespace weft

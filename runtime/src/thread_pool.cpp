// weft::to_thread's out-of-line half: the per-runtime ThreadPool (see thread_pool.hpp for
// the design) and the two awaiters of to_thread.hpp.

#include "thread_pool.hpp"

#include <oneapi/tbb/global_control.h>

#include <memory>
#include <stdexcept>
#include <thread>

#include "scheduler.hpp"
#include "signal_hub.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/detail/sigpipe.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

namespace {

// oneTBB starts at most (its max_allowed_parallelism - 1) workers for the whole process,
// by default cores - 1: on 2 cores, one worker, whatever an arena's size. Each pool that
// started asks for its `threads`; one global_control raises the limit to the sum, + 1 for
// the thread oneTBB counts as the application's own. Only one of ours is ever alive, since
// oneTBB applies the smallest of several; a user's own global_control still caps ours.
class WorkerBudget {
 public:
  // The one piece of process-wide state in weft besides the current loop: oneTBB's worker
  // limit is itself process-wide, so the runtimes of a process must agree on it. Never
  // destroyed, so a Runtime that is itself a static object can still give its share back
  // during static destruction (it stays reachable: no leak report).
  static WorkerBudget& instance() {
    static WorkerBudget* const budget = new WorkerBudget;
    return *budget;
  }

  void add(unsigned threads) {
    std::lock_guard lock(mutex_);
    requested_ += threads;
    apply();
  }
  void remove(unsigned threads) noexcept {
    std::lock_guard lock(mutex_);
    requested_ -= threads;
    try {
      apply();
    } catch (...) {
      // Keeping the larger limit is harmless; a destructor must not throw.
    }
  }

 private:
  void apply() {
    control_.reset();  // first: two alive at once would mean the smaller applies
    if (requested_ > 0)
      control_ = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                       requested_ + 1);
  }

  std::mutex mutex_;
  std::size_t requested_ = 0;  // guarded by mutex_
  std::unique_ptr<tbb::global_control> control_;
};

unsigned resolve_threads(unsigned requested) {
  if (requested != 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw != 0 ? hw : 1;
}

int checked_arena_size(unsigned threads, std::size_t max_jobs) {
  if (max_jobs == 0)
    throw std::invalid_argument("weft::RuntimeOptions::max_to_thread_jobs: at least 1");
  if (threads > 0xffff)
    throw std::invalid_argument("weft::RuntimeOptions::to_thread_threads: at most 65535");
  return static_cast<int>(threads);
}

ThreadPool& pool_of(TaskHeader& task) { return task.scheduler()->thread_pool(); }

}  // namespace

// --- ThreadPool -------------------------------------------------------------------------

ThreadPool::ThreadPool(unsigned threads, std::size_t max_jobs, SignalHub* signals)
    : threads_(resolve_threads(threads)),
      max_jobs_(max_jobs),
      signals_(signals),
      // No slot reserved for an external thread: none ever joins, jobs come by enqueue.
      arena_(checked_arena_size(threads_, max_jobs), 0) {}

ThreadPool::~ThreadPool() {
  wait_idle();
  // Every job ended; the arena's own reference counting keeps it alive for a worker still
  // returning from a job's functor.
  arena_.terminate();
  if (workers_requested_) WorkerBudget::instance().remove(threads_);
}

void ThreadPool::start_workers() {
  std::call_once(started_flag_, [this] {
    WorkerBudget::instance().add(threads_);
    workers_requested_ = true;
    arena_.initialize();
  });
}

bool ThreadPool::take_slot_or_enqueue(ThreadSlotWaiter& w, TaskHeader& task,
                                      std::coroutine_handle<> caller) {
  std::unique_lock lock(mutex_);
  // FIFO: a free slot goes to a queued waiter first (it is granted by the freer).
  if (in_flight_ < max_jobs_ && waiters_.empty()) {
    ++in_flight_;
    return true;
  }
  w.task = &task;
  w.pool = this;
  w.granted = false;
  task.prepare_wait(caller, {&ThreadPool::deregister_slot_waiter, &w},
                    {WaitKind::to_thread, static_cast<std::uint32_t>(waiters_.size()), 0,
                     "a slot (RuntimeOptions::max_to_thread_jobs are running)"});
  waiters_.push_back(w);
  lock.unlock();
  waited_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void ThreadPool::free_slot() noexcept {
  ThreadSlotWaiter* next = nullptr;
  {
    std::lock_guard lock(mutex_);
    next = waiters_.pop_front();
    if (next != nullptr) {
      next->granted = true;
    } else {
      --in_flight_;
    }
  }
  if (next != nullptr) {
    // Read before wake(): the waiter lives in a frame that may move on right after.
    TaskHeader* task = next->task;
    (void)task->wake();
  }
}

Deregistration ThreadPool::deregister_slot_waiter(TaskHeader& /*task*/, void* context) noexcept {
  auto& w = *static_cast<ThreadSlotWaiter*>(context);
  std::lock_guard lock(w.pool->mutex_);
  if (!w.linked) return Deregistration::in_flight;  // a freer popped it and will wake()
  w.pool->waiters_.unlink(w);
  return Deregistration::removed;
}

void ThreadPool::submit(ThreadJobRef& job) {
  start_workers();
  {
    std::lock_guard lock(mutex_);
    ++running_;  // before the worker can end the job, so wait_idle cannot miss it
  }
  ThreadJob* raw = job.get();
  raw->pool = this;
  try {
    // The enqueue publishes everything the awaiter wrote into the job (waiter, pool) to
    // the worker that runs it.
    arena_.enqueue([this, raw] { run_job(raw); });
  } catch (...) {
    {
      std::lock_guard lock(mutex_);
      --running_;
    }
    free_slot();
    throw;
  }
  job.mark_submitted();
}

void ThreadPool::run_job(ThreadJob* job) noexcept {
  // Before a worker's first job, SIGPIPE goes into its mask, for good (weft/detail/sigpipe.hpp):
  // a job may leave one pending, which unblocking would deliver. A flag per thread rather than
  // a tbb::task_scheduler_observer: oneTBB frees an observer's proxy lazily, when every worker
  // has passed it again, so one worker that never returned to the arena left it leaked (40 B,
  // reported by LeakSanitizer at exit); the flag costs one thread-local load per job.
  thread_local bool sigpipe_blocked = false;
  if (!sigpipe_blocked) {
    block_sigpipe_in_this_thread();
    sigpipe_blocked = true;
  }
  if (signals_ != nullptr) signals_->block_in_this_thread();
  started_.fetch_add(1, std::memory_order_relaxed);
  job->run();
  if (signals_ != nullptr) signals_->drain_this_thread();
  completed_.fetch_add(1, std::memory_order_relaxed);
  free_slot();
  TaskHeader* waiter = job->waiter;
  // The awaiter cannot resume before the wake below, so its reference keeps the job alive
  // until then, and the job's outcome is destroyed on the awaiter's side.
  job->release();
  (void)waiter->wake();
  std::lock_guard lock(mutex_);
  // Notified under the lock: the Scheduler's thread may destroy the pool as soon as it
  // sees zero, so the condition variable must not be touched after the unlock.
  if (--running_ == 0) idle_cv_.notify_all();
}

bool ThreadPool::busy() noexcept {
  // Under the mutex: a job leaves running_ after its wake-up, so a caller that sees zero
  // also sees that wake-up's injection.
  std::lock_guard lock(mutex_);
  return running_ > 0;
}

void ThreadPool::wait_idle() noexcept {
  std::unique_lock lock(mutex_);
  idle_cv_.wait(lock, [this] { return running_ == 0; });
}

void ThreadPool::add_metrics(RuntimeMetrics& m) const noexcept {
  m.to_thread_started = started_.load(std::memory_order_relaxed);
  m.to_thread_completed = completed_.load(std::memory_order_relaxed);
  m.to_thread_discarded = discarded_.load(std::memory_order_relaxed);
  m.to_thread_waited = waited_.load(std::memory_order_relaxed);
}

// --- the awaiters -----------------------------------------------------------------------

bool ThreadSlotAwaiter::await_suspend(std::coroutine_handle<> caller) {
  TaskHeader* self = current_task();
  if (self == nullptr) throw_no_current_task("co_await weft::to_thread");
  if (self->scheduler()->shutting_down()) {
    state_ = State::shutting_down;
    return false;
  }
  // A cancel already pending is delivered here, before any slot or job.
  if (self->cancel_requested()) {
    state_ = State::cancelled;
    return false;
  }
  ThreadPool& pool = pool_of(*self);
  waiter_.pool = &pool;
  if (pool.take_slot_or_enqueue(waiter_, *self, caller)) {
    state_ = State::taken;
    return false;
  }
  return self->commit_wait();
}

ThreadPool* ThreadSlotAwaiter::await_resume() {
  TaskHeader* self = current_task();
  switch (state_) {
    case State::taken:
      return waiter_.pool;
    case State::shutting_down:
      // The shutdown's own cancel, if still pending, is this CancelledError.
      (void)self->take_cancel();
      throw CancelledError();
    case State::cancelled:
      (void)self->take_cancel();
      throw CancelledError();
    case State::waiting:
      break;
  }
  // Only a grant or a cancel resumes a waiter. `granted` was written under the pool's
  // mutex before the wake that scheduled this resumption.
  if (self->take_cancel()) {
    if (waiter_.granted) waiter_.pool->free_slot();  // hand it on, never swallow it
    throw CancelledError();
  }
  return waiter_.pool;
}

namespace {
// A canceller claimed a task waiting for its job. The job cannot be taken back, so the
// task waits for it; a callable that takes a stop_token is asked to stop first. Runs on the
// cancelling thread: so do the job's stop_callbacks.
Deregistration deregister_thread_job(TaskHeader& /*task*/, void* context) noexcept {
  static_cast<ThreadJob*>(context)->stop.request_stop();
  return Deregistration::in_flight;
}
}  // namespace

bool ThreadJobAwaiter::await_suspend(std::coroutine_handle<> caller) {
  TaskHeader* self = current_task();
  // Cancelled since the slot was taken: do not start the job (await_resume frees the slot).
  if (self->cancel_requested()) return false;
  ThreadJob* job = job_.get();
  job->waiter = self;
  self->prepare_wait(caller, {&deregister_thread_job, job},
                     {WaitKind::to_thread, 0, 0, "its job on the thread pool"});
  pool_.submit(job_);
  return self->commit_wait();
}

void ThreadJobAwaiter::await_resume() {
  TaskHeader* self = current_task();
  if (!job_.submitted()) {
    pool_.free_slot();
    (void)self->take_cancel();
    throw CancelledError();
  }
  // The job ended. A cancel delivered now wins over its outcome, which ThreadJobRef's
  // destructor then counts as discarded.
  if (self->take_cancel()) throw CancelledError();
  job_.mark_delivered();
}

void count_discarded_job(ThreadJob& job) noexcept { job.pool->count_discarded(); }

}  // namespace weft::detail

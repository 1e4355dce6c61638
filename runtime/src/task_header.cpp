// The wait and schedule protocols of task_header.hpp, and the pieces of spawn that need the
// loops. The join protocol is in join.cpp.

#include "weft/detail/task_header.hpp"

#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "loop.hpp"
#include "reporting.hpp"
#include "scheduler.hpp"
#include "weft/current_task.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/detail/spawned_task.hpp"
#include "weft/detail/task_frame.hpp"
#include "weft/join_handle.hpp"

namespace weft::detail {

void TaskHeader::schedule() noexcept {
  // acq_rel: release hands what the waker published (a readiness bit, a result) to the loop
  // that will run the task; acquire orders this against the RUNNING loop's release.
  const std::uint32_t before = sched_.fetch_or(kNotified, std::memory_order_acq_rel);
  if ((before & (kRunning | kNotified | kComplete)) != 0) return;  // runner or queue has it
  Loop* loop = current_loop();
  if (loop != nullptr && &loop->scheduler() == scheduler_) {
    note_state_change(loop->clock_ns());
    loop->schedule_local(this);
  } else {
    forget_since();  // no clock read on a wake-up from outside (to_thread, another thread)
    scheduler_->inject(this);
  }
}

bool TaskHeader::read_wait_note(WaitNote& out) const noexcept {
  // The reader's half of the seqlock (publish_wait_note): acquire on the first load pairs
  // with the writer's release store of an even number, so the fields read after it are at
  // least that note's; the acquire fence keeps the field loads before the second load, and
  // an unchanged even number means no write overlapped them.
  for (int attempt = 0; attempt < 16; ++attempt) {
    const std::uint32_t before = note_seq_.load(std::memory_order_acquire);
    if ((before & 1) != 0) continue;
    WaitNote note;
    note.kind = static_cast<WaitKind>(note_kind_.load(std::memory_order_relaxed));
    note.count = note_count_.load(std::memory_order_relaxed);
    note.value = note_value_.load(std::memory_order_relaxed);
    note.what = note_what_.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (note_seq_.load(std::memory_order_relaxed) == before) {
      out = note;
      return true;
    }
  }
  return false;
}

bool TaskHeader::commit_wait() noexcept {
  std::uint32_t w = wait_.load(std::memory_order_relaxed);
  for (;;) {
    if ((w & kWoken) != 0) {
      // The waker fired between publishing and now: it consumed the registration.
      if (wait_.compare_exchange_weak(w, w & ~kWoken, std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return false;
      continue;
    }
    if ((w & kCancel) != 0) {
      // Cancelled before suspending: play the canceller ourselves. The deregistration
      // schedules us (we are RUNNING, so that only sets NOTIFIED) and await_resume throws.
      if (wait_.compare_exchange_weak(w, w | kWaiting | kClaimed, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
        run_deregistration();
        return true;
      }
      continue;
    }
    // Release publishes resume_point_ and registration_ to a canceller that claims with
    // acquire.
    if (wait_.compare_exchange_weak(w, w | kWaiting, std::memory_order_release,
                                    std::memory_order_relaxed))
      return true;
  }
}

bool TaskHeader::take_cancel() noexcept {
  // Only the task clears kCancel; a request racing with this load is delivered at the next
  // suspension instead.
  if ((wait_.load(std::memory_order_relaxed) & kCancel) == 0) return false;
  wait_.fetch_and(~kCancel, std::memory_order_relaxed);
  cancel_delivered_ = true;
  self_cancel_pending_ = false;
  return true;
}

WakeResult TaskHeader::wake() noexcept {
  std::uint32_t w = wait_.load(std::memory_order_relaxed);
  for (;;) {
    if ((w & kWaiting) == 0) {
      // Early: the registration is published but the task has not committed yet.
      if (wait_.compare_exchange_weak(w, w | kWoken, std::memory_order_release,
                                      std::memory_order_relaxed))
        return WakeResult::early;
      continue;
    }
    if ((w & kClaimed) == 0) {
      if (wait_.compare_exchange_weak(w, w & ~kWaiting, std::memory_order_acq_rel,
                                      std::memory_order_relaxed)) {
        schedule();
        return WakeResult::scheduled;
      }
      continue;
    }
    // A canceller claimed the wait. The last of us two to finish schedules the task.
    const bool canceller_done = (w & kDeregFailed) != 0;
    const std::uint32_t desired =
        canceller_done ? (w & (kCancel | kRequestCountMask)) : (w | kWoken);
    if (wait_.compare_exchange_weak(w, desired, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      if (canceller_done) schedule();
      return WakeResult::claimed_by_canceller;
    }
  }
}

bool TaskHeader::request_cancel() noexcept {
  // The running task cancelling itself: only its own thread can see itself as current, and
  // the flag is read by that same run's completion (or cleared by a later delivery).
  if (current_task() == this) self_cancel_pending_ = true;
  std::uint32_t w = wait_.load(std::memory_order_relaxed);
  for (;;) {
    // Closed: the completer's RMW came first in wait_'s modification order, so it did not
    // see this request; refusing it is what keeps an accepted request from vanishing.
    // (A running task is never closed, so a self request never lands here.)
    if ((w & kClosed) != 0) return false;
    // Already requested, not yet delivered: the pending request covers this one (the
    // completer's RMW, if it comes later, still sees it); only the count changes.
    const bool claim = (w & (kCancel | kWaiting | kClaimed)) == kWaiting;
    const std::uint32_t desired = (w + kRequestCountOne) | kCancel | (claim ? kClaimed : 0);
    // acq_rel: acquire reads the registration the task published with its release.
    if (wait_.compare_exchange_weak(w, desired, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      if (claim) run_deregistration();
      return true;
    }
  }
}

void TaskHeader::request_deadline_cancel() noexcept {
  std::uint32_t w = wait_.load(std::memory_order_relaxed);
  for (;;) {
    if ((w & kClosed) != 0) return;  // cannot happen: the scope outlives none of its task
    const bool claim = (w & (kCancel | kWaiting | kClaimed)) == kWaiting;
    const std::uint32_t desired = (w + kRequestCountOne) | kCancel | (claim ? kClaimed : 0);
    // acq_rel, as request_cancel.
    if (wait_.compare_exchange_weak(w, desired, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      if (claim) run_deregistration();
      return;
    }
  }
}

void TaskHeader::count_deadline_request() noexcept {
  // Relaxed: only the count changes; its readers are this task and RMWs on this word.
  wait_.fetch_add(kRequestCountOne, std::memory_order_relaxed);
}

std::uint32_t TaskHeader::uncancel() noexcept {
  std::uint32_t w = wait_.load(std::memory_order_relaxed);
  for (;;) {
    const std::uint32_t left = (w >> kRequestCountShift) - 1;
    // The task runs, so it is not waiting: with no request left, the pending delivery (if
    // any) was a deadline's that its scope has answered. Relaxed: the CAS only decides
    // against racing requests, whose RMWs on this word are ordered with it.
    std::uint32_t desired = w - kRequestCountOne;
    if (left == 0) desired &= ~kCancel;
    if (wait_.compare_exchange_weak(w, desired, std::memory_order_relaxed,
                                    std::memory_order_relaxed))
      return left;
  }
}

// Guards TaskHeader::name_ (see task_header.hpp).
class NameLock {
 public:
  explicit NameLock(const TaskHeader& task) noexcept : lock_(task.name_lock_) {
    // Acquire pairs with the previous holder's release: its write of name_ is visible.
    while (lock_.exchange(true, std::memory_order_acquire)) {
      while (lock_.load(std::memory_order_relaxed)) {
      }
    }
  }
  NameLock(const NameLock&) = delete;
  NameLock& operator=(const NameLock&) = delete;
  // Release publishes this holder's write of name_ to the next holder.
  ~NameLock() { lock_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool>& lock_;
};

std::string TaskHeader::name() const {
  NameLock lock(*this);
  return name_ != nullptr ? *name_ : std::string();
}

void TaskHeader::set_name(std::string name) {
  std::unique_ptr<std::string> named =
      name.empty() ? nullptr : std::make_unique<std::string>(std::move(name));
  {
    NameLock lock(*this);
    name_.swap(named);
  }
  // The old name is freed here, outside the lock.
}

void TaskHeader::init_name(std::string&& name) noexcept {
  if (name.empty()) return;
  try {
    name_ = std::make_unique<std::string>(std::move(name));
  } catch (const std::bad_alloc&) {
    // A name is for reports and dumps: without memory for it the task runs unnamed.
  }
}

void TaskHeader::run_deregistration() noexcept {
  switch (registration_.deregister(*this, registration_.context)) {
    case Deregistration::removed:
      finish_cancel(true);
      break;
    case Deregistration::in_flight:
      finish_cancel(false);
      break;
    case Deregistration::deferred:
      break;  // the waker's loop calls finish_cancel()
  }
}

void TaskHeader::finish_cancel(bool removed) noexcept {
  if (removed) {
    // Nobody else will touch the wait: leave only the request for await_resume.
    wait_.fetch_and(kCancel | kRequestCountMask, std::memory_order_acq_rel);
    schedule();
    return;
  }
  std::uint32_t w = wait_.load(std::memory_order_relaxed);
  for (;;) {
    const bool waker_done = (w & kWoken) != 0;
    const std::uint32_t desired =
        waker_done ? (w & (kCancel | kRequestCountMask)) : (w | kDeregFailed);
    if (wait_.compare_exchange_weak(w, desired, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      if (waker_done) schedule();
      return;
    }
  }
}

void TaskHeader::abandon() noexcept {
  sched_.fetch_or(kComplete | kDiscarded | kEndedCancelled, std::memory_order_acq_rel);
  discard_frame();
}

// --- the block: header and frame (task_frame.hpp) ------------------------------------------
// The tail's state is a plain field: the frame is destroyed by the loop completing the task
// while the registry still holds its reference, by shutdown with every loop stopped, or here
// by the last release; the refcount's acq_rel orders each of those before destroy_block().

void TaskHeader::discard_frame() noexcept {
  // Once: a frame discarded at completion is not destroyed again by shutdown's abandon().
  // Its operator delete sees the live header and leaves the block to destroy_block().
  if (task_frame_tail(this).state == TaskFrameTail::kHeaderAndFrame) root_.destroy();
}

void TaskHeader::destroy_block() noexcept {
  // The frame goes first, while the header still exists: its promise and parameters end as
  // they would for an awaited Task, before anything of the task's runtime state does.
  discard_frame();
  TaskFrameTail& tail = task_frame_tail(this);
  const std::size_t block_size = tail.frame_size + kTaskHeaderRoom;
  this->~TaskHeader();
  frame_deallocate(this, block_size);
}

// --- spawn ------------------------------------------------------------------------------

Scheduler* current_scheduler() noexcept {
  Loop* loop = current_loop();
  return loop != nullptr ? &loop->scheduler() : nullptr;
}

void submit_spawn(TaskHeader* task, std::string name, const FrameOrigin& site) {
  Scheduler* scheduler = task->scheduler();
  task->init_name(std::move(name));
  task->spawn_file_ = site.file;
  task->spawn_line_ = site.line;
  task->coroutine_ = task->root_promise()->origin().function;
  Loop* loop = current_loop();
  if (loop != nullptr) task->note_state_change(loop->clock_ns());
  if (TaskHeader* parent = loop != nullptr ? loop->current_task() : nullptr)
    task->parent_id_.store(parent->id_, std::memory_order_relaxed);
  if (loop != nullptr && &loop->scheduler() == scheduler) {
    loop->spawn_local(task);
  } else {
    task->id_ = scheduler->next_task_id();
    scheduler->register_foreign(task);
    scheduler->inject(task);
  }
}

void throw_no_current_task(const char* what) {
  throw std::logic_error(std::string(what) +
                         ": not inside a weft task (use Runtime::spawn / block_on from outside)");
}

}  // namespace weft::detail

namespace weft {

TaskRef current_task() {
  detail::TaskHeader* task = detail::current_task();
  if (task == nullptr) detail::throw_no_current_task("weft::current_task");
  return TaskRef(task);
}

std::string TaskRef::name() const { return task_ != nullptr ? task_->name() : std::string(); }

void TaskRef::set_name(std::string name) {
  if (task_ == nullptr) throw std::logic_error("weft::TaskRef: naming an empty TaskRef");
  task_->set_name(std::move(name));
}

}  // namespace weft

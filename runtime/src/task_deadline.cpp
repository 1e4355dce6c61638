#include "weft/detail/task_deadline.hpp"

#include <exception>
#include <stdexcept>
#include <thread>
#include <utility>

#include "loop.hpp"
#include "timer_queue.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

namespace {

std::int64_t to_ns(Clock::time_point t) { return t.time_since_epoch().count(); }

TaskHeader* running_task(const char* what) {
  TaskHeader* self = current_task();
  if (self == nullptr) throw_no_current_task(what);
  return self;
}

}  // namespace

TaskDeadline::TaskDeadline(Deadline deadline)
    : task_(running_task("weft::wait_for / weft::timeout")),
      enclosing_(task_->deadline_top_),
      deadline_ns_(deadline ? to_ns(*deadline) : kNone),
      requests_at_start_(task_->cancel_request_count()),
      pending_at_start_(task_->cancel_requested()),
      delivered_at_start_(task_->cancel_delivered_) {
  task_->deadline_top_ = this;
  if (deadline_ns_ != kNone) task_->deadline_unarmed_ = true;
}

TaskDeadline::~TaskDeadline() {
  disarm();
  // Scopes end innermost first (each lives in a frame that awaits the next); a frame torn
  // down at a forced shutdown may not, so unlink wherever it is.
  if (task_->deadline_top_ == this) {
    task_->deadline_top_ = enclosing_;
    return;
  }
  for (TaskDeadline* s = task_->deadline_top_; s != nullptr; s = s->enclosing_) {
    if (s->enclosing_ == this) {
      s->enclosing_ = enclosing_;
      return;
    }
  }
}

TaskDeadline::Deadline TaskDeadline::deadline() const noexcept {
  if (deadline_ns_ == kNone) return std::nullopt;
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(deadline_ns_)));
}

bool TaskDeadline::expired() const noexcept {
  if (fired_ || node_ == nullptr) return fired_;
  // `firing` counts: the loop sets it before it requests the cancel, so a task that received
  // that cancel (on another loop) may see `firing` still. Relaxed is enough: a task that
  // received the cancel resumed through the wait word's release/acquire chain, which orders
  // the firer's CAS to `firing` before this load; nothing else is read through the node.
  const DeadlineState state = node_->deadline_state.load(std::memory_order_relaxed);
  return state == DeadlineState::firing || state == DeadlineState::fired;
}

bool TaskDeadline::passed() const noexcept {
  return deadline_ns_ != kNone && deadline_ns_ <= clock_now_ns();
}

void TaskDeadline::reschedule(Deadline deadline) {
  if (current_task() != task_)
    throw std::logic_error("weft::TimeoutScope: reschedule from another task than the body's");
  if (expired()) throw std::logic_error("weft::TimeoutScope: reschedule after it expired");
  disarm();
  if (fired_) throw std::logic_error("weft::TimeoutScope: reschedule after it expired");
  deadline_ns_ = deadline ? to_ns(*deadline) : kNone;
  if (deadline_ns_ == kNone) return;
  if (passed()) {
    expire_now();
    return;
  }
  task_->deadline_unarmed_ = true;
}

void TaskDeadline::expire_unstarted() noexcept {
  disarm();
  if (fired_) return;
  fired_ = true;
  task_->count_deadline_request();
}

void TaskDeadline::expire_now() noexcept {
  disarm();
  if (fired_) return;  // its timer fired meanwhile
  fired_ = true;
  task_->request_deadline_cancel();
}

void TaskDeadline::arm_all(TaskHeader& task) noexcept {
  task.deadline_unarmed_ = false;
  Loop* loop = current_loop();
  for (TaskDeadline* s = task.deadline_top_; s != nullptr; s = s->enclosing_) {
    if (s->node_ != nullptr || s->fired_ || s->deadline_ns_ == kNone) continue;
    s->node_ = loop->timers().insert_deadline(s->deadline_ns_, &task, loop);
  }
}

void TaskDeadline::disarm() noexcept {
  TimerNode* node = std::exchange(node_, nullptr);
  if (node == nullptr) return;
  Loop* home = node->home;
  if (current_loop() == home) {
    // The node's own thread, the only one that fires it: no race to decide.
    fired_ |= home->timers().release_deadline(node);
    return;
  }
  DeadlineState armed = DeadlineState::armed;
  // Relaxed on success: the node goes to its loop through the mailbox, which orders it.
  // Acquire on failure pairs with the firer's release when it already reads `fired`.
  if (node->deadline_state.compare_exchange_strong(
          armed, DeadlineState::cancelled, std::memory_order_relaxed, std::memory_order_acquire)) {
    try {
      home->post_timer_cancel(node);
    } catch (...) {
      std::terminate();  // out of memory in the mailbox: as for a cancelled sleep
    }
    return;
  }
  // The loop is firing it (a few instructions: its request, then `fired`) or has fired it.
  // Acquire pairs with its release: after this, the loop no longer touches the node.
  while (node->deadline_state.load(std::memory_order_acquire) != DeadlineState::fired)
    std::this_thread::yield();
  fired_ = true;
  TimerQueue::free_node(node);
}

void TaskDeadline::expire_passed_enclosing() noexcept {
  const std::int64_t now = clock_now_ns();
  for (TaskDeadline* s = enclosing_; s != nullptr; s = s->enclosing_) {
    if (s->deadline_ns_ == kNone || s->deadline_ns_ > now) continue;
    s->disarm();  // after this its timer cannot fire; fired_ says whether it did
    if (s->fired_) continue;
    s->fired_ = true;
    task_->count_deadline_request();
  }
}

TaskDeadline::Ending TaskDeadline::end_cancelled() noexcept {
  disarm();
  if (!fired_) return Ending::cancelled;
  expire_passed_enclosing();
  const std::uint32_t left = task_->uncancel();
  if (pending_at_start_ || left > requests_at_start_) return Ending::cancelled;
  // The deadline's cancel was delivered here and answered with TimeoutError: not a cancel
  // the task swallowed.
  task_->cancel_delivered_ = delivered_at_start_;
  return Ending::timeout;
}

void TaskDeadline::end_with_outcome() noexcept {
  disarm();
  if (fired_) (void)task_->uncancel();
}

}  // namespace weft::detail

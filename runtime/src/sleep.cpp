#include "weft/sleep.hpp"

#include <chrono>

#include "loop.hpp"
#include "timer_queue.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

namespace {

// A canceller claimed a sleeping task: remove its timer on the timer's loop.
Deregistration deregister_timer(TaskHeader& /*task*/, void* context) noexcept {
  auto* node = static_cast<TimerNode*>(context);
  Loop* home = node->home;
  if (current_loop() == home) {
    // Same thread as every firing of this queue: the node is still in the heap.
    return home->timers().cancel(node) ? Deregistration::removed : Deregistration::in_flight;
  }
  try {
    home->post_timer_cancel(node);
  } catch (...) {
    // moodycamel allocates a block per 32 items: out of memory here leaves nothing sane.
    std::terminate();
  }
  return Deregistration::deferred;
}

std::int64_t to_ns(Clock::time_point t) { return t.time_since_epoch().count(); }

}  // namespace

bool sleep_suspend(Clock::time_point deadline, std::coroutine_handle<> caller) {
  TaskHeader* self = current_task();
  if (self == nullptr) throw_no_current_task("co_await weft::sleep");
  const std::int64_t deadline_ns = to_ns(deadline);
  Loop* loop = current_loop();
  if (deadline_ns <= loop->now_ns()) {  // asyncio.sleep(0): just let the others run
    self->yield_from(caller);
    return true;
  }
  TimerNode* node = loop->timers().insert(deadline_ns, self, loop);
  self->prepare_wait(caller, {&deregister_timer, node},
                     {WaitKind::sleep, 0, static_cast<std::uint64_t>(deadline_ns), nullptr});
  // No early wake-up is possible: only this thread fires this queue, and it is busy here.
  return self->commit_wait();
}

void sleep_resume() {
  if (current_task()->take_cancel()) throw CancelledError();
}

}  // namespace weft::detail

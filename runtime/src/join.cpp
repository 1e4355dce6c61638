// The join protocol: how a task awaits another's JoinHandle (join_handle.hpp), how a cancel
// travels down a chain of joins, and what dropping a handle unawaited reports.
//
// A joiner publishes itself as the joinee's waiter by setting kJoinWaiter on the joinee's
// sched_ (publish_join_waiter); the loop that completes the joinee sees the bit in the same
// word's completing RMW (TaskHeader::mark_complete) and wakes it. A dropped handle sets
// kDetached on that word, so exactly one of the dropper and the completer sees both bits and
// reports an exception nobody retrieved. These two functions are TaskHeader's friends: they
// are the only code besides its members that changes its atomics.

#include <exception>
#include <string>
#include <vector>

#include "loop.hpp"
#include "reporting.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"

namespace weft::detail {

Deregistration deregister_join_waiter_shielded(TaskHeader& /*joiner*/, void* /*joinee*/) noexcept {
  // The registration stays with the joinee, whose completion wakes the joiner; the cancel
  // is delivered then.
  return Deregistration::in_flight;
}

namespace {
// A cancel that propagates down a chain of joins (a awaits b awaits c ...) would recurse
// once per link; the first cancel on a thread runs the chain as a loop instead.
thread_local bool tls_cancelling = false;
thread_local std::vector<TaskHeader*> tls_cancel_chain;
}  // namespace

void cancel_joinee(TaskHeader& joinee) noexcept {
  // The joiner cannot resume before its canceller finishes, so its JoinHandle keeps the
  // joinee alive now; the extra reference covers the time it waits in the chain.
  joinee.add_ref();
  if (tls_cancelling) {
    try {
      tls_cancel_chain.push_back(&joinee);
    } catch (...) {
      std::terminate();  // out of memory while cancelling: nothing sane is left to do
    }
    return;
  }
  tls_cancelling = true;
  joinee.request_cancel();
  joinee.release();
  while (!tls_cancel_chain.empty()) {
    TaskHeader* next = tls_cancel_chain.back();
    tls_cancel_chain.pop_back();
    next->request_cancel();
    next->release();
  }
  tls_cancelling = false;
}

bool publish_join_waiter(TaskHeader& joinee, TaskHeader& joiner) noexcept {
  joinee.joiner_ = &joiner;
  std::uint32_t s = joinee.sched_.load(std::memory_order_relaxed);
  for (;;) {
    if ((s & TaskHeader::kComplete) != 0) return false;
    // Release publishes joiner_ to the completer's acq_rel RMW (TaskHeader::mark_complete).
    if (joinee.sched_.compare_exchange_weak(s, s | TaskHeader::kJoinWaiter,
                                            std::memory_order_release, std::memory_order_acquire))
      return true;
  }
}

Deregistration deregister_join_waiter(TaskHeader& /*joiner*/, void* context) noexcept {
  // Cancelling a task that awaits another cancels that one too (asyncio's rule: what a
  // task awaits is part of it), and the joiner keeps its registration: it resumes, with
  // CancelledError, only when the joinee has finished — so a cancelled join never leaves
  // the joinee's clean-up running unseen. The completer wakes it through kJoinWaiter as
  // usual; answering in_flight makes the canceller wait for that wake.
  cancel_joinee(*static_cast<TaskHeader*>(context));
  return Deregistration::in_flight;
}

void join_handle_dropped(TaskHeader& task) noexcept try {
  // Exactly one of {this, the completer} sees the other's bit and reports an exception
  // nobody retrieved (acq_rel, paired with TaskHeader::mark_complete's acq_rel RMW: the
  // completer's result is visible if kComplete was set).
  const std::uint32_t prev = task.sched_.fetch_or(TaskHeader::kDetached, std::memory_order_acq_rel);
  // A discarded task's promise is gone, and its outcome is a cancellation anyway.
  if ((prev & TaskHeader::kComplete) == 0 || (prev & TaskHeader::kDiscarded) != 0) return;
  const std::exception_ptr& e = task.root_promise()->exception();
  if (!e) return;
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return;
  } catch (const std::exception& ex) {
    what = ex.what();
  } catch (...) {
  }
  // Not task.scheduler(): the handle may outlive its runtime. A loop's own runtime is alive.
  const std::string who = describe_task(task);
  Loop* loop = current_loop();
  emit_report(loop != nullptr ? &loop->scheduler() : nullptr,
              {ReportKind::unretrieved_exception, -1, who,
               "weft: task " + who +
                   " failed and its JoinHandle was dropped without awaiting it: " + what});
} catch (...) {
  // Reporting must never turn a destructor into a crash.
}

}  // namespace weft::detail

// A loop's reports and counters: the stall it was flagged for, and the metrics snapshot.
// The loop itself is in loop.cpp.

#include <string>

#include "loop.hpp"
#include "reporting.hpp"
#include "scheduler.hpp"
#include "weft/report.hpp"

namespace weft::detail {

// --- stall reports ----------------------------------------------------------------------

void Loop::flag_stall(std::uint64_t run_seq, std::int64_t first_seen_ns) noexcept {
  stalls_.add();  // written by the monitor only while this loop is inside one task run
  stall_first_seen_ns_.store(first_seen_ns, std::memory_order_relaxed);
  stall_flag_.store(run_seq, std::memory_order_release);
}

void Loop::report_stall_end(TaskHeader* task) {
  const std::int64_t first_seen = stall_first_seen_ns_.load(std::memory_order_relaxed);
  // A lower bound: the run began before the monitor's first sample of it.
  const auto ms = (monotonic_ns() - first_seen) / 1'000'000;
  scheduler_.report({ReportKind::stall_ended, static_cast<int>(index_), describe_task(*task),
                     "weft: loop " + std::to_string(index_) + ": task " + describe_task(*task) +
                         " ran at least " + std::to_string(ms) +
                         " ms without suspending (a blocking call or CPU-bound work: run it "
                         "on another thread, or co_await weft::yield() inside long loops)"});
}

LoopMetrics Loop::metrics() const noexcept {
  LoopMetrics m;
  m.tasks_run = tasks_run_.get();
  m.spawned_local = spawned_local_.get();
  m.injected_taken = injected_taken_.get();
  m.steals = steals_.get();
  m.steal_attempts = steal_attempts_.get();
  m.parks = parks_.get();
  m.wakeups = wakeups_.get();
  m.timers_fired = timers_fired_.get();
  m.io_events = io_events_.get();
  m.stalls = stalls_.get();
  m.cancels_swallowed = cancels_swallowed_.get();
  m.cancels_unseen = cancels_unseen_.get();
  return m;
}

}  // namespace weft::detail

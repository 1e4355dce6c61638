#include "stall_monitor.hpp"

#include <chrono>
#include <string>

#include "loop.hpp"
#include "reporting.hpp"
#include "scheduler.hpp"
#include "weft/detail/frame_pool.hpp"
#include "weft/detail/sigpipe.hpp"

namespace weft::detail {

StallMonitor::StallMonitor(Scheduler& scheduler)
    : scheduler_(scheduler), seen_(scheduler.num_loops()), thread_([this] { run(); }) {}

StallMonitor::~StallMonitor() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  // Wake it if it sleeps on the idle futex.
  scheduler_.active_loops().fetch_add(1, std::memory_order_seq_cst);
  scheduler_.active_loops().notify_all();
  thread_.join();
  scheduler_.active_loops().fetch_sub(1, std::memory_order_relaxed);
}

void StallMonitor::run() {
  block_sigpipe_in_this_thread();  // as every thread of weft's: weft/detail/sigpipe.hpp
  const auto threshold = scheduler_.options().stall_threshold;
  // Without stall reports the monitor still exposes LIFO slots, at the default period. A
  // single loop has no thief to expose its slot to, so the monitor samples only for reports,
  // at half the threshold (a stall is reported 1-1.5 thresholds in): 2.5x fewer wake-ups of
  // this thread while the loop is busy (a busy 1-loop server's only syscall besides its I/O).
  const int divisor = scheduler_.num_loops() == 1 ? 2 : 5;
  const auto period =
      threshold.count() > 0
          ? std::max<std::chrono::microseconds>(
                std::chrono::duration_cast<std::chrono::microseconds>(threshold) / divisor,
                std::chrono::microseconds(500))
          : std::chrono::microseconds(5000);
  // Sleeps on the idle futex only after two samples in a row found every loop parked, and
  // after waking goes back to sampling by period: a busy I/O loop parks and unparks tens of
  // thousands of times a second, and a monitor that re-checked the count right after each
  // wake-up chased those flips (libstdc++'s atomic wait spins with sched_yield before its
  // futex): 0.04 sched_yield and 0.03 futex calls per request beside a 1-loop HTTP server.
  std::unique_lock lock(mutex_);
  int idle_samples = 0;
  while (!stop_) {
    cv_.wait_for(lock, period, [this] { return stop_; });
    if (stop_) break;
    // Empty frame-pool slabs left by a burst go back once unused for a second, also in a
    // program that allocates nothing more (frame_pool.hpp): a clock read per period.
    frame_pool_decay();
    if (scheduler_.active_loops().load(std::memory_order_acquire) == 0) {
      if (++idle_samples < 2) continue;
      idle_samples = 0;
      lock.unlock();
      // Sleeps until a loop unparks (loop_unparked notifies on 0 -> 1) or we are stopped.
      scheduler_.active_loops().wait(0, std::memory_order_acquire);
      lock.lock();
      continue;
    }
    idle_samples = 0;
    sample(monotonic_ns());
  }
}

void StallMonitor::sample(std::int64_t now_ns) {
  const std::int64_t threshold_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(scheduler_.options().stall_threshold)
          .count();
  const unsigned cap = scheduler_.options().max_stall_reports_per_second;
  if (now_ns - window_start_ns_ >= 1'000'000'000) {
    window_start_ns_ = now_ns;
    reports_in_window_ = 0;
  }
  for (unsigned i = 0; i < seen_.size(); ++i) {
    Loop& loop = scheduler_.loop(i);
    const std::uint64_t seq = loop.run_sequence();
    Seen& s = seen_[i];
    if ((seq & 1) == 0 || seq != s.seq) {  // idle, or a different run than last time
      s = Seen{seq, now_ns, false};
      continue;
    }
    // The same run as one period ago: what that loop's LIFO slot holds would wait for it.
    loop.expose_lifo(seq);
    if (threshold_ns == 0 || s.reported || now_ns - s.first_seen_ns < threshold_ns) continue;
    s.reported = true;
    loop.flag_stall(seq, s.first_seen_ns);
    if (reports_in_window_ >= cap) continue;
    ++reports_in_window_;
    const auto ms = (now_ns - s.first_seen_ns) / 1'000'000;
    emit_report(&scheduler_,
                {ReportKind::stall, static_cast<int>(i), std::string(),
                 "weft: loop " + std::to_string(i) + " stalled: its current task has run " +
                     std::to_string(ms) + "+ ms without suspending"});
  }
}

}  // namespace weft::detail

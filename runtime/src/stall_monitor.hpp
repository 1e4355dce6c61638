#pragma once

// StallMonitor: a thread that notices a loop whose current task has run past the stall
// threshold without suspending (a blocking call, a CPU-bound loop), and reports it while it
// is still happening.
//
// Cost on the loops: two relaxed stores of a sequence number per task run (odd while a
// task runs) — no clock read. The monitor samples every threshold/5: a loop showing the
// same odd sequence as at the previous sample is still in the same run, and has been at
// least since the sample that first saw it. So a report comes at most one period (5 ms at
// the default 25 ms) after the threshold, and never for a run shorter than the threshold.
// When two samples in a row find every loop parked the monitor sleeps on a futex
// (Scheduler::active_loops) until one unparks, so an idle runtime costs no CPU. Reports are capped
// per second.
//
// The same samples serve the scheduler: a loop seen inside one run on two consecutive
// samples has its LIFO slot exposed to thieves (Loop::expose_lifo), so a task spawned or
// woken just before its loop got stuck is not stuck with it. With several loops the monitor
// runs even when stall reports are off (threshold 0), sampling every 5 ms.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace weft::detail {

class Scheduler;

class StallMonitor {
 public:
  explicit StallMonitor(Scheduler& scheduler);
  StallMonitor(const StallMonitor&) = delete;
  StallMonitor& operator=(const StallMonitor&) = delete;
  ~StallMonitor();  // stops and joins the thread

 private:
  void run();
  void sample(std::int64_t now_ns);

  struct Seen {
    std::uint64_t seq = 0;
    std::int64_t first_seen_ns = 0;
    bool reported = false;
  };

  Scheduler& scheduler_;
  std::vector<Seen> seen_;
  std::int64_t window_start_ns_ = 0;
  unsigned reports_in_window_ = 0;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace weft::detail

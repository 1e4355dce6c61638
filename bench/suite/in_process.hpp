#pragma once

// How the in-process scenarios (scheduler, composition, tutorial, parallelism) are measured:
// one Runtime per configuration, built outside every timed region with the defaults a user
// gets (stall detector on; its reports are counted, not printed). One unmeasured warm-up
// round fills the frame pools and starts the threads, then each repetition is one round: a
// driver task run with block_on, timed on the benchmark's own thread, which only waits.
//
// Each repetition also carries the runtime's counters over the round, per operation, for
// --verbose: steals, parks and wake-ups show how the work spread and how often loops slept.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include <weft/weft.hpp>

#include "scenario.hpp"

namespace weft::bench {

// The extras every in-process scenario reports with --verbose.
inline const std::vector<std::string>& runtime_extras() {
  static const std::vector<std::string> names = {"steals_per_op", "parks_per_op", "wakeups_per_op",
                                                 "stall_reports"};
  return names;
}

// The signal the last of many detached tasks gives to the waiting driver thread.
class Countdown {
 public:
  explicit Countdown(std::uint64_t n) noexcept : remaining_(n) {}
  // acq_rel: the last decrement sees every other task's work; release on the flag hands it
  // to wait(), which acquires.
  void count_down() noexcept {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      done_.store(true, std::memory_order_release);
      done_.notify_one();
    }
  }
  void wait() const noexcept { done_.wait(false, std::memory_order_acquire); }

 private:
  std::atomic<std::uint64_t> remaining_;
  std::atomic<bool> done_{false};
};

// Steals, parks and wake-ups per operation over a round: in all ("steals_per_op") and per
// loop ("loop1_steals_per_op", ...; the table shows those with --verbose).
inline void add_loop_counters(Measurement& m, const RuntimeMetrics& before,
                              const RuntimeMetrics& after, double ops) {
  double steals = 0, parks = 0, wakeups = 0;
  for (std::size_t i = 0; i < after.loops.size() && i < before.loops.size(); ++i) {
    const LoopMetrics& a = after.loops[i];
    const LoopMetrics& b = before.loops[i];
    const std::string loop = "loop" + std::to_string(i + 1) + "_";
    m.extras[loop + "steals_per_op"] = static_cast<double>(a.steals - b.steals) / ops;
    m.extras[loop + "parks_per_op"] = static_cast<double>(a.parks - b.parks) / ops;
    m.extras[loop + "wakeups_per_op"] = static_cast<double>(a.wakeups - b.wakeups) / ops;
    steals += static_cast<double>(a.steals - b.steals);
    parks += static_cast<double>(a.parks - b.parks);
    wakeups += static_cast<double>(a.wakeups - b.wakeups);
  }
  m.extras["steals_per_op"] = steals / ops;
  m.extras["parks_per_op"] = parks / ops;
  m.extras["wakeups_per_op"] = wakeups / ops;
}

// Called after each measured round, outside the timed region, to measure the repetition's
// baseline or limit right next to it (so both see the same moment of a noisy machine).
using Annotate = std::function<void(Runtime&, Measurement&)>;

// Runs `round(runtime)` once unmeasured and then config.repetitions times measured. A round
// blocks until its work is done and returns the operations it performed; the value of a
// repetition is operations per second of wall-clock time.
template <class Round>
std::vector<Measurement> measure_rounds(const RunConfig& config, Round&& round,
                                        RuntimeOptions options = {},
                                        const Annotate& annotate = nullptr) {
  using Clock = std::chrono::steady_clock;
  // Relaxed: read after block_on returned, which joined the reporting loops' work.
  auto reports = std::make_shared<std::atomic<std::uint64_t>>(0);
  options.loops = config.loops;
  options.on_report = [reports](const Report&) {
    reports->fetch_add(1, std::memory_order_relaxed);
  };
  Runtime runtime(std::move(options));
  if (config.progress) config.progress("warm-up");
  (void)round(runtime);
  std::vector<Measurement> out;
  for (unsigned rep = 1; rep <= config.repetitions; ++rep) {
    if (config.progress)
      config.progress("rep " + std::to_string(rep) + "/" + std::to_string(config.repetitions));
    const RuntimeMetrics before = runtime.metrics();
    const std::uint64_t reports_before = reports->load(std::memory_order_relaxed);
    const auto start = Clock::now();
    const std::uint64_t ops = round(runtime);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const RuntimeMetrics after = runtime.metrics();
    Measurement m;
    m.value = static_cast<double>(ops) / seconds;
    m.extras["seconds"] = seconds;
    add_loop_counters(m, before, after, static_cast<double>(ops));
    m.extras["stall_reports"] =
        static_cast<double>(reports->load(std::memory_order_relaxed) - reports_before);
    if (annotate) annotate(runtime, m);
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace weft::bench

// Stall detection: a task that blocks its loop is reported while it blocks, soon after the
// threshold, and named when it finally suspends; other loops take over its queued work; short
// runs are never reported; the threshold 0 disables it; reports are capped per second; an
// idle runtime does not spin.

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "thread_id.hpp"

namespace {

using namespace std::chrono_literals;
// Wall time, the stall monitor's clock, in which ReportLog stamps the reports.
using Clock = std::chrono::steady_clock;
using weft::JoinHandle;
using weft::ReportKind;
using weft::Task;

using weft::test::thread_id;

long long ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// --- a blocked loop is reported, and the other loop takes its queue ----------------------

struct Finished {
  Clock::time_point at{};
  long thread = 0;
};

Task<void> quick(Finished* f) {
  f->at = Clock::now();
  f->thread = thread_id();
  co_return;
}

struct Blocked {
  Clock::time_point start{}, end{};
  long thread = 0;
  std::vector<Finished> queued = std::vector<Finished>(8);
};

Task<void> blocker(Blocked* b) {
  b->start = Clock::now();
  b->thread = thread_id();
  // Spawned from this loop: they sit in its queue while it blocks.
  std::vector<JoinHandle<void>> handles;
  for (auto& f : b->queued) handles.push_back(weft::spawn(quick(&f)));
  std::this_thread::sleep_for(200ms);  // the scenario: a blocking call on a loop thread
  b->end = Clock::now();
  co_await weft::yield();  // the first suspension: stall_ended is reported here
  for (auto& h : handles) co_await h;
}

// The handle is named before the co_await: g++ 12 breaks a braced SpawnOptions inside a
// co_await expression (BUILD_NOTES.md, "g++ 12 specifics").
Task<void> spawn_blocker(Blocked* b) {
  JoinHandle<void> blocker_task = weft::spawn(blocker(b), {.name = "the-blocker"});
  co_await blocker_task;
}

TEST(Stall, BlockedLoopIsReportedSoonAndOthersTakeItsQueue) {
  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options();
  o.on_report = log.sink();
  o.stall_threshold = 25ms;
  Blocked b;
  std::uint64_t stalls_metric = 0;
  {
    weft::Runtime rt(o);
    rt.block_on(spawn_blocker(&b));
    stalls_metric = rt.metrics().total().stalls;
  }
  const auto reports = log.reports();
  const auto times = log.times();
  int stall = -1, ended = -1;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    if (reports[i].kind == ReportKind::stall && stall < 0) stall = static_cast<int>(i);
    if (reports[i].kind == ReportKind::stall_ended && ended < 0) ended = static_cast<int>(i);
  }
  ASSERT_GE(stall, 0) << "the blocked loop was not reported";
  ASSERT_GE(ended, 0) << "no stall_ended report";
  EXPECT_EQ(log.count(ReportKind::stall), 1u);
  EXPECT_EQ(log.count(ReportKind::stall_ended), 1u);

  // Reported while it still blocked (the 200 ms block had not ended), soon after passing the
  // 25 ms threshold. docs/reliability.md's "within 25 ms of the threshold" holds in a quiet
  // release run (the monitor samples every 5 ms; the line below prints the delay); the
  // bound asserted is rougher, since a loaded 2-core machine under sanitizers can keep the
  // monitor thread off the CPU for tens of milliseconds.
  const auto reported_after = times[static_cast<std::size_t>(stall)] - b.start;
  EXPECT_GE(reported_after, 25ms) << ms(reported_after) << " ms";
  EXPECT_LE(reported_after, 150ms) << ms(reported_after) << " ms";
  EXPECT_LT(times[static_cast<std::size_t>(stall)], b.end);
  std::printf("stall reported %lld us after the block began\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(reported_after).count()));

  // Named once it suspended, on the same loop.
  const weft::Report& end_report = reports[static_cast<std::size_t>(ended)];
  EXPECT_GE(times[static_cast<std::size_t>(ended)], b.end);
  EXPECT_NE(end_report.task.find("the-blocker"), std::string::npos) << end_report.task;
  EXPECT_EQ(end_report.loop, reports[static_cast<std::size_t>(stall)].loop);
  EXPECT_GE(end_report.loop, 0);
  EXPECT_GE(stalls_metric, 1u);

  // The other loop ran the blocked loop's queued tasks before it unblocked.
  for (std::size_t i = 0; i < b.queued.size(); ++i) {
    SCOPED_TRACE("queued task " + std::to_string(i));
    EXPECT_LT(b.queued[i].at, b.end) << "it waited for the blocked loop";
    EXPECT_NE(b.queued[i].thread, b.thread);
  }
}

// --- short runs, the off switch ------------------------------------------------------------

Task<void> block_for(Clock::duration d, int times) {
  for (int i = 0; i < times; ++i) {
    std::this_thread::sleep_for(d);
    co_await weft::yield();
  }
}

Task<void> blocks_on_both_loops(Clock::duration d, int times) {
  JoinHandle<void> a = weft::spawn(block_for(d, times));
  JoinHandle<void> b = weft::spawn(block_for(d, times));
  co_await a;
  co_await b;
}

// A run shorter than the threshold is never reported. 5 ms runs against the 25 ms threshold:
// a run is timed by the wall clock, so one that is reported must have lasted 25 ms — a loop
// thread kept off the CPU for some 20 ms in the middle of a 5 ms run, and then the report
// would be right. (10 ms runs left too little room on a loaded 2-core machine.)
// The root task of block_on is weft's wrapper around the user's task: its reports name the
// user's coroutine, not the wrapper's.
Task<void> root_that_blocks() {
  std::this_thread::sleep_for(100ms);  // the scenario: a blocking call on a loop thread
  co_return;
}

TEST(Stall, AStalledRootTaskIsNamedByTheUsersCoroutine) {
  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options(1);
  o.on_report = log.sink();
  o.stall_threshold = 20ms;
  {
    weft::Runtime rt(o);
    rt.block_on(root_that_blocks());
  }
  // stall_ended is the report that names the task (a stall report is made without the
  // stuck loop's help, so it names none).
  ASSERT_EQ(log.count(ReportKind::stall_ended), 1u);
  for (const weft::Report& r : log.reports()) {
    if (r.kind != ReportKind::stall_ended) continue;
    EXPECT_NE(r.task.find("root_that_blocks"), std::string::npos) << r.task;
    EXPECT_EQ(r.task.find("run_to_outcome"), std::string::npos) << r.task;
  }
}

TEST(Stall, ShortRunIsNeverReported) {
  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options();
  o.on_report = log.sink();
  o.stall_threshold = 25ms;
  std::uint64_t stalls_metric = 0;
  {
    weft::Runtime rt(o);
    rt.block_on(blocks_on_both_loops(5ms, 20));
    stalls_metric = rt.metrics().total().stalls;
  }
  EXPECT_EQ(log.count(ReportKind::stall), 0u);
  EXPECT_EQ(log.count(ReportKind::stall_ended), 0u);
  EXPECT_EQ(stalls_metric, 0u);
}

TEST(Stall, ThresholdZeroDisables) {
  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options();
  o.on_report = log.sink();
  o.stall_threshold = 0ms;
  std::uint64_t stalls_metric = 0;
  {
    weft::Runtime rt(o);
    rt.block_on(blocks_on_both_loops(100ms, 1));
    stalls_metric = rt.metrics().total().stalls;
  }
  EXPECT_EQ(log.count(ReportKind::stall), 0u);
  EXPECT_EQ(log.count(ReportKind::stall_ended), 0u);
  EXPECT_EQ(stalls_metric, 0u);
}

// --- the per-second cap ----------------------------------------------------------------

struct Storm {
  Clock::duration length{};       // of the storm, from its first block to its last
  std::size_t storm_reports = 0;  // stall reports once the storm was over
  bool reported = false;          // a storm stall was reported within the deadline
};

Task<void> stall_storm(weft::test::ReportLog* log, Storm* storm) {
  // 16 stalls of 40 ms, back to back on both loops: ~320 ms, inside one second when the
  // machine is quiet.
  const auto start = Clock::now();
  co_await blocks_on_both_loops(40ms, 8);
  const auto end = Clock::now();
  storm->length = end - start;
  storm->reported =
      co_await weft::test::co_wait_until([log] { return log->count(ReportKind::stall) > 0; });
  if (!storm->reported) co_return;
  // The cap counts reports in fixed one-second windows (the first one starts at the
  // monitor's first sample). A second after the storm ended, every window that saw it is
  // over, so the cap has room again. The wait is the scenario; it also lets a report the
  // monitor made during the storm's last block reach the log before it is counted.
  co_await weft::sleep(end + 1100ms - Clock::now());
  storm->storm_reports = log->count(ReportKind::stall);
  // 100 ms blocks: far past the threshold, so they are reported even if the monitor thread
  // is kept off the CPU for a while.
  co_await blocks_on_both_loops(100ms, 1);
}

TEST(Stall, ReportsAreCappedPerSecond) {
  constexpr unsigned kCap = 3;
  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options();
  o.on_report = log.sink();
  o.stall_threshold = 25ms;
  o.max_stall_reports_per_second = kCap;
  Storm storm;
  std::uint64_t stalls_metric = 0;
  {
    weft::Runtime rt(o);
    rt.block_on(stall_storm(&log, &storm));
    stalls_metric = rt.metrics().total().stalls;
  }
  ASSERT_TRUE(storm.reported) << "no stall of the storm was reported within "
                              << ms(weft::test::kDeadline) << " ms";
  const auto reports = log.reports();
  const auto times = log.times();
  std::vector<Clock::time_point> stall_times;
  for (std::size_t i = 0; i < reports.size(); ++i)
    if (reports[i].kind == ReportKind::stall) stall_times.push_back(times[i]);
  ASSERT_FALSE(stall_times.empty());

  // The storm's 16 stalls are capped: at most kCap reports per runtime window. The storm
  // (length L) overlaps at most floor(L / 1 s) + 2 windows, each at least a second long —
  // two when it fits in a second, since its first report need not come early in a window.
  const auto windows = static_cast<std::size_t>(storm.length / 1s) + 2;
  EXPECT_GE(storm.storm_reports, 1u);
  EXPECT_LE(storm.storm_reports, kCap * windows)
      << "storm of " << ms(storm.length) << " ms, " << windows << " windows";
  // Seen as a sliding second from the first report, that is at most two windows' worth.
  std::size_t in_first_second = 0;
  for (auto t : stall_times) in_first_second += t - stall_times.front() < 1s ? 1 : 0;
  EXPECT_LE(in_first_second, 2 * kCap);
  EXPECT_GE(in_first_second, 1u);
  // The two 100 ms blocks after the storm came in a fresh window: reported again.
  EXPECT_GT(stall_times.size(), storm.storm_reports) << "the cap never reopened";
  EXPECT_GE(stalls_metric, stall_times.size());
  std::printf(
      "storm of %lld ms: %zu stall reports (%zu in the first second), %zu in all; "
      "%llu stalls counted\n",
      ms(storm.length), storm.storm_reports, in_first_second, stall_times.size(),
      static_cast<unsigned long long>(stalls_metric));
}

// --- an idle runtime costs no CPU ------------------------------------------------------------

Clock::duration cpu_time() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  const auto tv = [](timeval t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

Task<int> trivial() { co_return 1; }

// True once no loop has parked for `quiet` (polled every 10 ms), at most `timeout`: the loops
// are parked for good (a loop that keeps waking parks again and again).
bool loops_settled(const weft::Runtime& rt, Clock::duration quiet, Clock::duration timeout) {
  const auto parks = [&rt] {
    std::vector<std::uint64_t> p;
    for (const weft::LoopMetrics& m : rt.metrics().loops) p.push_back(m.parks);
    return p;
  };
  const auto deadline = Clock::now() + timeout;
  auto last = parks();
  auto since = Clock::now();
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    auto now = parks();
    if (now != last) {
      last = std::move(now);
      since = Clock::now();
    } else if (Clock::now() - since >= quiet) {
      return true;
    }
  }
  return false;
}

TEST(Stall, IdleRuntimeUsesNoCpu) {
  weft::Runtime rt(weft::test::options());
  EXPECT_EQ(rt.block_on(trivial()), 1);
  // Settle: every loop parked (and so the monitor asleep). A loop that never stops waking
  // up is itself the failure this test looks for.
  ASSERT_TRUE(loops_settled(rt, 100ms, weft::test::kDeadline))
      << "the loops kept waking up for " << ms(weft::test::kDeadline) << " ms with nothing to do";
  const Clock::duration before = cpu_time();
  std::this_thread::sleep_for(500ms);
  const Clock::duration used = cpu_time() - before;
  // A rough bound, not a benchmark: parked loops and the monitor must not poll.
  std::printf(
      "%lld us of CPU in 500 ms idle\n",
      static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(used).count()));
  // (Also counts the test thread's own wake-ups and any page faults: 50 ms is 10% of a core.)
  EXPECT_LT(used, 50ms) << std::chrono::duration_cast<std::chrono::microseconds>(used).count()
                        << " us of CPU in 500 ms idle";
}

}  // namespace

// Exceptions are never lost: a task's exception reaches its joiner with its type intact; one
// nobody can observe (a detached task, a handle dropped unawaited) is reported once, with the
// task's name, and the loop carries on; a cancellation ending is not an error; a Task never
// awaited is reported; block_on rethrows.

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::JoinHandle;
using weft::ReportKind;
using weft::Task;

class CustomError : public std::runtime_error {
 public:
  explicit CustomError(int code)
      : std::runtime_error("custom error " + std::to_string(code)), code_(code) {}
  [[nodiscard]] int code() const noexcept { return code_; }

 private:
  int code_;
};

Task<int> fails_at_once(int code) {
  throw CustomError(code);
  co_return 0;
}

Task<int> fails_after_sleep(int code) {
  co_await weft::sleep(1ms);  // may resume on the other loop
  throw CustomError(code);
}

Task<void> fails_after_yield(int code) {
  co_await weft::yield();
  throw CustomError(code);
}

// Waits (politely) until `kind` was reported `n` times, or 10 s passed.
Task<void> wait_for_reports(weft::test::ReportLog* log, ReportKind kind, std::size_t n) {
  (void)co_await weft::test::co_wait_until([log, kind, n] { return log->count(kind) >= n; });
}

// These tests count every report, so stall detection is off: a loop thread preempted by a
// loaded machine for 25 ms would otherwise add a stall report that has nothing to do with
// exceptions.
weft::RuntimeOptions recording_options(weft::test::ReportLog& log) {
  weft::RuntimeOptions o = weft::test::options();
  o.on_report = log.sink();
  o.stall_threshold = 0ms;
  return o;
}

// --- to the joiner ---------------------------------------------------------------------

Task<std::vector<int>> join_failing_tasks() {
  std::vector<int> codes;
  JoinHandle<int> a = weft::spawn(fails_at_once(1));
  JoinHandle<int> b = weft::spawn(fails_after_sleep(2));
  JoinHandle<void> c = weft::spawn(fails_after_yield(3));
  try {
    co_await a;
  } catch (const CustomError& e) {
    codes.push_back(e.code());
  }
  try {
    co_await b;
  } catch (const CustomError& e) {
    codes.push_back(e.code());
  }
  try {
    co_await c;
  } catch (const CustomError& e) {
    codes.push_back(e.code());
  }
  co_return codes;
}

TEST(Exceptions, ReachTheJoinerWithTheirType) {
  weft::test::ReportLog log;
  EXPECT_EQ(weft::run(join_failing_tasks(), recording_options(log)), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(log.reports().empty()) << "a retrieved exception is not reported";
}

// --- detached -------------------------------------------------------------------------------

Task<int> value(int v) {
  co_await weft::yield();
  co_return v;
}

Task<int> sum_of_values(int n) {
  std::vector<JoinHandle<int>> later;
  for (int i = 0; i < n; ++i) later.push_back(weft::spawn(value(i)));
  int sum = 0;
  for (auto& h : later) sum += co_await h;
  co_return sum;
}

struct CarryOn {
  int sum = 0;
  bool reported = false;  // both failures reported within the deadline
  // Loops that reported a failure and had not run a task since, when the deadline passed.
  std::vector<int> silent_loops;
};

Task<CarryOn> detach_failures_then_carry_on(weft::Runtime* rt, weft::test::ReportLog* log) {
  CarryOn out;
  weft::spawn(fails_at_once(11), {.name = "doomed-at-once"}).detach();
  weft::spawn(fails_after_sleep(12), {.name = "doomed-later"}).detach();
  co_await wait_for_reports(log, ReportKind::detached_exception, 2);
  out.reported = log->count(ReportKind::detached_exception) >= 2;
  // The loops survive: later tasks still run, on either loop...
  const weft::RuntimeMetrics at_report = rt->metrics();  // after the reports: they are counted
  out.sum = co_await sum_of_values(20);
  // ... including each loop that reported a failure (it ran a task after its report). Which
  // loop runs the later tasks is up to stealing, so spawn more until each has, bounded.
  const auto silent = [&] {
    std::vector<int> loops;
    const weft::RuntimeMetrics now = rt->metrics();
    for (const weft::Report& r : log->reports()) {
      if (r.kind != ReportKind::detached_exception || r.loop < 0) continue;
      const auto l = static_cast<std::size_t>(r.loop);
      if (l >= now.loops.size() || now.loops[l].tasks_run <= at_report.loops[l].tasks_run)
        loops.push_back(r.loop);
    }
    return loops;
  };
  const auto deadline = weft::Clock::now() + weft::test::kDeadline;
  while (!silent().empty() && weft::Clock::now() < deadline) (void)co_await sum_of_values(20);
  out.silent_loops = silent();
  co_return out;
}

TEST(Exceptions, DetachedTaskExceptionIsReportedOnceWithItsName) {
  weft::test::ReportLog log;
  CarryOn c;
  {
    weft::Runtime rt(recording_options(log));
    c = rt.block_on(detach_failures_then_carry_on(&rt, &log));
  }
  EXPECT_TRUE(c.reported) << "the failures were not reported within 10 s";
  EXPECT_EQ(c.sum, 190);
  for (int loop : c.silent_loops)
    ADD_FAILURE() << "loop " << loop << " reported a failure and ran no task afterwards";
  // After shutdown, still exactly once each.
  ASSERT_EQ(log.count(ReportKind::detached_exception), 2u);
  EXPECT_EQ(log.reports().size(), 2u);
  bool at_once = false, later = false;
  for (const weft::Report& r : log.reports()) {
    if (r.task.find("doomed-at-once") != std::string::npos) {
      at_once = true;
      EXPECT_NE(r.message.find("custom error 11"), std::string::npos) << r.message;
    }
    if (r.task.find("doomed-later") != std::string::npos) {
      later = true;
      EXPECT_NE(r.message.find("custom error 12"), std::string::npos) << r.message;
    }
  }
  EXPECT_TRUE(at_once);
  EXPECT_TRUE(later);
}

// --- dropped unawaited after the failure -------------------------------------------------

Task<bool> drop_after_failure() {
  JoinHandle<int> handle = weft::spawn(fails_after_sleep(21), {.name = "failed-and-dropped"});
  const bool failed = co_await weft::test::co_wait_until([&handle] { return handle.done(); },
                                                         weft::test::kDeadline, 0ms);
  if (!failed) handle.cancel();  // the test fails
  // `handle` goes out of scope on return: the failure was never retrieved.
  co_return failed;
}

TEST(Exceptions, DroppedHandleOfFailedTaskReportsUnretrievedOnce) {
  weft::test::ReportLog log;
  ASSERT_TRUE(weft::run(drop_after_failure(), recording_options(log)))
      << "the failing task did not end within 10 s";
  ASSERT_EQ(log.count(ReportKind::unretrieved_exception), 1u);
  EXPECT_EQ(log.count(ReportKind::detached_exception), 0u);
  EXPECT_EQ(log.reports().size(), 1u);
  const weft::Report r = log.reports().front();
  EXPECT_NE(r.task.find("failed-and-dropped"), std::string::npos) << r.task;
  EXPECT_NE(r.message.find("custom error 21"), std::string::npos) << r.message;
}

// --- cancellation is not an error ----------------------------------------------------------

Task<void> sleep_an_hour() { co_await weft::sleep(1h); }

struct Endings {
  bool dropped_ended = false;   // the cancelled-dropped task ended within the deadline
  bool detached_ended = false;  // ... and the cancelled-detached one
};

Task<Endings> cancelled_endings(weft::Runtime* rt) {
  Endings out;
  // Cancelled, then detached.
  JoinHandle<void> a = weft::spawn(sleep_an_hour(), {.name = "cancelled-detached"});
  a.cancel();
  std::move(a).detach();
  // Cancelled, finished, then dropped unawaited.
  {
    JoinHandle<void> b = weft::spawn(sleep_an_hour(), {.name = "cancelled-dropped"});
    b.cancel();
    out.dropped_ended =
        co_await weft::test::co_wait_until([&b] { return b.done(); }, weft::test::kDeadline, 0ms);
  }
  // Detached, cancelled by the runtime's shutdown.
  weft::spawn(sleep_an_hour(), {.name = "cancelled-at-shutdown"}).detach();
  // Let the first one finish (live: this task, the shutdown one).
  out.detached_ended =
      co_await weft::test::co_wait_until([rt] { return rt->metrics().live_tasks <= 2; });
  co_return out;
}

TEST(Exceptions, CancelledEndingIsNotReported) {
  weft::test::ReportLog log;
  Endings e;
  {
    weft::Runtime rt(recording_options(log));
    e = rt.block_on(cancelled_endings(&rt));
  }
  EXPECT_TRUE(e.dropped_ended) << "a cancelled task did not end within 10 s";
  EXPECT_TRUE(e.detached_ended) << "a cancelled detached task did not end within 10 s";
  // No ending in CancelledError is reported as a failure. The one the shutdown cancelled was
  // still running then: that, and only that, is said once.
  ASSERT_EQ(log.reports().size(), 1u) << log.reports().front().message;
  EXPECT_EQ(log.reports().front().kind, ReportKind::pending_at_shutdown);
  EXPECT_NE(log.reports().front().message.find("'cancelled-at-shutdown'"), std::string::npos)
      << log.reports().front().message;
}

// --- never awaited ---------------------------------------------------------------------------

Task<int> coroutine_nobody_awaits() { co_return 1; }

Task<void> forget_a_task() {
  Task<int> t = coroutine_nobody_awaits();
  Task<int> moved = std::move(t);  // a moved-from Task is not a second report
  co_return;
}

TEST(Exceptions, TaskNeverAwaitedIsReportedWithItsFunction) {
  weft::test::ReportLog log;
  weft::run(forget_a_task(), recording_options(log));
  ASSERT_EQ(log.count(ReportKind::task_never_awaited), 1u);
  EXPECT_EQ(log.reports().size(), 1u);
  const weft::Report r = log.reports().front();
  EXPECT_NE(r.task.find("coroutine_nobody_awaits"), std::string::npos) << r.task;
  EXPECT_NE(r.message.find("coroutine_nobody_awaits"), std::string::npos) << r.message;
  EXPECT_GE(r.loop, 0);
}

// --- block_on ----------------------------------------------------------------------------------

TEST(Exceptions, BlockOnRethrows) {
  weft::Runtime rt(weft::test::options());
  try {
    rt.block_on(fails_after_sleep(31));
    ADD_FAILURE() << "block_on returned";
  } catch (const CustomError& e) {
    EXPECT_EQ(e.code(), 31);
  }
  EXPECT_THROW(rt.block_on(fails_at_once(32)), CustomError);
  EXPECT_EQ(rt.block_on(value(5)), 5) << "the runtime is still usable";
}

}  // namespace

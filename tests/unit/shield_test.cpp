// weft::shield: the shielded work is not cancelled with the task awaiting it; that task
// still waits for the work to finish before its CancelledError comes out.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <weft/shield.hpp>
#include <weft/wait_for.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::Task;
using weft::test::Counted;

struct Probe {
  std::atomic<int> started{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> completed{0};
};

Task<int> work(Probe* p, Clock::duration d, Counted = {}) {
  p->started.fetch_add(1);
  try {
    co_await weft::sleep(d);
  } catch (const CancelledError&) {
    p->cancelled.fetch_add(1);
    throw;
  }
  p->completed.fetch_add(1);
  co_return 7;
}

Task<int> failing() {
  co_await weft::yield();
  throw std::runtime_error("inner failed");
}

Task<void> pause(Clock::duration d) { co_await weft::sleep(d); }

TEST(Shield, PassesValueAndException) {
  Probe probe;
  auto body = [&]() -> Task<int> {
    EXPECT_THROW((void)co_await weft::shield(failing()), std::runtime_error);
    co_await weft::shield(pause(1ms));
    co_return co_await weft::shield(work(&probe, 1ms));
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 7);
}

// The awaiting task is cancelled while the shielded work sleeps: the work is not cancelled,
// runs to its end, and only then does CancelledError reach the awaiting task.
TEST(Shield, OuterCancelWaitsForTheWork) {
  const long base = Counted::live();
  Probe probe;
  std::atomic<bool> completed_before_cancel_surfaced{false};
  auto shielded = [&]() -> Task<int> {
    try {
      co_return co_await weft::shield(work(&probe, 150ms));
    } catch (const CancelledError&) {
      completed_before_cancel_surfaced = probe.completed.load() == 1 && Counted::live() == base;
      throw;
    }
  };
  auto body = [&]() -> Task<bool> {
    const auto start = Clock::now();
    weft::JoinHandle<int> handle = weft::spawn(shielded());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 1; }));
    handle.cancel();
    EXPECT_TRUE(co_await weft::test::finished_within(handle));
    EXPECT_GE(Clock::now() - start, 150ms);
    try {
      (void)co_await handle;
    } catch (const CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(probe.cancelled.load(), 0);
  EXPECT_EQ(probe.completed.load(), 1);
  EXPECT_TRUE(completed_before_cancel_surfaced.load());
  EXPECT_EQ(Counted::live(), base);
}

// Inside wait_for: the timeout cancels the shield, which waits for the work (150 ms), so the
// TimeoutError comes only after the work completed — uncancelled.
TEST(Shield, UnderWaitForTimesOutOnlyAfterTheWork) {
  Probe probe;
  auto body = [&]() -> Task<Clock::duration> {
    const auto start = Clock::now();
    EXPECT_THROW((void)co_await weft::wait_for(weft::shield(work(&probe, 150ms)), 20ms),
                 weft::TimeoutError);
    EXPECT_EQ(probe.completed.load(), 1);
    co_return Clock::now() - start;
  };
  const Clock::duration took = weft::run(body(), weft::test::options(2));
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 5s);
  EXPECT_EQ(probe.cancelled.load(), 0);
}

// The awaiter of shield(t) is cancelled, then t fails: nobody awaits t's exception any more,
// so the runtime reports it — once (asyncio would lose it with the orphaned inner task).
// Before this, the failure vanished without a trace.
TEST(Shield, FailureAfterTheAwaiterWasCancelledIsReportedOnce) {
  weft::test::ReportLog log;
  auto late_failure = []() -> Task<int> {
    co_await weft::sleep(30ms);
    throw std::runtime_error("shielded work failed");
  };
  std::atomic<bool> started{false};
  auto shielded = [&]() -> Task<int> {
    started = true;
    co_return co_await weft::shield(late_failure());
  };
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<int> handle = weft::spawn(shielded());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return started.load(); }));
    handle.cancel();
    EXPECT_THROW((void)co_await handle, CancelledError);  // after the work failed
    co_return true;
  };
  weft::RuntimeOptions o = weft::test::options(2);
  o.on_report = log.sink();
  EXPECT_TRUE(weft::run(body(), o));
  EXPECT_EQ(log.count(weft::ReportKind::unretrieved_exception) +
                log.count(weft::ReportKind::detached_exception),
            1u);
}

// Uncancelled, a failure reaches the awaiter and nothing is reported.
TEST(Shield, FailureSeenByTheAwaiterIsNotReported) {
  weft::test::ReportLog log;
  auto body = []() -> Task<bool> {
    EXPECT_THROW((void)co_await weft::shield(failing()), std::runtime_error);
    co_return true;
  };
  weft::RuntimeOptions o = weft::test::options(2);
  o.on_report = log.sink();
  EXPECT_TRUE(weft::run(body(), o));
  EXPECT_EQ(log.reports().size(), 0u);
}

// shield takes a JoinHandle: the task keeps running when the awaiter is cancelled, and the
// awaiter waits for it (weft's difference from asyncio, whose shield returns at once).
TEST(Shield, TakesAJoinHandleAndWaitsForItsTaskWhenCancelled) {
  Probe probe;
  auto shielded = [&]() -> Task<int> {
    co_return co_await weft::shield(weft::spawn(work(&probe, 50ms)));
  };
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<int> handle = weft::spawn(shielded());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 1; }));
    handle.cancel();
    EXPECT_THROW((void)co_await handle, CancelledError);
    EXPECT_EQ(probe.completed.load(), 1);  // it finished before the awaiter's cancel came out
    EXPECT_EQ(co_await weft::shield(weft::spawn(work(&probe, 1ms))), 7);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(probe.cancelled.load(), 0);
}

}  // namespace

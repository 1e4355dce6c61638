// weft::wait_for / weft::timeout_at: TimeoutError only after the work was cancelled and has
// finished; the work's own outcome wins over the timeout; nested scopes turn only their own
// deadline into TimeoutError.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <weft/timeout_error.hpp>
#include <weft/wait_for.hpp>

#include "probe.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::Task;
using weft::TimeoutError;
using weft::test::Counted;

using weft::test::EndMark;
using weft::test::Probe;

// What the work does once cancelled.
enum class OnCancel { rethrow, return_value, throw_other };

// Sleeps `d`, returns 1. Once cancelled: sleeps `cleanup` (ignoring the cancel for a while),
// then does `on_cancel`.
Task<int> work(Probe* p, Clock::duration d, Clock::duration cleanup = 0ms,
               OnCancel on_cancel = OnCancel::rethrow, Counted = {}) {
  EndMark mark(p);
  p->started.fetch_add(1);
  bool cancelled = false;
  try {
    co_await weft::sleep(d);
  } catch (const CancelledError&) {
    p->cancelled.fetch_add(1);
    cancelled = true;
  }
  if (cancelled) {
    co_await weft::sleep(cleanup);
    switch (on_cancel) {
      case OnCancel::rethrow:
        throw CancelledError();
      case OnCancel::return_value:
        p->returned.fetch_add(1);
        co_return 99;
      case OnCancel::throw_other:
        throw std::logic_error("failed while cleaning up");
    }
  }
  p->returned.fetch_add(1);
  co_return 1;
}

Task<int> at_once(int v) { co_return v; }

TEST(WaitFor, ValueBeforeDeadline) {
  Probe probe;
  auto body = [&]() -> Task<Clock::duration> {
    const auto start = Clock::now();
    EXPECT_EQ(co_await weft::wait_for(work(&probe, 10ms), 10s), 1);
    co_return Clock::now() - start;
  };
  EXPECT_LT(weft::run(body(), weft::test::options(2)), 5s) << "waited for the timer";
  EXPECT_EQ(probe.cancelled.load(), 0);
}

TEST(WaitFor, TimesOutAfterCancellingAndJoiningTheWork) {
  const long base = Counted::live();
  Probe probe;
  auto body = [&]() -> Task<Clock::duration> {
    const auto start = Clock::now();
    try {
      (void)co_await weft::wait_for(work(&probe, 10s), 50ms);
      ADD_FAILURE() << "no TimeoutError";
    } catch (const TimeoutError&) {
      EXPECT_EQ(probe.cancelled.load(), 1);
      EXPECT_EQ(probe.ended.load(), 1) << "TimeoutError before the work ended";
      EXPECT_EQ(Counted::live(), base);
    }
    co_return Clock::now() - start;
  };
  const Clock::duration took = weft::run(body(), weft::test::options(2));
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 5s);
}

// A deadline already passed never starts a Task (asyncio's test_waitfor: a coroutine given a
// timeout <= 0 is never started): TimeoutError, and the body has not run, not even up to its
// first suspension.
TEST(WaitFor, ZeroTimeout) {
  Probe probe;
  auto body = [&]() -> Task<bool> {
    EXPECT_THROW((void)co_await weft::wait_for(work(&probe, 10s), 0ms), TimeoutError);
    EXPECT_THROW((void)co_await weft::wait_for(at_once(5), 0ms), TimeoutError);
    EXPECT_THROW((void)co_await weft::wait_for(work(&probe, 10s), -5s), TimeoutError);
    EXPECT_EQ(probe.started.load(), 0);
    EXPECT_EQ(probe.ended.load(), 0);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

TEST(WaitFor, AlreadyFinishedWork) {
  auto body = []() -> Task<int> {
    int sum = 0;
    for (int i = 0; i < 100; ++i) sum += co_await weft::wait_for(at_once(i), 1s);
    co_return sum;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 4950);
}

// The work ignores the cancel for 150 ms: wait_for does not return before it ended.
TEST(WaitFor, WorkThatIgnoresCancellationForAWhile) {
  Probe probe;
  auto body = [&]() -> Task<Clock::duration> {
    const auto start = Clock::now();
    try {
      (void)co_await weft::wait_for(work(&probe, 10s, 150ms), 20ms);
      ADD_FAILURE() << "no TimeoutError";
    } catch (const TimeoutError&) {
      EXPECT_EQ(probe.ended.load(), 1) << "returned while the work was still cleaning up";
    }
    co_return Clock::now() - start;
  };
  const Clock::duration took = weft::run(body(), weft::test::options(2));
  EXPECT_GE(took, 170ms);
  EXPECT_LT(took, 5s);
}

TEST(WaitFor, SwallowedCancelValueWins) {
  Probe probe;
  auto body = [&]() -> Task<int> {
    co_return co_await weft::wait_for(work(&probe, 10s, 10ms, OnCancel::return_value), 20ms);
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 99);
  EXPECT_EQ(probe.cancelled.load(), 1);
}

TEST(WaitFor, OtherExceptionDuringCleanupWins) {
  Probe probe;
  auto body = [&]() -> Task<int> {
    co_return co_await weft::wait_for(work(&probe, 10s, 0ms, OnCancel::throw_other), 20ms);
  };
  EXPECT_THROW(weft::run(body(), weft::test::options(2)), std::logic_error);
}

// The work's sleep and the deadline are the same length: either the value or TimeoutError,
// and whichever it is matches what the work did — an outcome is never lost or invented.
TEST(WaitFor, WorkEndingRightAtTheDeadline) {
  auto body = []() -> Task<bool> {
    int values = 0;
    int timeouts = 0;
    for (int round = 0; round < 50; ++round) {
      Probe probe;
      try {
        EXPECT_EQ(co_await weft::wait_for(work(&probe, 2ms), 2ms), 1);
        ++values;
        EXPECT_EQ(probe.returned.load(), 1);
      } catch (const TimeoutError&) {
        ++timeouts;
        EXPECT_EQ(probe.returned.load(), 0) << "the work returned, but TimeoutError won";
        EXPECT_EQ(probe.cancelled.load(), 1);
      }
      EXPECT_EQ(probe.ended.load(), 1);
    }
    EXPECT_EQ(values + timeouts, 50);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// Inner scope expires: TimeoutError inside, caught there; the outer scope is unaffected.
TEST(WaitFor, NestedInnerExpires) {
  Probe probe;
  auto inside = [&]() -> Task<std::string> {
    try {
      (void)co_await weft::wait_for(work(&probe, 10s), 20ms);
    } catch (const TimeoutError&) {
      co_return "inner timed out";
    }
    co_return "no timeout";
  };
  auto body = [&]() -> Task<std::string> { co_return co_await weft::wait_for(inside(), 10s); };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), "inner timed out");
}

// Outer scope expires while the inner one (with a later deadline) waits: the inner scope
// sees CancelledError, not TimeoutError; the outer turns it into its TimeoutError.
TEST(WaitFor, NestedOuterExpires) {
  Probe probe;
  std::atomic<int> inner_saw_timeout{0};
  std::atomic<int> inner_saw_cancel{0};
  auto inside = [&]() -> Task<int> {
    try {
      co_return co_await weft::wait_for(work(&probe, 10s), 5s);
    } catch (const TimeoutError&) {
      inner_saw_timeout.fetch_add(1);
      throw;
    } catch (const CancelledError&) {
      inner_saw_cancel.fetch_add(1);
      throw;
    }
  };
  auto body = [&]() -> Task<Clock::duration> {
    const auto start = Clock::now();
    EXPECT_THROW((void)co_await weft::wait_for(inside(), 30ms), TimeoutError);
    co_return Clock::now() - start;
  };
  const Clock::duration took = weft::run(body(), weft::test::options(2));
  EXPECT_LT(took, 4s);
  EXPECT_EQ(inner_saw_timeout.load(), 0);
  EXPECT_EQ(inner_saw_cancel.load(), 1);
  EXPECT_EQ(probe.ended.load(), 1);
}

// A cancel of the task awaiting wait_for is a CancelledError, not a TimeoutError — also with
// the deadline far away — and it comes after the work ended.
TEST(WaitFor, OutsideCancelIsCancelledError) {
  const long base = Counted::live();
  Probe probe;
  auto waiting = [&]() -> Task<int> {
    co_return co_await weft::wait_for(work(&probe, 10s, 50ms), 10s);
  };
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<int> handle = weft::spawn(waiting());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 1; }));
    handle.cancel();
    EXPECT_TRUE(co_await weft::test::finished_within(handle));
    EXPECT_EQ(probe.ended.load(), 1);
    try {
      (void)co_await handle;
    } catch (const CancelledError&) {
      co_return true;
    } catch (const TimeoutError&) {
      ADD_FAILURE() << "an outside cancel came out as TimeoutError";
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(Counted::live(), base);
}

TEST(TimeoutAt, PastAndFutureDeadlines) {
  Probe probe;
  auto body = [&]() -> Task<int> {
    EXPECT_THROW((void)co_await weft::timeout_at(work(&probe, 10s), Clock::now() - 1s),
                 TimeoutError);
    EXPECT_EQ(probe.started.load(), 0);  // a past deadline: never started
    EXPECT_THROW((void)co_await weft::timeout_at(work(&probe, 10s), Clock::now() + 20ms),
                 TimeoutError);
    co_return co_await weft::timeout_at(work(&probe, 1ms), Clock::now() + 10s);
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 1);
  EXPECT_EQ(probe.started.load(), 2);
  EXPECT_EQ(probe.ended.load(), 2);
}

// A cancel that lands anywhere around wait_for's completion — while it waits, while it joins,
// just after it returned — is never consumed without being delivered: the task, which
// sleeps after wait_for, always ends in CancelledError, and promptly.
TEST(WaitFor, CancelRacingWithCompletionIsNotLost) {
  const long base = Counted::live();
  auto victim = []() -> Task<int> {
    Probe probe;
    const int v = co_await weft::wait_for(work(&probe, 1ms), 10s);
    co_await weft::sleep(10s);
    co_return v;
  };
  auto body = [&]() -> Task<int> {
    int cancelled = 0;
    for (int round = 0; round < 200; ++round) {
      weft::JoinHandle<int> handle = weft::spawn(victim());
      for (int i = 0; i < round % 8; ++i) co_await weft::yield();
      if (round % 3 == 0) co_await weft::sleep(std::chrono::microseconds(round * 5));
      handle.cancel();
      EXPECT_TRUE(co_await weft::test::finished_within(handle, 5s)) << "round " << round;
      try {
        (void)co_await handle;
      } catch (const CancelledError&) {
        ++cancelled;
      }
    }
    co_return cancelled;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 200);
  EXPECT_EQ(Counted::live(), base);
}

int g_target = 0;
Task<int&> reference() {
  co_await weft::yield();
  co_return g_target;
}
Task<void> pause(Clock::duration d) { co_await weft::sleep(d); }

TEST(WaitFor, VoidAndReferenceResults) {
  auto body = []() -> Task<bool> {
    co_await weft::wait_for(pause(1ms), 10s);
    EXPECT_THROW(co_await weft::wait_for(pause(10s), 10ms), TimeoutError);
    int& r = co_await weft::wait_for(reference(), 10s);
    co_return &r == &g_target;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// Lazy: the timeout counts from when the wait_for task starts, not from its creation.
TEST(WaitFor, TimeoutStartsWhenAwaited) {
  Probe probe;
  auto body = [&]() -> Task<int> {
    Task<int> limited = weft::wait_for(work(&probe, 30ms), 200ms);
    co_await weft::sleep(250ms);
    co_return co_await std::move(limited);
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 1);
}

// --- JoinHandles ---------------------------------------------------------------------------

Task<int> fail_at_once() {
  throw std::runtime_error("failed");
  co_return 0;
}

// asyncio's test_waitfor: a future already done, given a timeout <= 0, gives its result.
TEST(WaitFor, ZeroTimeoutOnAFinishedHandleGivesItsOutcome) {
  auto body = []() -> Task<bool> {
    weft::JoinHandle<int> done = weft::spawn(at_once(7));
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return done.done(); }));
    EXPECT_EQ(co_await weft::wait_for(std::move(done), 0ms), 7);
    weft::JoinHandle<int> failed = weft::spawn(fail_at_once());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return failed.done(); }));
    EXPECT_THROW((void)co_await weft::timeout_at(std::move(failed), Clock::now() - 1s),
                 std::runtime_error);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// asyncio's test_waitfor: a task already running, given a timeout <= 0, is cancelled and
// joined, then TimeoutError.
TEST(WaitFor, ZeroTimeoutOnARunningHandleCancelsAndJoinsIt) {
  Probe probe;
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<int> running = weft::spawn(work(&probe, 10s, 30ms));
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 1; }));
    EXPECT_THROW((void)co_await weft::wait_for(std::move(running), -1s), TimeoutError);
    EXPECT_EQ(probe.cancelled.load(), 1);
    EXPECT_EQ(probe.ended.load(), 1);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// A spawned task under wait_for: its value in time; past the deadline its own task is
// cancelled and joined (wait_for owns the handle), then TimeoutError.
TEST(WaitFor, TakesAJoinHandleAndOwnsItsTask) {
  Probe probe;
  auto body = [&]() -> Task<bool> {
    EXPECT_EQ(co_await weft::wait_for(weft::spawn(work(&probe, 1ms)), 10s), 1);
    EXPECT_THROW((void)co_await weft::wait_for(weft::spawn(work(&probe, 10s, 20ms)), 20ms),
                 TimeoutError);
    EXPECT_EQ(probe.cancelled.load(), 1);
    EXPECT_EQ(probe.ended.load(), 2);
    co_await weft::wait_for(weft::spawn(pause(1ms)), 10s);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// Cancelling the task awaiting wait_for(handle) cancels the handle's task and joins it.
TEST(WaitFor, CancelOfTheWaiterReachesTheHandlesTask) {
  Probe probe;
  auto waiting = [&]() -> Task<int> {
    co_return co_await weft::wait_for(weft::spawn(work(&probe, 10s, 20ms)), 10s);
  };
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<int> handle = weft::spawn(waiting());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 1; }));
    handle.cancel();
    EXPECT_THROW((void)co_await handle, CancelledError);
    EXPECT_EQ(probe.cancelled.load(), 1);
    EXPECT_EQ(probe.ended.load(), 1);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// --- scopes expiring together ----------------------------------------------------------------

// Two scopes with the same deadline, one inside the other: only the outermost turns the
// cancel into TimeoutError; the inner one lets it pass as CancelledError (asyncio's
// test_timeouts, nested timeouts with the same deadline). Every round, on any number of
// loops: which loop's timer runs first must not matter. The outer scope's work is a task of
// its own: when the deadline passes before that task first ran (a slow machine, a
// sanitizer), it never runs (a task cancelled before its first run), so there is no inner
// scope that round, and the outer one still times out.
int nested_same_deadline_mismatches(unsigned loops, int rounds) {
  auto body = [rounds]() -> Task<int> {
    int mismatches = 0;
    int nested_rounds = 0;  // rounds in which the inner scope existed
    for (int round = 0; round < rounds; ++round) {
      const Clock::time_point deadline = Clock::now() + 1ms;
      bool entered = false;  // the outer scope's work started (so the inner scope exists)
      int inner = 0;  // 1 TimeoutError, 2 CancelledError (written by the work, read after it)
      auto inside = [&]() -> Task<void> {
        entered = true;
        try {
          co_await weft::timeout_at(pause(10s), deadline);
        } catch (const TimeoutError&) {
          inner = 1;
          throw;
        } catch (const CancelledError&) {
          inner = 2;
          throw;
        }
      };
      int outer = 0;
      try {
        co_await weft::timeout_at(inside(), deadline);
      } catch (const TimeoutError&) {
        outer = 1;
      } catch (const CancelledError&) {
        outer = 2;
      }
      if (entered) ++nested_rounds;
      if (inner != (entered ? 2 : 0) || outer != 1) {
        ++mismatches;
        ADD_FAILURE() << "round " << round << ": inner " << inner << ", outer " << outer
                      << (entered ? "" : " (the outer scope's work never started)");
      }
    }
    EXPECT_GT(nested_rounds, 0) << "the nested case never ran";
    co_return mismatches;
  };
  return weft::run(body(), weft::test::options(loops));
}

TEST(WaitFor, SameDeadlineOnlyTheOutermostTimesOutOneLoop) {
  EXPECT_EQ(nested_same_deadline_mismatches(1, 2000), 0);
}

TEST(WaitFor, SameDeadlineOnlyTheOutermostTimesOutTwoLoops) {
  EXPECT_EQ(nested_same_deadline_mismatches(2, 2000), 0);
}

// An inner deadline no later than the outer's, where the outer cancel was already consumed
// by the work (which swallowed it and went on): the inner expiry is the inner scope's own.
TEST(WaitFor, InnerScopeAfterASwallowedOuterCancelTimesOutItself) {
  auto inside = []() -> Task<int> {
    try {
      co_await weft::sleep(10s);
    } catch (const CancelledError&) {
    }
    try {
      co_await weft::wait_for(pause(10s), 5ms);
    } catch (const TimeoutError&) {
      co_return 1;
    }
    co_return 0;
  };
  auto body = [&]() -> Task<int> { co_return co_await weft::wait_for(inside(), 10ms); };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 1);
}

}  // namespace

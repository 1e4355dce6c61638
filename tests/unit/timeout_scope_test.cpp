// weft::timeout / weft::timeout_at with a body and its TimeoutScope: the behaviours asyncio's
// test_timeouts pins down for asyncio.timeout — expiry, a deadline that does not expire,
// when(), reschedule earlier, later, to none and into the past, expired(), an outer cancel
// that is not a timeout, nested scopes — with weft's cancel-then-join.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <weft/timeout.hpp>
#include <weft/wait_for.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::Task;
using weft::TimeoutError;
using weft::TimeoutScope;
using weft::test::Counted;

// Sleeps `d`, then returns 1. Records whether a cancel reached it and whether the scope said
// it had expired when it did.
struct Sleeper {
  std::atomic<int> started{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> cancelled_by_deadline{0};
  std::atomic<int> finished{0};

  Task<int> run(TimeoutScope& scope, Clock::duration d, Counted = {}) {
    started.fetch_add(1);
    try {
      co_await weft::sleep(d);
    } catch (const CancelledError&) {
      cancelled.fetch_add(1);
      if (scope.expired()) cancelled_by_deadline.fetch_add(1);
      throw;
    }
    finished.fetch_add(1);
    co_return 1;
  }
};

Task<void> nap(Clock::duration d) { co_await weft::sleep(d); }

TEST(TimeoutScope, ExpiryCancelsAndJoinsTheBodyThenTimeoutError) {
  const long base = Counted::live();
  Sleeper s;
  auto body = [&]() -> Task<bool> {
    EXPECT_THROW(
        (void)co_await weft::timeout(10ms, [&](TimeoutScope& scope) { return s.run(scope, 10s); }),
        TimeoutError);
    EXPECT_EQ(s.cancelled.load(), 1);  // joined: the body's catch has run
    EXPECT_EQ(s.cancelled_by_deadline.load(), 1);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(Counted::live(), base);
}

TEST(TimeoutScope, ADeadlineThatDoesNotExpireLeavesTheResult) {
  Sleeper s;
  auto body = [&]() -> Task<int> {
    co_return co_await weft::timeout(10s, [&](TimeoutScope& scope) -> Task<int> {
      const int v = co_await s.run(scope, 1ms);
      EXPECT_FALSE(scope.expired());
      co_return v + 1;
    });
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 2);
  EXPECT_EQ(s.cancelled.load(), 0);
}

TEST(TimeoutScope, WhenIsTheDeadlineAndNulloptIsNone) {
  auto body = []() -> Task<bool> {
    const Clock::time_point at = Clock::now() + 1h;
    co_await weft::timeout_at(at, [&](TimeoutScope& scope) -> Task<void> {
      EXPECT_EQ(scope.when(), std::optional(at));
      co_return;
    });
    co_await weft::timeout(std::nullopt, [&](TimeoutScope& scope) -> Task<void> {
      EXPECT_EQ(scope.when(), std::nullopt);
      co_await weft::sleep(1ms);
      EXPECT_FALSE(scope.expired());
    });
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// A delay <= 0 never starts the body (as wait_for with a timeout <= 0 never starts a Task).
TEST(TimeoutScope, ADeadlineAlreadyPassedNeverStartsTheBody) {
  Sleeper s;
  auto body = [&]() -> Task<bool> {
    EXPECT_THROW(
        (void)co_await weft::timeout(0ms, [&](TimeoutScope& scope) { return s.run(scope, 10s); }),
        TimeoutError);
    EXPECT_THROW((void)co_await weft::timeout_at(
                     Clock::now() - 1s, [&](TimeoutScope& scope) { return s.run(scope, 10s); }),
                 TimeoutError);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(s.started.load(), 0);
}

TEST(TimeoutScope, RescheduleEarlierExpiresAtTheNewDeadline) {
  Sleeper s;
  auto body = [&]() -> Task<bool> {
    EXPECT_THROW((void)co_await weft::timeout(1h,
                                              [&](TimeoutScope& scope) {
                                                scope.reschedule(Clock::now() + 10ms);
                                                return s.run(scope, 1h);
                                              }),
                 TimeoutError);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(s.cancelled_by_deadline.load(), 1);
}

// The first deadline passes while the body waits, but it was moved later first: the body
// finishes with its value.
TEST(TimeoutScope, RescheduleLaterLetsTheBodyFinish) {
  auto body = []() -> Task<int> {
    co_return co_await weft::timeout(200ms, [&](TimeoutScope& scope) -> Task<int> {
      scope.reschedule(Clock::now() + 1h);
      co_await weft::sleep(300ms);  // well past the first deadline
      EXPECT_FALSE(scope.expired());
      co_return 5;
    });
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 5);
}

TEST(TimeoutScope, RescheduleToNoneDisablesTheDeadline) {
  auto body = []() -> Task<int> {
    co_return co_await weft::timeout(200ms, [&](TimeoutScope& scope) -> Task<int> {
      scope.reschedule(std::nullopt);
      EXPECT_EQ(scope.when(), std::nullopt);
      co_await weft::sleep(300ms);
      co_return 6;
    });
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 6);
}

TEST(TimeoutScope, RescheduleFromNoneArmsADeadline) {
  Sleeper s;
  auto body = [&]() -> Task<bool> {
    EXPECT_THROW((void)co_await weft::timeout(std::nullopt,
                                              [&](TimeoutScope& scope) {
                                                scope.reschedule(Clock::now() + 10ms);
                                                return s.run(scope, 1h);
                                              }),
                 TimeoutError);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(s.cancelled_by_deadline.load(), 1);
}

// A deadline moved into the past expires the scope at once; then reschedule is refused
// (asyncio raises RuntimeError on a Timeout that is expiring).
TEST(TimeoutScope, RescheduleIntoThePastExpiresAndThenRefusesReschedule) {
  auto body = []() -> Task<bool> {
    bool refused = false;
    EXPECT_THROW((void)co_await weft::timeout(1h,
                                              [&](TimeoutScope& scope) -> Task<void> {
                                                scope.reschedule(Clock::now() - 1s);
                                                EXPECT_TRUE(scope.expired());
                                                try {
                                                  scope.reschedule(Clock::now() + 1h);
                                                } catch (const std::logic_error&) {
                                                  refused = true;
                                                }
                                                co_await weft::sleep(1h);
                                              }),
                 TimeoutError);
    co_return refused;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// A cancel of the task awaiting the scope is CancelledError, not TimeoutError, and the body
// saw it as a cancel from outside (expired() false).
TEST(TimeoutScope, OuterCancelIsNotTurnedIntoTimeoutError) {
  Sleeper s;
  auto waiting = [&]() -> Task<int> {
    co_return co_await weft::timeout(1h, [&](TimeoutScope& scope) { return s.run(scope, 1h); });
  };
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<int> handle = weft::spawn(waiting());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return s.started.load() == 1; }));
    handle.cancel();
    EXPECT_THROW((void)co_await handle, CancelledError);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(s.cancelled.load(), 1);
  EXPECT_EQ(s.cancelled_by_deadline.load(), 0);
}

// A body that swallows the deadline's cancel and returns a value: the value wins.
TEST(TimeoutScope, ValueReturnedAfterTheCancelWins) {
  auto body = []() -> Task<int> {
    co_return co_await weft::timeout(10ms, [](TimeoutScope& scope) -> Task<int> {
      try {
        co_await weft::sleep(1h);
      } catch (const CancelledError&) {
        co_return scope.expired() ? 42 : -1;
      }
      co_return 0;
    });
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 42);
}

TEST(TimeoutScope, AnExceptionOfTheBodyPassesThrough) {
  auto body = []() -> Task<bool> {
    EXPECT_THROW(co_await weft::timeout(1h,
                                        [](TimeoutScope&) -> Task<void> {
                                          co_await weft::yield();
                                          throw std::runtime_error("body failed");
                                        }),
                 std::runtime_error);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// Nested: the inner deadline first -> the inner scope's TimeoutError, the outer goes on.
TEST(TimeoutScope, NestedInnerExpiresTheOuterGoesOn) {
  auto body = []() -> Task<int> {
    co_return co_await weft::timeout(1h, [](TimeoutScope& outer) -> Task<int> {
      try {
        co_await weft::timeout(10ms, [](TimeoutScope&) { return nap(1h); });
      } catch (const TimeoutError&) {
        co_return outer.expired() ? -1 : 1;
      }
      co_return 0;
    });
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 1);
}

// Nested: the outer deadline first -> the inner scope sees CancelledError (it did not
// expire), the outer scope's TimeoutError comes out.
TEST(TimeoutScope, NestedOuterExpiresTheInnerSeesCancelledError) {
  std::atomic<int> inner_saw{0};  // 1 TimeoutError, 2 CancelledError
  auto body = [&]() -> Task<bool> {
    EXPECT_THROW(co_await weft::timeout(10ms,
                                        [&](TimeoutScope&) -> Task<void> {
                                          try {
                                            co_await weft::timeout(
                                                1h, [](TimeoutScope&) { return nap(1h); });
                                          } catch (const TimeoutError&) {
                                            inner_saw = 1;
                                            throw;
                                          } catch (const CancelledError&) {
                                            inner_saw = 2;
                                            throw;
                                          }
                                        }),
                 TimeoutError);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(inner_saw.load(), 2);
}

// Two scopes rescheduled to the same deadline from inside: only the outer one times out,
// every round, on 1 and 2 loops.
int rescheduled_same_deadline_mismatches(unsigned loops, int rounds) {
  auto body = [rounds]() -> Task<int> {
    int mismatches = 0;
    for (int round = 0; round < rounds; ++round) {
      int inner = 0;
      int outer = 0;
      try {
        co_await weft::timeout(1h, [&](TimeoutScope& outer_scope) -> Task<void> {
          const Clock::time_point deadline = Clock::now() + 1ms;
          outer_scope.reschedule(deadline);
          try {
            co_await weft::timeout_at(deadline, [](TimeoutScope&) { return nap(1h); });
          } catch (const TimeoutError&) {
            inner = 1;
            throw;
          } catch (const CancelledError&) {
            inner = 2;
            throw;
          }
        });
      } catch (const TimeoutError&) {
        outer = 1;
      } catch (const CancelledError&) {
        outer = 2;
      }
      if (inner != 2 || outer != 1) {
        ++mismatches;
        ADD_FAILURE() << "round " << round << ": inner " << inner << ", outer " << outer;
      }
    }
    co_return mismatches;
  };
  return weft::run(body(), weft::test::options(loops));
}

TEST(TimeoutScope, SameDeadlineOnlyTheOutermostTimesOutOneLoop) {
  EXPECT_EQ(rescheduled_same_deadline_mismatches(1, 1000), 0);
}

TEST(TimeoutScope, SameDeadlineOnlyTheOutermostTimesOutTwoLoops) {
  EXPECT_EQ(rescheduled_same_deadline_mismatches(2, 1000), 0);
}

}  // namespace

// Deadlines run in the awaiting task (weft/detail/task_deadline.hpp): what that design must
// keep true beyond wait_for's and weft::timeout's own tests — a deadline request that the
// work never received is withdrawn and never lands later, a timeout that was answered is
// not a swallowed cancel, the scope belongs to its task, and scopes armed on one loop end
// on another.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>
#include <weft/timeout.hpp>
#include <weft/wait_for.hpp>
#include <weft/weft.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::Task;
using weft::TimeoutError;
using weft::TimeoutScope;

Task<void> nap(Clock::duration d) { co_await weft::sleep(d); }

// The scope expires while the body runs (a deadline moved into the past), and the body
// returns before any suspension: its value stands, and the deadline's cancel, which never
// reached it, does not land at the task's next suspension either (asyncio 3.13's
// uncancel() clears the pending cancel in the same way).
TEST(TaskDeadline, ARequestTheWorkNeverReceivedIsWithdrawn) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(loops);
    auto body = []() -> Task<int> {
      const int v = co_await weft::timeout(1h, [](TimeoutScope& scope) -> Task<int> {
        scope.reschedule(Clock::now() - 1s);
        co_return scope.expired() ? 7 : 0;
      });
      co_await weft::sleep(1ms);  // would throw CancelledError if the request had stayed
      co_return v;
    };
    EXPECT_EQ(weft::run(body(), weft::test::options(loops)), 7);
  }
}

// A task that met a timeout and handled the TimeoutError did not swallow a cancel: the
// runtime's cancels_swallowed metric stays at zero.
TEST(TaskDeadline, AnAnsweredTimeoutIsNotASwallowedCancel) {
  weft::Runtime rt(weft::test::options(2));
  auto body = []() -> Task<int> {
    int timeouts = 0;
    for (int i = 0; i < 20; ++i) {
      try {
        co_await weft::wait_for(nap(1h), 1ms);
      } catch (const TimeoutError&) {
        ++timeouts;
      }
    }
    co_return timeouts;
  };
  EXPECT_EQ(rt.block_on(body()), 20);
  EXPECT_EQ(rt.metrics().total().cancels_swallowed, 0u);
}

// The scope is its task's: another task may read it but not move it.
TEST(TaskDeadline, AnotherTaskCannotRescheduleTheScope) {
  auto body = []() -> Task<bool> {
    bool refused = false;
    co_await weft::timeout(1h, [&](TimeoutScope& scope) -> Task<void> {
      auto other = [](TimeoutScope& s, bool& out) -> Task<void> {
        try {
          s.reschedule(Clock::now() + 2h);
        } catch (const std::logic_error&) {
          out = true;
        }
        EXPECT_TRUE(s.when().has_value());
        co_return;
      };
      co_await weft::spawn(other(scope, refused));
    });
    co_return refused;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// Many tasks on two loops, each running wait_for in a loop over work that yields (so its
// deadline is armed on the loop it suspends on, and the scope often ends on the other) and
// over work that outlives a short deadline: every outcome is the right one.
TEST(TaskDeadline, ScopesArmedOnOneLoopEndOnAnother) {
  constexpr int kTasks = 32;
  constexpr int kRounds = 300;
  auto yields_then = [](int v, int yields) -> Task<int> {
    for (int i = 0; i < yields; ++i) co_await weft::yield();
    co_return v;
  };
  auto worker = [yields_then](int id) -> Task<int> {
    int sum = 0;
    for (int r = 0; r < kRounds; ++r) {
      sum += co_await weft::wait_for(yields_then(r, 1 + (r + id) % 3), 1h);
      if (r % 50 == 0) {
        try {
          co_await weft::wait_for(nap(1h), 1ms);
          ADD_FAILURE() << "no timeout";
        } catch (const TimeoutError&) {
        }
      }
    }
    co_return sum;
  };
  auto body = [worker]() -> Task<long> {
    std::vector<weft::JoinHandle<int>> handles;
    for (int t = 0; t < kTasks; ++t) handles.push_back(weft::spawn(worker(t)));
    long total = 0;
    for (auto& h : handles) total += co_await h;
    co_return total;
  };
  weft::Runtime rt(weft::test::options(2));
  EXPECT_EQ(rt.block_on(body()), long{kTasks} * (kRounds * (kRounds - 1) / 2));
  EXPECT_EQ(rt.metrics().total().cancels_swallowed, 0u);
}

// A cancel of the task while its wait_for's deadline also passes is never lost: it comes out
// as CancelledError, and the task ends cancelled.
// The waiter: a wait_for whose deadline comes 2 ms after `waiting` is set, then a long
// sleep. A coroutine with parameters, not a capturing lambda: its frame must not refer to a
// temporary closure.
Task<int> wait_then_sleep(std::atomic<bool>* waiting) {
  int v = 2;
  waiting->store(true);
  try {
    co_await weft::wait_for(nap(1h), 2ms);
  } catch (const TimeoutError&) {
    v = 1;  // the deadline came first, and the cancel lands below
  }
  co_await weft::sleep(1h);
  co_return v;
}

TEST(TaskDeadline, ACancelOfTheTaskAtTheDeadlineIsCancelledError) {
  for (int round = 0; round < 50; ++round) {
    weft::Runtime rt(weft::test::options(2));
    std::atomic<bool> waiting{false};
    auto body = [](std::atomic<bool>* flag) -> Task<bool> {
      auto h = weft::spawn(wait_then_sleep(flag));
      EXPECT_TRUE(co_await weft::test::co_wait_until([flag] { return flag->load(); }));
      co_await weft::sleep(2ms);
      h.cancel();
      try {
        (void)co_await h;
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    ASSERT_TRUE(rt.block_on(body(&waiting))) << "round " << round;
  }
}

}  // namespace

// weft::wait: asyncio.wait's return_when and timeout (asyncio's test_tasks wait tests:
// FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED, a timeout, an empty set), and what
// weft adds: the pending tasks are not cancelled and stay the caller's, and a cancelled
// wait() leaves nothing running.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>
#include <weft/wait.hpp>

#include "probe.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::JoinHandle;
using weft::ReturnWhen;
using weft::Task;
using weft::WaitResult;

using weft::test::Probe;

Task<int> value_after(int v, Clock::duration d) {
  co_await weft::sleep(d);
  co_return v;
}

Task<int> fail_after(Clock::duration d) {
  co_await weft::sleep(d);
  throw std::runtime_error("failed");
}

// Sleeps `d`; on a cancel, records it and rethrows.
Task<int> sleeper(Probe* p, int v, Clock::duration d) {
  p->started.fetch_add(1);
  try {
    co_await weft::sleep(d);
  } catch (const CancelledError&) {
    p->cancelled.fetch_add(1);
    p->ended.fetch_add(1);
    throw;
  }
  p->ended.fetch_add(1);
  co_return v;
}

// FIRST_COMPLETED: one done, the other pending — and still running, uncancelled; the caller
// awaits it later through its handle.
TEST(AsyncioWait, FirstCompletedLeavesThePendingTaskRunning) {
  Probe probe;
  auto body = [&]() -> Task<int> {
    std::vector<JoinHandle<int>> tasks;
    tasks.push_back(weft::spawn(sleeper(&probe, 1, 40ms)));
    tasks.push_back(weft::spawn(sleeper(&probe, 2, 1ms)));
    WaitResult<int> r = co_await weft::wait(std::move(tasks), ReturnWhen::first_completed);
    EXPECT_EQ(r.done.size(), 1u);
    EXPECT_EQ(r.pending.size(), 1u);
    EXPECT_TRUE(r.done.at(0).done());
    EXPECT_EQ(co_await r.done.at(0), 2);
    EXPECT_EQ(probe.cancelled.load(), 0);
    const int later = co_await r.pending.at(0);  // ran on to its end
    EXPECT_EQ(probe.cancelled.load(), 0);
    co_return later;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 1);
}

// ALL_COMPLETED (the default): every task done, none pending, values in the given order.
void all_completed(unsigned loops) {
  auto body = []() -> Task<bool> {
    std::vector<JoinHandle<int>> tasks;
    for (int i = 0; i < 50; ++i) tasks.push_back(weft::spawn(value_after(i, (i % 5) * 1ms)));
    WaitResult<int> r = co_await weft::wait(std::move(tasks));
    EXPECT_EQ(r.pending.size(), 0u);
    EXPECT_EQ(r.done.size(), 50u);
    for (std::size_t i = 0; i < r.done.size(); ++i) {
      EXPECT_EQ(co_await r.done[i], static_cast<int>(i));
    }
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(loops)));
}
TEST(AsyncioWait, AllCompletedOneLoop) { all_completed(1); }
TEST(AsyncioWait, AllCompletedTwoLoops) { all_completed(2); }

// FIRST_EXCEPTION: returns at the first failure; a task that only finished does not count.
TEST(AsyncioWait, FirstExceptionReturnsAtTheFirstFailure) {
  Probe probe;
  auto body = [&]() -> Task<bool> {
    std::vector<JoinHandle<int>> tasks;
    tasks.push_back(weft::spawn(value_after(1, 1ms)));
    tasks.push_back(weft::spawn(fail_after(15ms)));
    tasks.push_back(weft::spawn(sleeper(&probe, 3, 1h)));
    WaitResult<int> r = co_await weft::wait(std::move(tasks), ReturnWhen::first_exception);
    EXPECT_EQ(r.done.size(), 2u);
    EXPECT_EQ(r.pending.size(), 1u);
    EXPECT_EQ(co_await r.done.at(0), 1);
    EXPECT_THROW((void)co_await r.done.at(1), std::runtime_error);
    r.pending.at(0).cancel();  // the caller's to stop
    EXPECT_THROW((void)co_await r.pending.at(0), CancelledError);
    EXPECT_EQ(probe.cancelled.load(), 1);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// FIRST_EXCEPTION with no failure waits for all (asyncio: then it is ALL_COMPLETED).
TEST(AsyncioWait, FirstExceptionWithoutFailureWaitsForAll) {
  auto body = []() -> Task<std::size_t> {
    std::vector<JoinHandle<int>> tasks;
    tasks.push_back(weft::spawn(value_after(1, 1ms)));
    tasks.push_back(weft::spawn(value_after(2, 5ms)));
    WaitResult<int> r = co_await weft::wait(std::move(tasks), ReturnWhen::first_exception);
    co_return r.done.size() * 10 + r.pending.size();
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 20u);
}

// A timeout returns what is done and what is pending; no error, nothing cancelled.
TEST(AsyncioWait, TimeoutReturnsWithThePendingTasksUncancelled) {
  Probe probe;
  auto body = [&]() -> Task<bool> {
    std::vector<JoinHandle<int>> tasks;
    tasks.push_back(weft::spawn(value_after(1, 1ms)));
    tasks.push_back(weft::spawn(sleeper(&probe, 2, 1h)));
    WaitResult<int> r = co_await weft::wait(std::move(tasks), ReturnWhen::all_completed, 30ms);
    EXPECT_EQ(r.done.size(), 1u);
    EXPECT_EQ(r.pending.size(), 1u);
    EXPECT_EQ(probe.cancelled.load(), 0);
    EXPECT_FALSE(r.pending.at(0).done());
    r.pending.at(0).cancel();
    EXPECT_THROW((void)co_await r.pending.at(0), CancelledError);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(probe.cancelled.load(), 1);
}

TEST(AsyncioWait, EmptyVectorThrows) {
  auto body = []() -> Task<bool> {
    EXPECT_THROW((void)co_await weft::wait(std::vector<JoinHandle<int>>{}), std::invalid_argument);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(1)));
}

// The task calling wait() is cancelled: it owned the tasks at that moment, so it cancels
// and joins every one of them before CancelledError comes out.
TEST(AsyncioWait, CancelledWaitCancelsAndJoinsEveryTask) {
  Probe probe;
  auto waiting = [&]() -> Task<std::size_t> {
    std::vector<JoinHandle<int>> tasks;
    for (int i = 0; i < 3; ++i) tasks.push_back(weft::spawn(sleeper(&probe, i, 1h)));
    WaitResult<int> r = co_await weft::wait(std::move(tasks));
    co_return r.done.size();
  };
  auto body = [&]() -> Task<bool> {
    JoinHandle<std::size_t> handle = weft::spawn(waiting());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 3; }));
    handle.cancel();
    EXPECT_THROW((void)co_await handle, CancelledError);
    EXPECT_EQ(probe.cancelled.load(), 3);
    EXPECT_EQ(probe.ended.load(), 3);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

}  // namespace

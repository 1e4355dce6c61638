// weft::Mutex and weft::Condition: mutual exclusion under contention across loops, the guard's
// RAII and move semantics, FIFO handoff with no barging, and cancellation that passes on a
// granted lock or notification (a Condition wait re-locks before it throws).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <weft/condition.hpp>
#include <weft/mutex.hpp>

#include "expect_soon.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Condition;
using weft::JoinHandle;
using weft::Mutex;
using weft::MutexGuard;
using weft::Task;

using weft::test::expect_soon;

template <class T>
Task<void> join_all(std::vector<JoinHandle<T>>& handles) {
  for (auto& handle : handles) {
    if (const bool ok = co_await weft::test::finished_within(handle); !ok) {
      ADD_FAILURE() << "a task did not finish within 10 s";
      throw std::runtime_error("timed out");
    }
    co_await handle;
  }
}

// --- mutual exclusion -------------------------------------------------------------------------

// A plain (non-atomic) counter: a lost update, or a data race TSan sees, fails the test.
TEST(Mutex, ExcludesUnderContentionAcrossLoops) {
  const std::size_t tasks = 1000;
  const std::size_t rounds = weft::test::scaled(100, 10);
  Mutex mutex;
  std::size_t counter = 0;
  std::atomic<int> inside{0}, max_inside{0};
  auto worker = [&]() -> Task<void> {
    for (std::size_t i = 0; i < rounds; ++i) {
      auto guard = co_await mutex.lock();
      const int now = inside.fetch_add(1) + 1;
      if (now > max_inside.load()) max_inside.store(now);
      const std::size_t read = counter;
      if (i % 4 == 0) co_await weft::yield();  // hold it across a suspension
      counter = read + 1;
      inside.fetch_sub(1);
    }
  };
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<void>> handles;
    for (std::size_t i = 0; i < tasks; ++i) handles.push_back(weft::spawn(worker()));
    co_await join_all(handles);
  };
  weft::run(body(), weft::test::options(2));
  EXPECT_EQ(counter, tasks * rounds);
  EXPECT_EQ(max_inside.load(), 1);
  EXPECT_FALSE(mutex.locked());
}

TEST(Mutex, GuardUnlocksAndMoves) {
  Mutex mutex;
  auto body = [&]() -> Task<void> {
    {
      MutexGuard guard = co_await mutex.lock();
      EXPECT_TRUE(guard.owns_lock());
      EXPECT_EQ(guard.mutex(), &mutex);
      EXPECT_TRUE(mutex.locked());
      EXPECT_FALSE(mutex.try_lock().has_value());
      MutexGuard moved = std::move(guard);
      EXPECT_FALSE(guard.owns_lock());  // NOLINT(bugprone-use-after-move): the point
      EXPECT_TRUE(moved.owns_lock());
      EXPECT_TRUE(mutex.locked());
      moved.unlock();
      EXPECT_FALSE(moved.owns_lock());
      EXPECT_FALSE(mutex.locked());
      moved.unlock();  // a second unlock of the same guard is a no-op
      EXPECT_FALSE(mutex.locked());
    }
    {
      auto tried = mutex.try_lock();
      EXPECT_TRUE(tried.has_value());
      EXPECT_TRUE(mutex.locked());
    }
    EXPECT_FALSE(mutex.locked());
    MutexGuard empty;
    EXPECT_FALSE(empty);
    EXPECT_EQ(empty.mutex(), nullptr);
    co_return;
  };
  weft::run(body(), weft::test::options(2));
}

TEST(Mutex, GuardUnlocksWhenTheTaskThrows) {
  Mutex mutex;
  auto body = [&]() -> Task<void> {
    auto guard = co_await mutex.lock();
    throw std::runtime_error("boom");
  };
  EXPECT_THROW(weft::run(body(), weft::test::options(2)), std::runtime_error);
  EXPECT_FALSE(mutex.locked());
}

// One loop, so that arrival order is known: each waiter runs up to its lock() before the
// driver resumes from its yield.
TEST(Mutex, HandsOffInArrivalOrderWithoutBarging) {
  constexpr int kWaiters = 10;
  Mutex mutex;
  std::vector<int> order;
  std::atomic<int> started{0};
  auto waiter = [&](int i) -> Task<void> {
    started.fetch_add(1);
    auto guard = co_await mutex.lock();
    order.push_back(i);
  };
  auto body = [&]() -> Task<void> {
    auto held = co_await mutex.lock();
    std::vector<JoinHandle<void>> handles;
    for (int i = 0; i < kWaiters; ++i) {
      handles.push_back(weft::spawn(waiter(i)));
      co_await expect_soon([&] { return started.load() == i + 1; }, "waiter started");
    }
    held.unlock();
    // Handed to waiter 0: a newcomer cannot take it, though waiter 0 has not run yet.
    EXPECT_FALSE(mutex.try_lock().has_value());
    co_await join_all(handles);
  };
  weft::run(body(), weft::test::options(1));
  std::vector<int> expected;
  for (int i = 0; i < kWaiters; ++i) expected.push_back(i);
  EXPECT_EQ(order, expected);
}

TEST(Mutex, GrantedThenCancelledWaiterPassesTheLockOn) {
  Mutex mutex;
  std::atomic<bool> a_got{false}, b_got{false};
  std::atomic<int> started{0};
  auto locker = [&](std::atomic<bool>* got) -> Task<void> {
    started.fetch_add(1);
    auto guard = co_await mutex.lock();
    got->store(true);
  };
  auto body = [&]() -> Task<void> {
    auto held = co_await mutex.lock();
    auto a = weft::spawn(locker(&a_got));
    co_await expect_soon([&] { return started.load() == 1; }, "A started");
    co_await weft::yield();  // one loop: A ran up to its wait before we resume
    auto b = weft::spawn(locker(&b_got));
    co_await expect_soon([&] { return started.load() == 2; }, "B started");
    co_await weft::yield();
    held.unlock();  // to A, who is scheduled but has not run
    a.cancel();
    EXPECT_THROW(co_await a, CancelledError);
    EXPECT_TRUE(co_await weft::test::finished_within(b)) << "the lock was lost with A";
  };
  weft::run(body(), weft::test::options(1));
  EXPECT_FALSE(a_got.load());
  EXPECT_TRUE(b_got.load());
  EXPECT_FALSE(mutex.locked());
}

// --- Condition ----------------------------------------------------------------------------------

TEST(Condition, ProducerConsumerWithPredicate) {
  const std::size_t n = weft::test::scaled(20'000, 2'000);
  Mutex mutex;
  Condition ready(mutex);
  std::deque<std::size_t> items;
  bool finished = false;
  std::size_t sum = 0, count = 0;
  auto consumer = [&]() -> Task<void> {
    for (;;) {
      auto guard = co_await mutex.lock();
      co_await ready.wait(guard, [&] { return !items.empty() || finished; });
      EXPECT_TRUE(guard.owns_lock());
      if (items.empty()) co_return;
      sum += items.front();
      ++count;
      items.pop_front();
    }
  };
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<void>> consumers;
    for (int i = 0; i < 4; ++i) consumers.push_back(weft::spawn(consumer()));
    for (std::size_t i = 1; i <= n; ++i) {
      auto guard = co_await mutex.lock();
      items.push_back(i);
      ready.notify_one();
    }
    {
      auto guard = co_await mutex.lock();
      finished = true;
      ready.notify_all();
    }
    co_await join_all(consumers);
  };
  weft::run(body(), weft::test::options(2));
  EXPECT_EQ(count, n);
  EXPECT_EQ(sum, n * (n + 1) / 2);
}

TEST(Condition, NotifyAllWakesEveryWaiterNotifyOneWakesOne) {
  Mutex mutex;
  Condition cond(mutex);
  std::atomic<int> waiting{0}, woken{0};
  auto waiter = [&]() -> Task<void> {
    auto guard = co_await mutex.lock();
    waiting.fetch_add(1);
    co_await cond.wait(guard);
    woken.fetch_add(1);
  };
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<void>> handles;
    for (int i = 0; i < 5; ++i) handles.push_back(weft::spawn(waiter()));
    co_await expect_soon([&] { return waiting.load() == 5; }, "all waiting");
    {
      // Everyone who incremented `waiting` did so under the mutex and released it only by
      // waiting: holding it now means all five are in the condition's list.
      auto guard = co_await mutex.lock();
      cond.notify_one();
    }
    co_await expect_soon([&] { return woken.load() == 1; }, "one woken");
    co_await weft::sleep(5ms);
    EXPECT_EQ(woken.load(), 1) << "notify_one woke more than one";
    {
      auto guard = co_await mutex.lock();
      cond.notify_all();
    }
    co_await join_all(handles);
  };
  weft::run(body(), weft::test::options(2));
  EXPECT_EQ(woken.load(), 5);
}

TEST(Condition, CancelledWaitRelocksAndPassesTheNotificationOn) {
  Mutex mutex;
  Condition cond(mutex);
  std::atomic<int> waiting{0};
  std::atomic<bool> a_held_lock_after_cancel{false}, b_woken{false};
  auto a_body = [&]() -> Task<void> {
    auto guard = co_await mutex.lock();
    waiting.fetch_add(1);
    try {
      co_await cond.wait(guard);
    } catch (const CancelledError&) {
      a_held_lock_after_cancel.store(guard.owns_lock() && mutex.locked());
      throw;
    }
  };
  auto b_body = [&]() -> Task<void> {
    auto guard = co_await mutex.lock();
    waiting.fetch_add(1);
    co_await cond.wait(guard);
    b_woken.store(true);
  };
  auto body = [&]() -> Task<void> {
    auto a = weft::spawn(a_body());
    co_await expect_soon([&] { return waiting.load() == 1; }, "A waiting");
    auto b = weft::spawn(b_body());
    co_await expect_soon([&] { return waiting.load() == 2; }, "B waiting");
    {
      auto guard = co_await mutex.lock();  // both are in the list now
      cond.notify_one();                   // chooses A, who has not run yet (one loop)
      a.cancel();
    }
    EXPECT_THROW(co_await a, CancelledError);
    EXPECT_TRUE(co_await weft::test::finished_within(b)) << "the notification was lost with A";
  };
  weft::run(body(), weft::test::options(1));
  EXPECT_TRUE(a_held_lock_after_cancel.load());
  EXPECT_TRUE(b_woken.load());
  EXPECT_FALSE(mutex.locked());
}

TEST(Condition, WaitWithAForeignGuardThrows) {
  Mutex mutex, other;
  Condition cond(mutex);
  auto body = [&]() -> Task<void> {
    auto guard = co_await other.lock();
    co_await cond.wait(guard);
  };
  EXPECT_THROW(weft::run(body(), weft::test::options(2)), std::logic_error);
}

}  // namespace

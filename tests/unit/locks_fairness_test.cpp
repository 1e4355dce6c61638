// asyncio's lock fairness, in weft (asyncio's test_locks Semaphore and Lock cases): a
// release hands its permit to the oldest waiter, which owns it before it even runs, so no
// later arrival can take it; a waiter handed a permit and cancelled before it resumes passes
// it on (to the next waiter, else back to the count); Semaphore::locked() says whether an
// acquire would wait. These assert ownership (who holds the permit), never run order.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/mutex.hpp>
#include <weft/semaphore.hpp>

#include "expect_soon.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::JoinHandle;
using weft::Semaphore;
using weft::Task;

using weft::test::expect_soon;

// Acquires, says so, and holds the permit until `release` is set.
Task<void> acquire_and_hold(Semaphore* sem, std::atomic<bool>* got, std::atomic<bool>* release) {
  auto permit = co_await sem->scoped();
  got->store(true);
  co_await weft::test::co_wait_until([release] { return release->load(); });
}

// asyncio's test_acquire_fifo_order / bpo-45997: A and B wait; two releases hand one permit
// to each. C and D arrive before A and B run: C must queue behind them, D's try_acquire
// fails. A and B end up holding, C waits for the next release.
TEST(Semaphore, ReleasedPermitsBelongToTheOldestWaitersNotToLaterArrivals) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    Semaphore sem(0);
    std::atomic<bool> a_got{false}, b_got{false}, c_got{false}, done{false};
    auto body = [&]() -> Task<void> {
      auto a = weft::spawn(acquire_and_hold(&sem, &a_got, &done));
      co_await expect_soon([&] { return sem.waiting() == 1; }, "A queued");
      auto b = weft::spawn(acquire_and_hold(&sem, &b_got, &done));
      co_await expect_soon([&] { return sem.waiting() == 2; }, "B queued");
      sem.release();
      sem.release();
      EXPECT_EQ(sem.available(), 0u) << "a released permit went to the count, not to a waiter";
      EXPECT_TRUE(sem.locked());
      EXPECT_FALSE(sem.try_acquire()) << "a later arrival took a permit a waiter owns";
      auto c = weft::spawn(acquire_and_hold(&sem, &c_got, &done));
      co_await expect_soon([&] { return a_got.load() && b_got.load(); }, "A and B hold");
      co_await expect_soon([&] { return sem.waiting() == 1; }, "C queued");
      EXPECT_FALSE(c_got.load()) << "C overtook a waiter";
      sem.release();  // C's
      co_await expect_soon([&] { return c_got.load(); }, "C holds");
      done.store(true);
      for (auto* h : {&a, &b, &c}) {
        EXPECT_TRUE(co_await weft::test::finished_within(*h));
        co_await *h;
      }
    };
    weft::run(body(), weft::test::options(loops));
    EXPECT_EQ(sem.available(), 3u) << "permits created or destroyed";
    EXPECT_EQ(sem.waiting(), 0u);
  }
}

// asyncio's Semaphore.locked(): true when acquire() would wait — no permit free, or tasks
// queued (a newcomer waits behind them).
TEST(Semaphore, LockedWhenAnAcquireWouldWait) {
  Semaphore sem(2);
  EXPECT_FALSE(sem.locked());
  ASSERT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.locked());
  ASSERT_TRUE(sem.try_acquire());
  EXPECT_TRUE(sem.locked());
  sem.release();
  EXPECT_FALSE(sem.locked());

  Semaphore none(0);
  std::atomic<bool> got{false}, release{true};
  auto body = [&]() -> Task<void> {
    auto w = weft::spawn(acquire_and_hold(&none, &got, &release));
    co_await expect_soon([&] { return none.waiting() == 1; }, "waiter queued");
    EXPECT_TRUE(none.locked());
    none.release();  // owned by the waiter from now on
    EXPECT_TRUE(none.locked()) << "a permit owed to a waiter looked free";
    co_await w;
    EXPECT_FALSE(none.locked());
  };
  weft::run(body(), weft::test::options(1));
}

// asyncio's test_acquire_cancel_after_awoken (no other waiter): the permit A was handed
// goes back to the count when A is cancelled before it runs.
TEST(Semaphore, CancelledWaiterHandedAPermitGivesItBackToTheCountWhenNobodyWaits) {
  Semaphore sem(0);
  std::atomic<bool> got{false}, release{true};
  auto body = [&]() -> Task<void> {
    auto a = weft::spawn(acquire_and_hold(&sem, &got, &release));
    co_await expect_soon([&] { return sem.waiting() == 1; }, "A queued");
    sem.release();  // to A, who has not run (one loop)
    a.cancel();
    EXPECT_THROW(co_await a, CancelledError);
    EXPECT_EQ(sem.available(), 1u) << "the permit died with A";
    EXPECT_FALSE(sem.locked());
  };
  weft::run(body(), weft::test::options(1));
  EXPECT_FALSE(got.load());
}

// asyncio's Lock fairness (test_lock_fifo / test_finished_waiter_cancelled): the unlock
// hands the lock to the oldest waiter; a newcomer's try_lock fails even though nobody runs
// holding it yet, and the waiter that owns it was not overtaken.
TEST(Mutex, UnlockHandsTheLockToTheOldestWaiterWhichOwnsItBeforeItRuns) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    weft::Mutex mutex;
    std::atomic<int> started{0};
    std::vector<int> order;  // guarded by mutex
    auto locker = [&](int i) -> Task<void> {
      started.fetch_add(1);
      auto guard = co_await mutex.lock();
      order.push_back(i);
    };
    auto body = [&]() -> Task<void> {
      auto held = co_await mutex.lock();
      std::vector<JoinHandle<void>> handles;
      for (int i = 0; i < 3; ++i) {
        handles.push_back(weft::spawn(locker(i)));
        co_await expect_soon([&] { return mutex.waiting() == static_cast<std::size_t>(i + 1); },
                             "locker queued");
      }
      held.unlock();
      EXPECT_TRUE(mutex.locked()) << "the lock was left free with waiters queued";
      EXPECT_FALSE(mutex.try_lock().has_value()) << "a newcomer barged in";
      for (auto& h : handles) {
        EXPECT_TRUE(co_await weft::test::finished_within(h));
        co_await h;
      }
    };
    weft::run(body(), weft::test::options(loops));
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2})) << "the lock was not handed in arrival order";
    EXPECT_FALSE(mutex.locked());
  }
}

}  // namespace

// weft::Condition, the asyncio parity cases: a notification is never lost with a cancelled
// waiter, whether the cancel lands while it waits for the notification or while it re-locks
// the mutex afterwards (asyncio's test_locks cancellation cases, CPython gh-112202), and
// notify(n) wakes at most n waiters, oldest first.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
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
using weft::Task;

using weft::test::expect_soon;

// A consumer of one "ticket": waits until one is there (checked under the mutex) and takes it.
struct Tickets {
  Mutex mutex;
  Condition cond{mutex};
  int available = 0;            // guarded by mutex
  std::atomic<int> waiting{0};  // consumers that entered the condition's wait at least once
  std::atomic<int> taken{0};
};

Task<void> take_ticket(Tickets* t) {
  auto guard = co_await t->mutex.lock();
  t->waiting.fetch_add(1);
  co_await t->cond.wait(guard, [t] { return t->available > 0; });
  --t->available;
  t->taken.fetch_add(1);
}

// asyncio's test_cancelled_wakeup (CPython gh-112202): A is notified, and cancelled while it
// waits to re-lock the mutex. A's wait must still end with the lock held and CancelledError,
// and the notification A consumed goes to B, so B takes the ticket.
TEST(Condition, NotifiedWaiterCancelledWhileRelockingPassesTheNotificationOn) {
  Tickets t;
  auto body = [&]() -> Task<void> {
    auto a = weft::spawn(take_ticket(&t));
    co_await expect_soon([&] { return t.waiting.load() == 1; }, "A waiting");
    auto b = weft::spawn(take_ticket(&t));
    co_await expect_soon([&] { return t.waiting.load() == 2; }, "B waiting");
    {
      auto guard = co_await t.mutex.lock();  // A and B are both in the condition's list
      ++t.available;
      t.cond.notify(1);  // to A, who must now wait for this mutex
      co_await expect_soon([&] { return t.mutex.waiting() == 1; }, "A re-locking");
      a.cancel();
    }
    EXPECT_THROW(co_await a, CancelledError);
    EXPECT_TRUE(co_await weft::test::finished_within(b)) << "the notification was lost with A";
    if (!b.done()) {
      b.cancel();
      (void)co_await weft::test::finished_within(b);
    }
  };
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    t.available = 0;
    t.waiting.store(0);
    t.taken.store(0);
    weft::run(body(), weft::test::options(loops));
    EXPECT_EQ(t.taken.load(), 1);
    EXPECT_EQ(t.available, 0);
    EXPECT_FALSE(t.mutex.locked());
  }
}

// asyncio's test_cancelled_error_re_aquire: the cancel lands while the waiter re-locks; the
// waiter owns the lock when CancelledError reaches it.
TEST(Condition, WaiterCancelledWhileRelockingOwnsTheLockWhenItThrows) {
  Mutex mutex;
  Condition cond(mutex);
  std::atomic<bool> waiting{false}, owned_on_cancel{false};
  auto waiter = [&]() -> Task<void> {
    auto guard = co_await mutex.lock();
    waiting.store(true);
    try {
      co_await cond.wait(guard);
    } catch (const CancelledError&) {
      owned_on_cancel.store(guard.owns_lock() && mutex.locked());
      throw;
    }
  };
  auto body = [&]() -> Task<void> {
    auto w = weft::spawn(waiter());
    co_await expect_soon([&] { return waiting.load(); }, "waiter waiting");
    {
      auto guard = co_await mutex.lock();
      cond.notify_all();
      co_await expect_soon([&] { return mutex.waiting() == 1; }, "waiter re-locking");
      w.cancel();
    }
    EXPECT_THROW(co_await w, CancelledError);
  };
  weft::run(body(), weft::test::options(1));
  EXPECT_TRUE(owned_on_cancel.load());
  EXPECT_FALSE(mutex.locked());
}

// asyncio's Condition.notify(n): wakes at most n waiters, the oldest first; a notify with
// nobody waiting is a no-op (not remembered for later waiters).
TEST(Condition, NotifyNWakesAtMostNOldestFirst) {
  constexpr int kWaiters = 5;
  Mutex mutex;
  Condition cond(mutex);
  std::atomic<int> waiting{0};
  std::atomic<int> woken_count{0};
  std::vector<int> woken;  // guarded by mutex
  auto waiter = [&](int i) -> Task<void> {
    auto guard = co_await mutex.lock();
    waiting.fetch_add(1);
    co_await cond.wait(guard);
    woken.push_back(i);
    woken_count.fetch_add(1);
  };
  auto body = [&]() -> Task<void> {
    {
      auto guard = co_await mutex.lock();
      cond.notify(3);  // nobody waits: nothing happens, now or later
    }
    std::vector<JoinHandle<void>> handles;
    for (int i = 0; i < kWaiters; ++i) {
      handles.push_back(weft::spawn(waiter(i)));
      co_await expect_soon([&] { return waiting.load() == i + 1; }, "waiter queued");
    }
    {
      auto guard = co_await mutex.lock();
      cond.notify(2);
    }
    co_await expect_soon([&] { return woken_count.load() == 2; }, "two woken");
    {
      auto guard = co_await mutex.lock();
      // Who was chosen, not who ran first: the two re-lock in an order the scheduler decides.
      std::vector<int> chosen = woken;
      std::sort(chosen.begin(), chosen.end());
      EXPECT_EQ(chosen, (std::vector<int>{0, 1})) << "notify(2) did not choose the oldest";
      EXPECT_EQ(cond.waiting(), 3u) << "notify(2) woke more than two";
      cond.notify(10);  // more than wait: all of them
    }
    for (auto& h : handles) {
      EXPECT_TRUE(co_await weft::test::finished_within(h));
      co_await h;
    }
  };
  weft::run(body(), weft::test::options(1));
  EXPECT_EQ(woken.size(), static_cast<std::size_t>(kWaiters));
}

}  // namespace

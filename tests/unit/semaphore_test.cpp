// weft::Semaphore / BoundedSemaphore: the count is never exceeded, waiters are served FIFO and
// never overtaken, and a waiter that was granted a permit and is cancelled passes it on —
// also when the release and the cancel come from different loops.

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/semaphore.hpp>

#include "expect_soon.hpp"
#include "test_support.hpp"
#include "thread_id.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::JoinHandle;
using weft::Semaphore;
using weft::Task;

using weft::test::thread_id;

using weft::test::expect_soon;

// --- the count is never exceeded ------------------------------------------------------------

struct Holders {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
  std::atomic<std::size_t> finished{0};
};

Task<void> hold_a_permit(Semaphore* sem, Holders* h) {
  co_await sem->acquire();
  // Relaxed: only the values matter; the semaphore's mutex orders the holders themselves.
  const int now = h->now.fetch_add(1, std::memory_order_relaxed) + 1;
  int seen = h->max.load(std::memory_order_relaxed);
  while (now > seen && !h->max.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
  co_await weft::yield();  // hold it across a suspension, so others contend meanwhile
  h->now.fetch_sub(1, std::memory_order_relaxed);
  sem->release();
  h->finished.fetch_add(1, std::memory_order_relaxed);
}

TEST(Semaphore, NeverExceedsItsCountUnderManyAcquirers) {
  constexpr int kPermits = 3;
  const std::size_t n = weft::test::scaled(10'000, 1'000);
  Semaphore sem(kPermits);
  Holders h;
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<void>> handles;
    handles.reserve(n);
    for (std::size_t i = 0; i < n; ++i) handles.push_back(weft::spawn(hold_a_permit(&sem, &h)));
    for (auto& handle : handles) {
      if (const bool ok = co_await weft::test::finished_within(handle); !ok) {
        ADD_FAILURE() << "an acquirer did not finish within 10 s";
        co_return;
      }
      co_await handle;
    }
  };
  weft::run(body(), weft::test::options(2));
  EXPECT_EQ(h.finished.load(), n);
  EXPECT_LE(h.max.load(), kPermits);
  EXPECT_GE(h.max.load(), 2) << "no contention: the test proved nothing";
  EXPECT_EQ(sem.available(), static_cast<std::size_t>(kPermits));
  EXPECT_EQ(sem.waiting(), 0u);
}

// --- FIFO, no barging --------------------------------------------------------------------------

TEST(Semaphore, WaitersAreServedInArrivalOrder) {
  constexpr int kWaiters = 20;
  Semaphore sem(0);
  std::mutex order_mutex;
  std::vector<int> order;
  auto waiter = [&](int i) -> Task<void> {
    co_await sem.acquire();
    std::lock_guard lock(order_mutex);
    order.push_back(i);
  };
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<void>> handles;
    for (int i = 0; i < kWaiters; ++i) {
      handles.push_back(weft::spawn(waiter(i)));
      // The next one is spawned only once this one is queued: arrival order is i.
      co_await expect_soon([&] { return sem.waiting() == static_cast<std::size_t>(i + 1); },
                           "waiter queued");
    }
    for (int i = 0; i < kWaiters; ++i) {
      sem.release();
      // The permit went to the oldest waiter, not to the count: nobody can overtake it.
      EXPECT_FALSE(sem.try_acquire()) << "a newcomer took a permit a waiter was owed";
      co_await expect_soon(
          [&] {
            std::lock_guard lock(order_mutex);
            return order.size() == static_cast<std::size_t>(i + 1);
          },
          "waiter served");
    }
    for (auto& handle : handles) co_await handle;
  };
  weft::run(body(), weft::test::options(2));
  std::vector<int> expected(kWaiters);
  for (int i = 0; i < kWaiters; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(order, expected);
  EXPECT_EQ(sem.available(), 0u);
}

TEST(Semaphore, TryAcquireTakesOnlyFreePermits) {
  Semaphore sem(2);
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  EXPECT_EQ(sem.available(), 0u);
  sem.release();
  EXPECT_EQ(sem.available(), 1u);
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  // A plain Semaphore may be released beyond its initial count.
  sem.release();
  sem.release();
  sem.release();
  EXPECT_EQ(sem.available(), 3u);
}

TEST(Semaphore, AcquireWithAFreePermitDoesNotSuspend) {
  Semaphore sem(1);
  auto body = [&]() -> Task<int> {
    co_await sem.acquire();
    const int left = static_cast<int>(sem.available());
    sem.release();
    {
      auto guard = co_await sem.scoped();
      EXPECT_TRUE(guard.owns_permit());
      EXPECT_EQ(sem.available(), 0u);
    }
    co_return left;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 0);
  EXPECT_EQ(sem.available(), 1u);
}

TEST(Semaphore, BoundedOverReleaseThrows) {
  weft::BoundedSemaphore sem(2);
  EXPECT_THROW(sem.release(), std::logic_error);
  EXPECT_EQ(sem.available(), 2u);
  ASSERT_TRUE(sem.try_acquire());
  sem.release();
  EXPECT_THROW(sem.release(), std::logic_error);
  weft::BoundedSemaphore none(0);
  EXPECT_THROW(none.release(), std::logic_error);
}

TEST(Semaphore, ScopedGuardReleasesOnException) {
  Semaphore sem(1);
  auto body = [&]() -> Task<void> {
    auto guard = co_await sem.scoped();
    throw std::runtime_error("boom");
  };
  EXPECT_THROW(weft::run(body(), weft::test::options(2)), std::runtime_error);
  EXPECT_EQ(sem.available(), 1u);
}

// --- cancellation ------------------------------------------------------------------------------

TEST(Semaphore, CancelledWaiterLeavesNothingBehind) {
  Semaphore sem(0);
  auto body = [&]() -> Task<void> {
    auto waiter = weft::spawn([](Semaphore* s) -> Task<void> { co_await s->acquire(); }(&sem));
    co_await expect_soon([&] { return sem.waiting() == 1; }, "waiter queued");
    waiter.cancel();
    EXPECT_THROW(co_await waiter, CancelledError);
    EXPECT_EQ(sem.waiting(), 0u);
    sem.release();
    EXPECT_TRUE(sem.try_acquire()) << "the permit went to a cancelled waiter";
  };
  weft::run(body(), weft::test::options(2));
}

// On one loop the order is deterministic: the release hands the permit to A and schedules it,
// then the cancel reaches A before it runs. A must pass the permit to B.
TEST(Semaphore, GrantedThenCancelledWaiterPassesThePermitOn) {
  Semaphore sem(0);
  std::atomic<bool> a_got{false}, b_got{false};
  auto acquirer = [](Semaphore* s, std::atomic<bool>* got) -> Task<void> {
    co_await s->acquire();
    got->store(true);
  };
  auto body = [&]() -> Task<void> {
    auto a = weft::spawn(acquirer(&sem, &a_got));
    co_await expect_soon([&] { return sem.waiting() == 1; }, "A queued");
    auto b = weft::spawn(acquirer(&sem, &b_got));
    co_await expect_soon([&] { return sem.waiting() == 2; }, "B queued");
    sem.release();  // to A
    a.cancel();     // before A runs
    EXPECT_THROW(co_await a, CancelledError);
    EXPECT_TRUE(co_await weft::test::finished_within(b)) << "B never got the permit";
  };
  weft::run(body(), weft::test::options(1));
  EXPECT_FALSE(a_got.load());
  EXPECT_TRUE(b_got.load());
  EXPECT_EQ(sem.available(), 0u) << "a permit was duplicated";
}

// Many rounds of: 1 permit owed, waiters A then B; a release on one loop races a cancel of A
// on the other. Whoever gets the permit gives it back; at the end exactly one permit exists.
struct RaceRound {
  long releaser_thread = 0;
  long canceller_thread = 0;
  bool a_cancelled = false;
  bool b_done = false;
};

Task<void> race_round(Semaphore* sem, RaceRound* out, unsigned seed) {
  auto holder = [](Semaphore* s) -> Task<void> {
    co_await s->acquire();
    s->release();
  };
  auto a = weft::spawn(holder(sem));
  co_await expect_soon([&] { return sem->waiting() == 1; }, "A queued");
  auto b = weft::spawn(holder(sem));
  co_await expect_soon([&] { return sem->waiting() == 2; }, "B queued");

  std::atomic<long> canceller_thread{0};
  std::atomic<bool> releaser_ready{false};
  // The canceller spins on its loop until the releaser runs on the other one, then both act
  // after a random 0-3 us.
  auto canceller = [](JoinHandle<void>* target, std::atomic<long>* my_thread,
                      std::atomic<bool>* other_ready, unsigned s) -> Task<void> {
    my_thread->store(thread_id());
    const auto give_up = Clock::now() + 50ms;  // if the releaser is stuck behind us
    while (!other_ready->load() && Clock::now() < give_up) {
    }
    const auto until = Clock::now() + std::chrono::nanoseconds(s % 3000);
    while (Clock::now() < until) {
    }
    target->cancel();
    co_return;
  };
  auto releaser = [](Semaphore* s, std::atomic<long>* other_thread, std::atomic<bool>* ready,
                     long* my_thread, unsigned r) -> Task<void> {
    co_await expect_soon([&] { return other_thread->load() != 0; }, "canceller started");
    for (int i = 0; i < 100'000 && thread_id() == other_thread->load(); ++i) {
      co_await weft::yield();
    }
    *my_thread = thread_id();
    ready->store(true);
    const auto until = Clock::now() + std::chrono::nanoseconds((r >> 8) % 3000);
    while (Clock::now() < until) {
    }
    s->release();
  };
  auto c = weft::spawn(canceller(&a, &canceller_thread, &releaser_ready, seed));
  auto r =
      weft::spawn(releaser(sem, &canceller_thread, &releaser_ready, &out->releaser_thread, seed));
  co_await r;
  co_await c;
  out->canceller_thread = canceller_thread.load();
  try {
    co_await a;
  } catch (const CancelledError&) {
    out->a_cancelled = true;
  }
  out->b_done = co_await weft::test::finished_within(b);
  if (out->b_done) co_await b;
}

TEST(Semaphore, ReleaseRacingCancelAcrossLoopsConservesThePermit) {
  std::vector<RaceRound> rounds(weft::test::scaled(2'000, 200));
  std::vector<std::size_t> permits_after(rounds.size());
  auto body = [&]() -> Task<void> {
    std::mt19937 rng(4);
    for (std::size_t i = 0; i < rounds.size(); ++i) {
      Semaphore sem(0);
      co_await race_round(&sem, &rounds[i], static_cast<unsigned>(rng()));
      std::size_t n = 0;
      while (sem.try_acquire()) ++n;
      permits_after[i] = n;
      if (!rounds[i].b_done) co_return;
    }
  };
  weft::run(body(), weft::test::options(2));
  std::size_t cross = 0, a_cancelled = 0;
  for (std::size_t i = 0; i < rounds.size(); ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    ASSERT_TRUE(rounds[i].b_done) << "B never got the permit";
    ASSERT_EQ(permits_after[i], 1u) << "permits not conserved";
    cross += rounds[i].releaser_thread != rounds[i].canceller_thread ? 1 : 0;
    a_cancelled += rounds[i].a_cancelled ? 1 : 0;
  }
  EXPECT_GT(cross, 0u) << "the release and the cancel never came from different loops";
  std::printf("cross-loop rounds: %zu of %zu; A cancelled in %zu\n", cross, rounds.size(),
              a_cancelled);
}

}  // namespace

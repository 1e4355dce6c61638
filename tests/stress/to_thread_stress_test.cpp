// weft::to_thread under load: 10k jobs through a cap of 8 (the cap is never exceeded, every
// job completes), and random cancellations of queued and running callers (no slot is ever
// lost or swallowed, no job runs unseen).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <stop_token>
#include <vector>
#include <weft/to_thread.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Task;
using weft::test::co_wait_until;
using weft::test::scaled;
using weft::test::wait_until;

constexpr std::size_t kCap = 8;

weft::RuntimeOptions stress_options() {
  weft::RuntimeOptions o = weft::test::options(2);
  o.stall_threshold = 0ms;
  o.to_thread_threads = 2 * kCap;  // more workers than slots: the cap must bound them
  o.max_to_thread_jobs = kCap;
  return o;
}

// Concurrent jobs now, and the most ever seen.
struct Concurrency {
  std::atomic<std::size_t> now{0};
  std::atomic<std::size_t> max{0};

  void enter() {
    const std::size_t n = now.fetch_add(1) + 1;
    std::size_t m = max.load();
    while (n > m && !max.compare_exchange_weak(m, n)) {
    }
  }
  void leave() { now.fetch_sub(1); }
};

// After a run, all kCap slots must still be there: kCap jobs that each wait until kCap are
// running at once can only finish if the pool admits kCap of them together.
Task<bool> all_slots_free() {
  std::atomic<std::size_t> running{0};
  std::vector<weft::JoinHandle<bool>> hs;
  for (std::size_t i = 0; i < kCap; ++i) {
    hs.push_back(weft::spawn(weft::to_thread([&running] {
      running.fetch_add(1);
      return wait_until([&] { return running.load() == kCap; });
    })));
  }
  bool ok = true;
  for (auto& h : hs) ok = (co_await h) && ok;
  co_return ok;
}

TEST(ToThreadStress, TenThousandJobsNeverExceedTheCap) {
  const std::size_t jobs = scaled(10'000, 200);
  weft::Runtime rt(stress_options());
  Concurrency c;
  std::atomic<std::size_t> done{0};
  auto body = [&]() -> Task<void> {
    std::vector<weft::JoinHandle<std::size_t>> hs;
    hs.reserve(jobs);
    for (std::size_t i = 0; i < jobs; ++i) {
      hs.push_back(weft::spawn(weft::to_thread([&c, &done, i] {
        c.enter();
        std::this_thread::yield();  // widen the window in which jobs overlap
        c.leave();
        done.fetch_add(1);
        return i;
      })));
    }
    std::size_t sum = 0;
    for (auto& h : hs) sum += co_await h;
    EXPECT_EQ(sum, jobs * (jobs - 1) / 2);
    EXPECT_TRUE(co_await all_slots_free());
  };
  rt.block_on(body());
  EXPECT_EQ(done.load(), jobs);
  EXPECT_LE(c.max.load(), kCap);
  EXPECT_GE(c.max.load(), 2u);  // and the pool did run jobs side by side
  const auto m = rt.metrics();
  EXPECT_EQ(m.to_thread_started, jobs + kCap);
  EXPECT_EQ(m.to_thread_completed, jobs + kCap);
  EXPECT_EQ(m.to_thread_discarded, 0u);
  EXPECT_GT(m.to_thread_waited, 0u);
}

TEST(ToThreadStress, RandomCancelsLoseNoSlotAndHideNoJob) {
  const std::size_t callers = scaled(4'000, 200);
  weft::Runtime rt(stress_options());
  Concurrency c;
  std::atomic<std::uint64_t> ran{0}, delivered{0}, cancelled{0}, started{0}, never_ran{0};
  auto caller = [&](bool stoppable) -> Task<void> {
    started.fetch_add(1);
    try {
      if (stoppable) {
        co_await weft::to_thread([&](std::stop_token stop) {
          c.enter();
          for (int i = 0; i < 50 && !stop.stop_requested(); ++i) std::this_thread::yield();
          c.leave();
          ran.fetch_add(1);
        });
      } else {
        co_await weft::to_thread([&] {
          c.enter();
          std::this_thread::yield();
          c.leave();
          ran.fetch_add(1);
        });
      }
      delivered.fetch_add(1);
    } catch (const CancelledError&) {
      cancelled.fetch_add(1);
    }
  };
  auto body = [&]() -> Task<void> {
    std::mt19937 rng(12345);
    std::vector<weft::JoinHandle<void>> hs;
    hs.reserve(callers);
    for (std::size_t i = 0; i < callers; ++i) {
      hs.push_back(weft::spawn(caller(rng() % 2 == 0)));
      // Cancel an earlier caller now and then: it may be queued, granted, running or done.
      if (rng() % 3 == 0) hs[rng() % hs.size()].cancel();
      if (rng() % 16 == 0) co_await weft::yield();
    }
    for (auto& h : hs) {
      EXPECT_TRUE(co_await weft::test::finished_within(h));
      // A caller that started catches the CancelledError of its to_thread, and a cancel
      // that came after its to_thread returned finds no suspension left: either way its join
      // gives its value. Only a caller cancelled before it first ran ends cancelled.
      try {
        co_await h;
      } catch (const CancelledError&) {
        never_ran.fetch_add(1);
      }
    }
    EXPECT_TRUE(co_await all_slots_free());
  };
  rt.block_on(body());
  EXPECT_EQ(delivered.load() + cancelled.load(), started.load());
  EXPECT_EQ(started.load() + never_ran.load(), callers);
  EXPECT_LE(c.max.load(), kCap);
  const auto m = rt.metrics();
  // Every job that started completed, and was either delivered or counted as discarded.
  EXPECT_EQ(m.to_thread_started, ran.load() + kCap);
  EXPECT_EQ(m.to_thread_completed, m.to_thread_started);
  EXPECT_EQ(m.to_thread_discarded, ran.load() - delivered.load());
  EXPECT_GT(cancelled.load(), 0u);
}

}  // namespace

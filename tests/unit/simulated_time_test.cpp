// RuntimeOptions::simulated_time: the clock jumps to the next deadline when the loop is idle
// (an hour's timeout takes no wall time, a day of timers fires in order at exact times), a
// to_thread job holds the clock, and with a seed the interleaving of tasks is a function of
// the seed alone.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <weft/queue.hpp>
#include <weft/timeout_error.hpp>
#include <weft/to_thread.hpp>
#include <weft/wait_for.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;

weft::RuntimeOptions simulated(std::optional<std::uint64_t> seed = std::nullopt) {
  weft::RuntimeOptions o;
  o.simulated_time = weft::SimulatedTime{.seed = seed};
  return o;
}

Clock::duration since_start() { return Clock::now().time_since_epoch(); }

// --- the clock ----------------------------------------------------------------------------

Task<void> sleep_for(Clock::duration d) { co_await weft::sleep(d); }

Task<Clock::duration> hour_timeout() {
  bool timed_out = false;
  try {
    co_await weft::wait_for(sleep_for(2h), 1h);
  } catch (const weft::TimeoutError&) {
    timed_out = true;
  }
  EXPECT_TRUE(timed_out);
  co_return since_start();
}

TEST(SimulatedTime, HourLongWaitForTimesOutWithoutWaiting) {
  const auto wall_start = std::chrono::steady_clock::now();
  const Clock::duration at = weft::run(hour_timeout(), simulated());
  const auto wall = std::chrono::steady_clock::now() - wall_start;
  EXPECT_EQ(at, Clock::duration(1h));  // exactly: the clock only jumps to deadlines
  EXPECT_LT(wall, 50ms);
}

Task<Clock::duration> start_time() { co_return since_start(); }

TEST(SimulatedTime, StartsAtZeroOnTheLoopWhileOtherThreadsReadRealTime) {
  EXPECT_EQ(weft::run(start_time(), simulated()), Clock::duration::zero());
  // This thread is no loop: the real monotonic clock, the one steady_clock reads on Linux.
  const auto before = std::chrono::steady_clock::now().time_since_epoch();
  EXPECT_GE(Clock::now().time_since_epoch(), before);
}

TEST(SimulatedTime, NeedsOneLoop) {
  weft::RuntimeOptions o = simulated();
  o.loops = 2;
  EXPECT_THROW(weft::Runtime{o}, std::invalid_argument);
}

// 1,000 tasks each sleep until 1,000 sorted instants drawn at random within one day: a
// million timers. Each must wake exactly at its instant (the clock jumps to deadlines), and
// the wake-ups, all on one loop, must come in time order.
struct Firings {
  std::int64_t last_ns = 0;
  std::size_t count = 0;
  std::size_t inexact = 0;
  std::size_t out_of_order = 0;
};

Task<void> sleep_through(std::vector<std::int64_t> instants, Firings* f) {
  for (std::int64_t ns : instants) {
    co_await weft::sleep_until(Clock::time_point(Clock::duration(ns)));
    const std::int64_t now = since_start().count();
    if (now != ns) ++f->inexact;
    if (now < f->last_ns) ++f->out_of_order;
    f->last_ns = now;
    ++f->count;
  }
}

Task<void> day_of_timers(std::size_t tasks, std::size_t per_task, Firings* f) {
  std::uint64_t state = 12345;
  const std::int64_t day_ns = std::chrono::nanoseconds(24h).count();
  std::vector<JoinHandle<void>> handles;
  for (std::size_t t = 0; t < tasks; ++t) {
    std::vector<std::int64_t> instants(per_task);
    for (auto& ns : instants) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      ns = static_cast<std::int64_t>((state >> 16) % static_cast<std::uint64_t>(day_ns));
    }
    std::sort(instants.begin(), instants.end());
    handles.push_back(weft::spawn(sleep_through(std::move(instants), f)));
    co_await weft::yield();  // a million draws in one run would be reported as a stall
  }
  for (auto& h : handles) co_await h;
}

TEST(SimulatedTime, MillionTimersOverADayFireInOrder) {
  // 1,000 x 1,000 at full size; WEFT_STRESS_SCALE shrinks it for the sanitizer runs.
  const std::size_t per_task = weft::test::scaled(1000, 50);
  Firings f;
  weft::run(day_of_timers(1000, per_task, &f), simulated());
  EXPECT_EQ(f.count, 1000 * per_task);
  EXPECT_EQ(f.inexact, 0u);
  EXPECT_EQ(f.out_of_order, 0u);
  EXPECT_LT(f.last_ns, std::chrono::nanoseconds(24h).count());
}

// A to_thread job in flight holds the clock: the hour-long sleep beside it must not fire
// while the job runs, so the job's awaiter resumes at simulated time 0.
Task<Clock::duration> job_beside_a_timer() {
  JoinHandle<void> sleeper = weft::spawn(sleep_for(1h));
  co_await weft::to_thread([] { std::this_thread::sleep_for(20ms); });
  const Clock::duration after_job = since_start();
  co_await sleeper;
  EXPECT_EQ(since_start(), Clock::duration(1h));
  co_return after_job;
}

TEST(SimulatedTime, ToThreadJobHoldsTheClock) {
  EXPECT_EQ(weft::run(job_beside_a_timer(), simulated()), Clock::duration::zero());
}

// --- seeded scheduling ----------------------------------------------------------------------

// Three producers and two consumers over a bounded queue; each step, and the simulated time
// it happened at, goes into the trace. Producers sleep equal amounts, so several tasks are
// runnable at once after every jump of the clock: their order is what a seed decides.
Task<void> produce(weft::Queue<int>* q, int id, std::string* trace) {
  for (int i = 0; i < 10; ++i) {
    co_await weft::sleep(1ms * (1 + i % 3));
    co_await q->push(id * 100 + i);
    *trace += "p" + std::to_string(id) + ":" + std::to_string(i) + " ";
  }
}

Task<void> consume(weft::Queue<int>* q, int id, std::string* trace) {
  for (;;) {
    int item = 0;
    try {
      item = co_await q->pop();
    } catch (const weft::QueueShutDown&) {
      co_return;
    }
    *trace += "c" + std::to_string(id) + ":" + std::to_string(item) + "@" +
              std::to_string(
                  std::chrono::duration_cast<std::chrono::milliseconds>(since_start()).count()) +
              " ";
    co_await weft::yield();
  }
}

Task<std::string> producer_consumer() {
  std::string trace;
  weft::Queue<int> q(2);
  std::vector<JoinHandle<void>> producers;
  for (int id = 0; id < 3; ++id) producers.push_back(weft::spawn(produce(&q, id, &trace)));
  JoinHandle<void> c0 = weft::spawn(consume(&q, 0, &trace));
  JoinHandle<void> c1 = weft::spawn(consume(&q, 1, &trace));
  for (auto& p : producers) co_await p;
  q.shutdown();
  co_await c0;
  co_await c1;
  co_return trace;
}

TEST(SimulatedTime, SameSeedSameTraceOtherSeedsOtherTraces) {
  std::set<std::string> distinct;
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    const std::string first = weft::run(producer_consumer(), simulated(seed));
    const std::string second = weft::run(producer_consumer(), simulated(seed));
    EXPECT_EQ(first, second) << "seed " << seed;
    distinct.insert(first);
  }
  EXPECT_GE(distinct.size(), 2u);
}

}  // namespace

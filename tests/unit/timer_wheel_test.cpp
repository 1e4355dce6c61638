// The loop's timer wheel (runtime/src/timer_queue.hpp), driven directly with a clock the
// test chooses: every timer fires at the first pass at or after its deadline, never before,
// at every level of the wheel and beyond its range; a cancelled timer never fires; the
// earliest deadline it reports is exact in level 0 and never later than the real one.
//
// The timers' tasks are bare headers that are never scheduled: a sleep's timer wakes its
// task "early" (it is not waiting), which sets kWoken, and a deadline's timer requests the
// deadline's cancel, which sets kCancel. Both are bits the test reads.

#include <gtest/gtest.h>

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "timer_queue.hpp"
#include "weft/detail/task_header.hpp"

namespace {

using weft::detail::TaskHeader;
using weft::detail::TimerNode;
using weft::detail::TimerQueue;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSecond = 1'000 * kMs;

struct FakeTask {
  // Never released: a header outside a frame block must not reach its last release.
  TaskHeader header{nullptr, std::noop_coroutine(), nullptr};
  [[nodiscard]] bool woken() const { return header.has_unconsumed_wake(); }
  [[nodiscard]] bool cancel_requested() const { return header.cancel_requested(); }
};

// A base far from zero, so the ticks have high bits set as a real clock's do.
constexpr std::int64_t kBase = 123'456 * kSecond + 789;

TEST(TimerWheel, EveryLevelFiresAtItsDeadlineAndNotBefore) {
  TimerQueue q;
  q.fire_expired(kBase);
  // One per level and beyond the range (64^6 ticks of 2^20 ns is about 2.2 years).
  const std::vector<std::int64_t> delays = {1,
                                            kMs / 3,
                                            3 * kMs,
                                            70 * kMs,
                                            5 * kSecond,
                                            400 * kSecond,
                                            30'000 * kSecond,
                                            3'000'000 * kSecond,
                                            100'000'000 * kSecond};
  std::vector<std::unique_ptr<FakeTask>> tasks;
  for (std::int64_t d : delays) {
    tasks.push_back(std::make_unique<FakeTask>());
    q.insert(kBase + d, &tasks.back()->header, nullptr);
  }
  EXPECT_EQ(q.size(), delays.size());
  for (std::size_t i = 0; i < delays.size(); ++i) {
    const std::int64_t deadline = kBase + delays[i];
    // The wheel may ask to be looked at earlier than a deadline, never later.
    EXPECT_LE(q.next_deadline_ns(), deadline) << i;
    q.fire_expired(deadline - 1);
    EXPECT_FALSE(tasks[i]->woken()) << "early: " << i;
    // What a loop does: look again at next_deadline_ns() until the timer fires.
    int passes = 0;
    while (!tasks[i]->woken()) {
      const std::int64_t next = q.next_deadline_ns();
      ASSERT_LE(next, deadline) << i;
      q.fire_expired(next);
      ASSERT_LT(++passes, 20) << i;
    }
    for (std::size_t j = i + 1; j < delays.size(); ++j) EXPECT_FALSE(tasks[j]->woken()) << j;
  }
  EXPECT_TRUE(q.empty());
}

TEST(TimerWheel, LevelZeroReportsTheExactDeadline) {
  TimerQueue q;
  q.fire_expired(kBase);
  FakeTask a;
  FakeTask b;
  q.insert(kBase + 700'123, &b.header, nullptr);
  q.insert(kBase + 300'456, &a.header, nullptr);
  EXPECT_EQ(q.next_deadline_ns(), kBase + 300'456);
  q.fire_expired(kBase + 300'456);
  EXPECT_TRUE(a.woken());
  EXPECT_FALSE(b.woken());
  EXPECT_EQ(q.next_deadline_ns(), kBase + 700'123);
}

// A tick whose timers all fired stays open while the clock is inside it: a timer set next,
// for later in that same tick, fires at its exact deadline. (Placed in the next tick's slot,
// it waited for that tick although next_deadline_ns() named its deadline: a loop woken then
// found nothing due, and a simulated clock, which stops exactly there, never moved again.)
TEST(TimerWheel, ATimerSetLaterInAFiredTickFiresAtItsDeadline) {
  constexpr std::int64_t kTick = std::int64_t{1} << TimerQueue::kTickShift;
  const std::int64_t tick_start = (kBase / kTick + 1) * kTick;
  TimerQueue q;
  q.fire_expired(kBase);
  FakeTask first;
  FakeTask second;
  q.insert(tick_start + 100, &first.header, nullptr);
  q.fire_expired(tick_start + 100);
  EXPECT_TRUE(first.woken());
  q.insert(tick_start + 500, &second.header, nullptr);
  EXPECT_EQ(q.next_deadline_ns(), tick_start + 500);
  q.fire_expired(tick_start + 500);
  EXPECT_TRUE(second.woken());
}

TEST(TimerWheel, ACancelledTimerNeverFires) {
  TimerQueue q;
  q.fire_expired(kBase);
  FakeTask kept;
  FakeTask dropped;
  q.insert(kBase + 10 * kMs, &kept.header, nullptr);
  TimerNode* node = q.insert(kBase + 5 * kMs, &dropped.header, nullptr);
  EXPECT_TRUE(q.cancel(node));  // still waiting: removed
  EXPECT_EQ(q.size(), 1u);
  q.fire_expired(kBase + kSecond);
  EXPECT_FALSE(dropped.woken());
  EXPECT_TRUE(kept.woken());
  EXPECT_TRUE(q.empty());
}

TEST(TimerWheel, ADeadlineTimerRequestsItsCancelAndIsFreedByItsScope) {
  TimerQueue q;
  q.fire_expired(kBase);
  FakeTask task;
  TimerNode* fired = q.insert_deadline(kBase + 2 * kMs, &task.header, nullptr);
  TimerNode* released = q.insert_deadline(kBase + 9 * kMs, &task.header, nullptr);
  q.fire_expired(kBase + 3 * kMs);
  EXPECT_TRUE(task.cancel_requested());
  EXPECT_EQ(task.header.cancel_request_count(), 1u);
  EXPECT_TRUE(q.release_deadline(fired));      // it had fired
  EXPECT_FALSE(q.release_deadline(released));  // unlinked before it fired
  EXPECT_TRUE(q.empty());
  q.fire_expired(kBase + kSecond);
  EXPECT_EQ(task.header.cancel_request_count(), 1u);
}

TEST(TimerWheel, APastDeadlineIsDueAtTheNextPass) {
  TimerQueue q;
  q.fire_expired(kBase);
  FakeTask task;
  q.insert(kBase - kSecond, &task.header, nullptr);
  EXPECT_LE(q.next_deadline_ns(), kBase);
  q.fire_expired(kBase);
  EXPECT_TRUE(task.woken());
}

// A timer one level up is placed lower when the wheel reaches its slot, also while level 0
// keeps getting timers of its own: here the wheel's clock enters that slot at its start (the
// last level-0 timer before it fired) and then moves on past the upper timer's deadline
// while a later level-0 timer waits. The upper timer fires at the first pass after it is due.
TEST(TimerWheel, AnUpperLevelTimerIsNotHiddenByLevelZero) {
  constexpr std::int64_t kTick = std::int64_t{1} << TimerQueue::kTickShift;
  const std::int64_t block = (kBase / (64 * kTick) + 1) * 64 * kTick;  // a level-1 slot start
  TimerQueue q;
  q.fire_expired(block - 3 * kTick);
  FakeTask upper;
  FakeTask before;
  FakeTask later;
  q.insert(block + 5 * kTick, &upper.header, nullptr);  // level 1 from here
  q.insert(block - kTick, &before.header, nullptr);     // level 0, the tick before
  q.fire_expired(block - kTick);
  ASSERT_TRUE(before.woken());
  q.insert(block + 10 * kTick, &later.header, nullptr);  // level 0 from the new clock
  EXPECT_LE(q.next_deadline_ns(), block + 5 * kTick);
  q.fire_expired(block + 6 * kTick);
  EXPECT_TRUE(upper.woken());
  EXPECT_FALSE(later.woken());
}

// Random deadlines over six orders of magnitude, random cancels, a clock advancing in random
// steps: each timer fires at the first pass at or after its deadline, exactly once.
TEST(TimerWheel, RandomTimersFireAtTheFirstPassAfterTheirDeadline) {
  std::mt19937_64 rng(20261207);
  TimerQueue q;
  std::int64_t now = kBase;
  q.fire_expired(now);
  struct Timer {
    std::unique_ptr<FakeTask> task;
    TimerNode* node;
    std::int64_t deadline;
    bool cancelled = false;
    bool fired = false;
  };
  std::vector<Timer> timers;
  std::uniform_int_distribution<int> magnitude(0, 6);
  for (int i = 0; i < 5000; ++i) {
    std::int64_t scale = 1'000;  // 1 us .. ~1000 s
    for (int m = magnitude(rng); m > 0; --m) scale *= 10;
    const std::int64_t deadline =
        now + 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(scale));
    auto task = std::make_unique<FakeTask>();
    TimerNode* node = q.insert(deadline, &task->header, nullptr);
    timers.push_back(Timer{std::move(task), node, deadline});
  }
  for (std::size_t i = 0; i < timers.size(); i += 7) {
    ASSERT_TRUE(q.cancel(timers[i].node));
    timers[i].cancelled = true;
  }
  std::size_t left = q.size();
  std::int64_t previous = now;
  std::uniform_int_distribution<int> step_magnitude(3, 11);
  std::uniform_int_distribution<int> late_magnitude(0, 9);
  while (left > 0) {
    // Timers set while the wheel runs, as a loop sets them between passes.
    if (timers.size() < 8000) {
      std::int64_t scale = 1'000;
      for (int m = late_magnitude(rng); m > 0; --m) scale *= 10;
      const std::int64_t deadline =
          now + 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(scale));
      auto task = std::make_unique<FakeTask>();
      TimerNode* node = q.insert(deadline, &task->header, nullptr);
      timers.push_back(Timer{std::move(task), node, deadline});
      ++left;
    }
    // The wheel never asks to be looked at later than its earliest timer.
    std::int64_t earliest = INT64_MAX;
    for (const Timer& t : timers)
      if (!t.cancelled && !t.fired) earliest = std::min(earliest, t.deadline);
    ASSERT_LE(q.next_deadline_ns(), earliest);
    std::int64_t step = 1;
    for (int m = step_magnitude(rng); m > 0; --m) step *= 10;
    now += static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(step)) + 1;
    now = std::max(now, std::min(q.next_deadline_ns(), now + 1000 * kSecond));
    const std::size_t fired = q.fire_expired(now);
    std::size_t seen = 0;
    for (Timer& t : timers) {
      if (t.cancelled || t.fired) {
        ASSERT_TRUE(t.cancelled || t.task->woken());
        continue;
      }
      if (t.task->woken()) {
        t.fired = true;
        ++seen;
        ASSERT_LE(t.deadline, now) << "fired early";
        ASSERT_GT(t.deadline, previous) << "fired late: due at an earlier pass";
      } else {
        ASSERT_GT(t.deadline, now) << "not fired although due";
      }
    }
    ASSERT_EQ(seen, fired);
    left -= fired;
    ASSERT_EQ(q.size(), left);
    previous = now;
  }
}

}  // namespace

// Timers at scale: a million timers (WEFT_STRESS_SCALE) set by many tasks, half of them
// cancelled at random moments from a foreign thread and from tasks. Every timer that was not
// cancelled fires exactly once and never early; every task whose cancel arrived ends in
// exactly one CancelledError; nothing leaks.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <numeric>
#include <optional>
#include <queue>
#include <random>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;
using weft::test::Counted;

struct TimerRecord {
  Clock::time_point spawned{};   // written by the spawner before it publishes the handle
  Clock::time_point deadline{};  // spawned + a random offset
  Clock::time_point woke{};      // written by the task when its sleep returned
  // Written by the canceller right after cancel() returned; max() if never cancelled.
  Clock::time_point cancel_returned = Clock::time_point::max();
  std::atomic<int> fired{0};
  std::atomic<int> cancelled{0};
  // Set when the body starts: a task cancelled before its first run never enters it.
  std::atomic<bool> started{false};
};

enum class Ending { none, value, cancelled, other };

constexpr std::size_t kSpawners = 16;

struct State {
  std::size_t n = 0;
  Clock::duration spread{};
  std::vector<Clock::duration> offsets;    // deadline = spawned + offset
  std::vector<Clock::duration> cancel_at;  // planned cancel = spawned + cancel_at
  std::vector<TimerRecord> records;
  std::vector<JoinHandle<void>> handles;
  std::vector<std::atomic<bool>> published;  // handles[i] and spawned are in place
  std::vector<Ending> endings;

  [[nodiscard]] std::size_t range_begin(std::size_t k) const { return n * k / kSpawners; }
};

// `guard` dies when the body ends or unwinds; the by-value token lives as long as the frame,
// which the runtime frees once the task ended and its JoinHandle is gone.
Task<void> timer_task(TimerRecord* r, Counted /*frame_token*/) {
  Counted guard;
  r->started.store(true);
  try {
    co_await weft::sleep_until(r->deadline);
  } catch (const CancelledError&) {
    r->cancelled.fetch_add(1);
    throw;
  }
  r->woke = Clock::now();
  r->fired.fetch_add(1);
}

Task<void> spawner(State* s, std::size_t begin, std::size_t end) {
  for (std::size_t i = begin; i < end; ++i) {
    TimerRecord& r = s->records[i];
    r.spawned = Clock::now();
    r.deadline = r.spawned + s->offsets[i];
    s->handles[i] = weft::spawn(timer_task(&r, Counted{}));
    // Release: the canceller that sees it reads handles[i] and spawned.
    s->published[i].store(true, std::memory_order_release);
    if ((i - begin) % 256 == 255) co_await weft::yield();  // let the other spawners in
  }
  for (std::size_t i = begin; i < end; ++i) {
    try {
      co_await s->handles[i];
      s->endings[i] = Ending::value;
    } catch (const CancelledError&) {
      s->endings[i] = Ending::cancelled;
    } catch (...) {
      s->endings[i] = Ending::other;
    }
  }
}

// One canceller's plan. Each of its timers is cancelled at spawned + cancel_at, a moment
// drawn independently of the deadline over the same window, so about half of the cancels
// land before their timer fires and the rest race with it or follow it — however fast the
// build spawns (timing is relative to each spawn, so sanitizer builds keep the mix).
class CancelPlan {
 public:
  CancelPlan(const State& s, const std::vector<std::size_t>& indices) : pending_(kSpawners) {
    for (std::size_t i : indices) pending_[i * kSpawners / s.n].push_back(i);
    for (auto& p : pending_) std::sort(p.begin(), p.end());  // spawn order within a range
    cursor_.assign(kSpawners, 0);
  }

  // Takes in the timers published since the last call.
  void collect(const State& s) {
    for (std::size_t k = 0; k < kSpawners; ++k) {
      while (cursor_[k] < pending_[k].size() &&
             s.published[pending_[k][cursor_[k]]].load(std::memory_order_acquire)) {
        const std::size_t i = pending_[k][cursor_[k]++];
        due_.push({s.records[i].spawned + s.cancel_at[i], i});
      }
    }
  }
  [[nodiscard]] bool finished() const {
    if (!due_.empty()) return false;
    for (std::size_t k = 0; k < kSpawners; ++k)
      if (cursor_[k] < pending_[k].size()) return false;
    return true;
  }
  // A timer whose cancel is due at `now`, if any.
  [[nodiscard]] std::optional<std::size_t> pop_due(Clock::time_point now) {
    if (due_.empty() || due_.top().first > now) return std::nullopt;
    const std::size_t i = due_.top().second;
    due_.pop();
    return i;
  }
  // When to look again: the next cancel, but soon enough to take in new timers.
  [[nodiscard]] Clock::time_point next_look(Clock::time_point now) const {
    const Clock::time_point soon = now + 200us;
    return due_.empty() ? soon : std::min(soon, due_.top().first);
  }

 private:
  using Entry = std::pair<Clock::time_point, std::size_t>;
  std::vector<std::vector<std::size_t>> pending_;  // per spawner range, in spawn order
  std::vector<std::size_t> cursor_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> due_;
};

void cancel_one(State& s, std::size_t i) {
  s.handles[i].cancel();
  s.records[i].cancel_returned = Clock::now();
}

Task<void> canceller(State* s, CancelPlan* plan) {
  std::size_t done = 0;
  while (!plan->finished()) {
    plan->collect(*s);
    if (auto i = plan->pop_due(Clock::now())) {
      cancel_one(*s, *i);
      if (++done % 256 == 0) co_await weft::yield();  // behind schedule: let the loop breathe
      continue;
    }
    co_await weft::sleep_until(plan->next_look(Clock::now()));
  }
}

Task<void> driver(State* s, std::vector<CancelPlan>* plans) {
  std::vector<JoinHandle<void>> work;
  for (auto& plan : *plans) work.push_back(weft::spawn(canceller(s, &plan)));
  for (std::size_t k = 0; k < kSpawners; ++k)
    work.push_back(weft::spawn(spawner(s, s->range_begin(k), s->range_begin(k + 1))));
  for (auto& h : work) co_await h;
}

TEST(TimerStress, MillionTimersHalfCancelled) {
  const long base = Counted::live();
  State s;
  s.n = weft::test::scaled(1'000'000, 10'000);
  // docs/reliability.md: deadlines over 0-10 s. At full size a deadline (and a planned cancel)
  // is 0-10 s after its task's spawn; smaller runs shrink the window with the count, down
  // to 0.5 s, so a scaled-down sanitizer run keeps the timer density and stays short.
  constexpr Clock::duration kFullSpread = 10s;
  s.spread = std::max<Clock::duration>(500ms, std::chrono::duration_cast<Clock::duration>(
                                                  kFullSpread * (static_cast<double>(s.n) / 1e6)));
  std::mt19937_64 rng(0x5eed);
  s.offsets.resize(s.n);
  const auto spread_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(s.spread).count();
  for (auto& o : s.offsets) o = std::chrono::nanoseconds(static_cast<long long>(rng() % spread_ns));
  s.cancel_at.resize(s.n);
  for (auto& c : s.cancel_at)
    c = std::chrono::nanoseconds(static_cast<long long>(rng() % spread_ns));
  s.records = std::vector<TimerRecord>(s.n);
  s.handles.resize(s.n);
  s.published = std::vector<std::atomic<bool>>(s.n);
  s.endings.assign(s.n, Ending::none);

  // Half of the timers, chosen at random, get a cancel: a quarter from a foreign thread,
  // a quarter from two canceller tasks.
  std::vector<std::size_t> order(s.n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::shuffle(order.begin(), order.end(), rng);
  const std::size_t half = s.n / 2, quarter = s.n / 4, eighth3 = (quarter + half) / 2;
  const auto slice = [&order](std::size_t from, std::size_t to) {
    return std::vector<std::size_t>(order.begin() + static_cast<std::ptrdiff_t>(from),
                                    order.begin() + static_cast<std::ptrdiff_t>(to));
  };
  CancelPlan foreign_plan(s, slice(0, quarter));
  std::vector<CancelPlan> task_plans;
  task_plans.emplace_back(s, slice(quarter, eighth3));
  task_plans.emplace_back(s, slice(eighth3, half));
  std::vector<bool> selected(s.n, false);
  for (std::size_t k = 0; k < half; ++k) selected[order[k]] = true;

  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options();
  o.on_report = log.sink();
  const auto t0 = Clock::now();
  std::uint64_t timers_fired = 0;
  {
    weft::Runtime rt(o);
    // A jthread: if block_on throws, its destructor asks it to stop and joins it (a
    // std::thread would terminate the process; and the plan would never finish).
    std::jthread foreign([&s, &foreign_plan](const std::stop_token& stop) {
      while (!foreign_plan.finished() && !stop.stop_requested()) {
        foreign_plan.collect(s);
        if (auto i = foreign_plan.pop_due(Clock::now())) {
          cancel_one(s, *i);
          continue;
        }
        std::this_thread::sleep_until(foreign_plan.next_look(Clock::now()));
      }
    });
    rt.block_on(driver(&s, &task_plans));
    foreign.join();
    timers_fired = rt.metrics().total().timers_fired;
  }
  const auto elapsed = Clock::now() - t0;

  std::size_t fired = 0, cancelled = 0, cancel_too_late = 0;
  for (std::size_t i = 0; i < s.n; ++i) {
    const TimerRecord& r = s.records[i];
    const int f = r.fired.load(), c = r.cancelled.load();
    if (!r.started.load()) {
      // Cancelled before its first run: the body never ran, the task ended cancelled.
      ASSERT_EQ(f + c, 0) << "timer " << i << " ended without starting";
      ASSERT_TRUE(selected[i]) << "timer " << i << " never started and was never cancelled";
      ASSERT_EQ(s.endings[i], Ending::cancelled) << i;
      ++cancelled;
      continue;
    }
    ASSERT_EQ(f + c, 1) << "timer " << i << " ended " << f + c << " times";
    if (f == 1) {
      ++fired;
      // A request from another task that came after the sleep returned finds no suspension
      // left: the task keeps its (void) value, it does not end cancelled.
      ASSERT_EQ(s.endings[i], Ending::value) << i;
      ASSERT_GE(r.woke, r.deadline)
          << "timer " << i << " fired " << std::chrono::nanoseconds(r.deadline - r.woke).count()
          << " ns early";
      if (selected[i]) {
        // A cancel that returned before the deadline must have won: the sleep cannot have
        // returned before the deadline, and then sees the request.
        ASSERT_GE(r.cancel_returned, r.deadline) << "timer " << i << " ignored its cancel";
        ++cancel_too_late;
      }
    } else {
      ++cancelled;
      ASSERT_TRUE(selected[i]) << "timer " << i << " was never cancelled";
      ASSERT_EQ(s.endings[i], Ending::cancelled) << i;
    }
  }
  EXPECT_EQ(fired + cancelled, s.n);
  // About n/4 expected (half of the n/2 cancels come first); slow builds lag a little.
  EXPECT_GT(cancelled, s.n / 20) << "too few cancels arrived before their deadline";
  EXPECT_GT(cancel_too_late, 0u) << "no cancel raced with a fired timer";
  s.handles.clear();
  EXPECT_EQ(Counted::live(), base) << "task frames (and so maybe their timers) leaked";
  EXPECT_EQ(log.count(weft::ReportKind::detached_exception), 0u);
  EXPECT_EQ(log.count(weft::ReportKind::unretrieved_exception), 0u);
  EXPECT_EQ(log.count(weft::ReportKind::shutdown_forced), 0u);
  std::printf(
      "%zu timers over %lld ms: %zu fired (%zu after a late cancel), %zu cancelled; "
      "timers popped %llu; %lld ms\n",
      s.n,
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(s.spread).count()),
      fired, cancel_too_late, cancelled, static_cast<unsigned long long>(timers_fired),
      static_cast<long long>(
          std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
}

}  // namespace

// The scheduler's promises that are about where and when tasks run (docs/reliability.md,
// Scheduler): a busy loop's queued work is stolen by an idle one and the metrics say so; a
// coroutine resumed on another loop reads that loop's thread_locals; the cooperative budget
// makes a task that always finds its awaitable ready give way to timers; injected work runs
// on a runtime whose loops are all parked; the metrics count what happened.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "thread_id.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;

using weft::test::thread_id;

// --- work stealing --------------------------------------------------------------------------

struct RanOn {
  std::atomic<long> thread{0};
  std::atomic<bool> before_blocker_ended{false};
};

Task<void> record(RanOn* r, const std::atomic<bool>* blocker_done) {
  r->thread.store(thread_id(), std::memory_order_relaxed);
  r->before_blocker_ended.store(!blocker_done->load(std::memory_order_acquire),
                                std::memory_order_relaxed);
  co_return;
}

// Spawns 64 tasks onto this loop's deque and then holds the loop for 150 ms without
// suspending (a long CPU-bound step). Only another loop can run them meanwhile.
Task<long> spawn_then_hold(std::vector<RanOn>* ran) {
  const long self = thread_id();
  std::atomic<bool> done{false};
  std::vector<JoinHandle<void>> handles;
  for (RanOn& r : *ran) handles.push_back(weft::spawn(record(&r, &done)));
  const auto until = Clock::now() + 150ms;
  while (Clock::now() < until) {
  }
  done.store(true, std::memory_order_release);
  for (auto& h : handles) co_await h;
  co_return self;
}

TEST(Scheduler, IdleLoopStealsTheQueueOfABusyOne) {
  weft::RuntimeOptions o = weft::test::options(2);
  o.stall_threshold = 0ms;  // the hold is the scenario, not a bug to report
  weft::Runtime rt(o);
  std::vector<RanOn> ran(64);
  const long holder = rt.block_on([](std::vector<RanOn>* records) -> Task<long> {
    co_return co_await weft::spawn(spawn_then_hold(records));
  }(&ran));
  int early = 0;
  for (const RanOn& r : ran) {
    EXPECT_NE(r.thread.load(), holder) << "a queued task waited for its busy loop";
    early += r.before_blocker_ended.load() ? 1 : 0;
  }
  EXPECT_EQ(early, 64);
  const weft::LoopMetrics total = rt.metrics().total();
  EXPECT_GE(total.steals, 64u);
  EXPECT_GE(total.steal_attempts, 1u);
}

// The one child spawned just before the loop got stuck sits in the LIFO slot, which thieves
// leave alone while its loop is merely busy. Once the loop has been inside one run for a
// monitor period, the slot is exposed and the idle loop takes it — with stall reports off too.
Task<long> spawn_one_then_hold(RanOn* ran) {
  const long self = thread_id();
  std::atomic<bool> done{false};
  JoinHandle<void> child = weft::spawn(record(ran, &done));
  const auto until = Clock::now() + 200ms;
  while (Clock::now() < until) {
  }
  done.store(true, std::memory_order_release);
  co_await child;
  co_return self;
}

TEST(Scheduler, ChildInTheLifoSlotOfAStuckLoopIsTaken) {
  for (const auto threshold : {25ms, 0ms}) {
    SCOPED_TRACE("stall_threshold " + std::to_string(threshold.count()) + " ms");
    weft::RuntimeOptions o = weft::test::options(2);
    o.stall_threshold = threshold;
    o.on_report = [](const weft::Report&) {};
    weft::Runtime rt(o);
    RanOn ran;
    const long holder = rt.block_on([](RanOn* r) -> Task<long> {
      co_return co_await weft::spawn(spawn_one_then_hold(r));
    }(&ran));
    EXPECT_NE(ran.thread.load(), holder);
    EXPECT_TRUE(ran.before_blocker_ended.load()) << "the child waited for its stuck loop";
  }
}

// --- thread_local after a resume on another loop --------------------------------------------

thread_local long tls_owner = 0;

Task<void> hold_loop(Clock::duration d) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until) {
  }
  co_return;
}

struct Migration {
  int moves = 0;
  int mismatches = 0;
  int attempts = 0;
};

// Reads `tls_owner` directly in the coroutine body, before and after suspensions, and checks
// it against the OS thread. To move itself, it queues a task that holds the current loop and
// yields behind it: the other loop steals it and resumes it there.
Task<Migration> migrate(int wanted_moves) {
  Migration m;
  long last = thread_id();
  if (tls_owner == 0) tls_owner = last;
  while (m.moves < wanted_moves && m.attempts < 200) {
    ++m.attempts;
    weft::spawn(hold_loop(20ms)).detach();
    co_await weft::yield();
    if (tls_owner == 0) tls_owner = thread_id();
    const long now = thread_id();
    if (tls_owner != now) ++m.mismatches;
    if (now != last) ++m.moves;
    last = now;
  }
  co_return m;
}

TEST(Scheduler, ThreadLocalAfterResumeOnAnotherLoopIsThatLoops) {
  weft::RuntimeOptions o = weft::test::options(2);
  o.stall_threshold = 0ms;
  const Migration m =
      weft::run([]() -> Task<Migration> { co_return co_await weft::spawn(migrate(10)); }(), o);
  EXPECT_EQ(m.moves, 10) << "the task was never resumed on the other loop (" << m.attempts
                         << " attempts)";
  EXPECT_EQ(m.mismatches, 0) << "a thread_local read after a move saw the old thread's copy";
}

// --- the cooperative budget -----------------------------------------------------------------

struct BudgetRun {
  bool timer_fired = false;
  std::uint64_t ready_awaits = 0;
};

Task<void> set_after(Clock::duration d, std::atomic<bool>* flag) {
  co_await weft::sleep(d);
  flag->store(true, std::memory_order_release);
}

// On one loop: a timer task, and a task that awaits an always-writable pipe (ready every
// time, so the awaiter never needs to suspend). Without the budget the loop would never get
// back to its timers and this would run into its 5 s deadline.
Task<BudgetRun> busy_on_ready_fd() {
  std::array<int, 2> p{};
  if (::pipe2(p.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  ::close(p[0]);  // writable stays reported (EPOLLERR) and nothing is ever written
  weft::AsyncFd out(p[1]);
  std::atomic<bool> fired{false};
  JoinHandle<void> timer = weft::spawn(set_after(2ms, &fired));
  BudgetRun r;
  const auto deadline = Clock::now() + 5s;
  while (!fired.load(std::memory_order_acquire) && Clock::now() < deadline) {
    (void)co_await weft::writable(out);
    ++r.ready_awaits;
  }
  r.timer_fired = fired.load();
  co_await timer;
  co_return r;
}

TEST(Scheduler, BudgetLetsTimersRunBesideATaskThatNeverWaits) {
  weft::RuntimeOptions o = weft::test::options(1);
  o.stall_threshold = 0ms;
  const BudgetRun r = weft::run(busy_on_ready_fd(), o);
  EXPECT_TRUE(r.timer_fired) << "the timer never fired while a task spun on a ready fd";
  EXPECT_GT(r.ready_awaits, 0u);
}

// --- injection into parked loops ------------------------------------------------------------

Task<long> where() { co_return thread_id(); }

TEST(Scheduler, ForeignSpawnRunsOnAParkedRuntime) {
  weft::Runtime rt(weft::test::options(2));
  ASSERT_NE(rt.block_on(where()), 0);
  // Wait (bounded) until both loops have parked: the next spawn must wake one.
  const auto deadline = Clock::now() + 5s;
  auto parked_all = [&] {
    const auto m = rt.metrics();
    return m.loops.size() == 2 && m.loops[0].parks > 0 && m.loops[1].parks > 0;
  };
  while (!parked_all() && Clock::now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(parked_all());
  for (int i = 0; i < 100; ++i) ASSERT_NE(rt.block_on(where()), 0) << "round " << i;
  const auto m = rt.metrics();
  EXPECT_GE(m.spawned_remote, 101u);
  EXPECT_GE(m.total().injected_taken, 101u);
  EXPECT_GE(m.total().wakeups, 1u);
}

// --- metrics --------------------------------------------------------------------------------

Task<void> nothing() { co_return; }

Task<void> spawn_and_sleep(int n) {
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < n; ++i) hs.push_back(weft::spawn(nothing()));
  for (auto& h : hs) co_await h;
  for (int i = 0; i < 3; ++i) co_await weft::sleep(1ms);
}

TEST(Scheduler, MetricsCountSpawnsRunsAndTimers) {
  weft::Runtime rt(weft::test::options(2));
  rt.block_on(spawn_and_sleep(100));
  // block_on returns once the task has produced its value; the loops' counters for its
  // completion (and for the timer that woke it) are published just after.
  EXPECT_TRUE(weft::test::wait_until([&] {
    const auto m = rt.metrics();
    return m.live_tasks == 0 && m.total().timers_fired >= 3;
  }));
  const auto m = rt.metrics();
  ASSERT_EQ(m.loops.size(), 2u);
  const weft::LoopMetrics t = m.total();
  EXPECT_EQ(t.spawned_local, 100u);
  EXPECT_EQ(m.spawned_remote, 1u);  // block_on's task
  EXPECT_GE(t.tasks_run, 101u);
  EXPECT_GE(t.timers_fired, 3u);
  EXPECT_EQ(m.live_tasks, 0u);
  EXPECT_EQ(rt.loops(), 2u);
}

TEST(Scheduler, LoopsDefaultToTheNumberOfCores) {
  weft::Runtime rt;
  const unsigned hw = std::thread::hardware_concurrency();
  EXPECT_EQ(rt.loops(), hw != 0 ? hw : 1u);
}

TEST(Scheduler, BlockOnFromALoopThreadIsRefused) {
  weft::Runtime rt(weft::test::options(1));
  const bool refused = rt.block_on([](weft::Runtime* r) -> Task<bool> {
    try {
      r->block_on(nothing());
    } catch (const std::logic_error&) {
      co_return true;
    }
    co_return false;
  }(&rt));
  EXPECT_TRUE(refused);
}

TEST(Scheduler, SpawnOutsideATaskIsRefused) {
  EXPECT_THROW(weft::spawn(nothing()).detach(), std::logic_error);
}

}  // namespace

// Tasks made runnable together start in the order they were made runnable, as asyncio's
// FIFO ready queue runs them (its locks' fairness rests on it: a release or notify_all hands
// over in waiting order). Each waiter here waits on an Event of its own, so the order seen
// is the scheduler's alone, whatever order a primitive wakes its own waiters in.
//
// Ordering tests run on one loop (the order among loops is not defined); the invariant test
// (every wake-up runs its task exactly once) on one and two.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "weft/event.hpp"

namespace {

using weft::JoinHandle;
using weft::Task;

// Order of events, written by tasks of one loop only.
using Log = std::vector<std::string>;

Task<void> wait_then_log(weft::Event* event, Log* log, std::string name,
                         std::atomic<std::size_t>* waiting) {
  waiting->fetch_add(1);
  co_await event->wait();
  log->push_back(std::move(name));
}

Task<void> log_start(Log* log, std::string name) {
  log->push_back(std::move(name));
  co_return;
}

// Spawns one waiter per name, lets all of them suspend, then runs `wake` (in one run of
// this task) and joins them all, and the tasks `wake` spawned.
template <class Wake>
Task<Log> run_wakes(std::vector<std::string> names, Wake wake) {
  Log log;
  std::atomic<std::size_t> waiting{0};
  std::vector<std::unique_ptr<weft::Event>> events;
  std::vector<JoinHandle<void>> waiters;
  for (const std::string& name : names) {
    events.push_back(std::make_unique<weft::Event>());
    waiters.push_back(weft::spawn(wait_then_log(events.back().get(), &log, name, &waiting)));
  }
  EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return waiting.load() == names.size(); },
                                                 weft::test::kDeadline,
                                                 std::chrono::steady_clock::duration::zero()));
  co_await weft::yield();  // the last waiter reached its wait() after counting itself
  std::vector<JoinHandle<void>> spawned;
  wake(events, log, spawned);
  for (JoinHandle<void>& w : waiters) co_await w;
  for (JoinHandle<void>& s : spawned) co_await s;
  co_return log;
}

// One running task wakes a, b, c, d, e: they run in that order. (The loop's LIFO slot used
// to take each wake-up in turn, so the last woken ran first: e, a, b, c, d.)
TEST(WakeOrder, TasksWokenByOneRunStartInWakeOrder) {
  weft::Runtime rt(weft::test::options(1));
  const Log log = rt.block_on(run_wakes({"a", "b", "c", "d", "e"}, [](auto& events, Log&, auto&) {
    for (auto& e : events) e->set();
  }));
  EXPECT_EQ(log, (Log{"a", "b", "c", "d", "e"}));
}

// Wakes in an order other than the waiters' spawn order: the wake order is what counts.
TEST(WakeOrder, WakeOrderNotSpawnOrderDecides) {
  weft::Runtime rt(weft::test::options(1));
  const Log log = rt.block_on(run_wakes({"a", "b", "c", "d"}, [](auto& events, Log&, auto&) {
    events[2]->set();
    events[0]->set();
    events[3]->set();
    events[1]->set();
  }));
  EXPECT_EQ(log, (Log{"c", "a", "d", "b"}));
}

Task<void> spawn_in_order(std::vector<std::string> names, Log* log) {
  std::vector<JoinHandle<void>> children;
  for (std::string& name : names) children.push_back(weft::spawn(log_start(log, name)));
  for (JoinHandle<void>& child : children) co_await child;
}

// asyncio runs tasks created one after another in creation order.
TEST(WakeOrder, TasksSpawnedByOneRunStartInSpawnOrder) {
  weft::Runtime rt(weft::test::options(1));
  Log log;
  rt.block_on(spawn_in_order({"1", "2", "3", "4"}, &log));
  EXPECT_EQ(log, (Log{"1", "2", "3", "4"}));
}

Task<Log> wake_spawn_wake() {
  std::vector<std::string> names;  // not a braced list: g++ 12 mis-compiles one in a coroutine
  names.emplace_back("a");
  names.emplace_back("b");
  co_return co_await run_wakes(std::move(names), [](auto& events, Log& log, auto& spawned) {
    events[0]->set();
    spawned.push_back(weft::spawn(log_start(&log, "spawned")));
    events[1]->set();
  });
}

// Wake-ups and spawns of one run share one order.
TEST(WakeOrder, WakesAndSpawnsOfOneRunKeepTheirOrder) {
  weft::Runtime rt(weft::test::options(1));
  EXPECT_EQ(rt.block_on(wake_spawn_wake()), (Log{"a", "spawned", "b"}));
}

// --- nothing lost, nothing run twice ------------------------------------------------------

Task<void> count_wake(weft::Event* event, std::atomic<int>* woken,
                      std::atomic<std::size_t>* waiting) {
  waiting->fetch_add(1);
  co_await event->wait();
  woken->fetch_add(1);
}

Task<void> many_wakes(std::size_t n, std::vector<std::atomic<int>>* woken) {
  std::atomic<std::size_t> waiting{0};
  std::vector<std::unique_ptr<weft::Event>> events;
  std::vector<JoinHandle<void>> waiters;
  for (std::size_t i = 0; i < n; ++i) {
    events.push_back(std::make_unique<weft::Event>());
    waiters.push_back(weft::spawn(count_wake(events.back().get(), &(*woken)[i], &waiting)));
  }
  // Wake half of them before all have even started (a wake can meet a task not yet
  // waiting), the rest once all wait.
  for (std::size_t i = 0; i < n; i += 2) events[i]->set();
  EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return waiting.load() == n; }));
  for (std::size_t i = 1; i < n; i += 2) events[i]->set();
  for (JoinHandle<void>& w : waiters) co_await w;
}

TEST(WakeOrder, EveryWakeRunsItsTaskExactlyOnce) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    const std::size_t n = weft::test::scaled(2000, 200);
    std::vector<std::atomic<int>> woken(n);
    {
      weft::Runtime rt(weft::test::options(loops));
      rt.block_on(many_wakes(n, &woken));
    }
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(woken[i].load(), 1) << i;
  }
}

}  // namespace

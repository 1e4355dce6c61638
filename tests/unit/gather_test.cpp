// weft::gather and weft::gather_settled: results in order, concurrency, and the stricter
// failure rule — when gather rethrows, every sibling has been cancelled and has ended (its
// destructors ran); a cancel from outside reaches every child, through nested gathers.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>
#include <weft/gather.hpp>
#include <weft/gather_settled.hpp>

#include "probe.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::Task;
using weft::test::Counted;

using weft::test::EndMark;
using weft::test::ends_cancelled_once_started;
using weft::test::Probe;

Task<int> value_after(int v, Clock::duration d, Counted = {}) {
  co_await weft::sleep(d);
  co_return v;
}

Task<int> fail_after(Clock::duration d, std::string what = "boom") {
  Counted c;
  co_await weft::sleep(d);
  throw std::runtime_error(what);
}

// Sleeps `d` (long: only a cancel ends it early); `cleanup` is slept after a cancel.
Task<int> sleeper(Probe* p, Clock::duration d = 10s, Clock::duration cleanup = 0ms, Counted = {}) {
  EndMark mark(p);
  Counted local;
  p->started.fetch_add(1);
  bool cancelled = false;
  try {
    co_await weft::sleep(d);
  } catch (const CancelledError&) {
    p->cancelled.fetch_add(1);
    cancelled = true;
  }
  if (cancelled) {
    co_await weft::sleep(cleanup);  // clean-up that takes a while
    throw CancelledError();
  }
  co_return 1;
}

int global_value = 3;
Task<int&> reference() { co_return global_value; }
Task<void> nothing(Clock::duration d) { co_await weft::sleep(d); }
Task<std::unique_ptr<int>> boxed(int v) {
  co_await weft::yield();
  co_return std::make_unique<int>(v);
}

TEST(Gather, ZeroItemsReturnAtOnce) {
  auto body = []() -> Task<std::size_t> {
    std::vector<int> ints = co_await weft::gather(std::vector<Task<int>>{});
    co_await weft::gather(std::vector<Task<void>>{});
    std::tuple<> none = co_await weft::gather();
    (void)none;
    auto settled = co_await weft::gather_settled(std::vector<Task<int>>{});
    co_return ints.size() + settled.size();
  };
  EXPECT_EQ(weft::run(body(), weft::test::options()), 0u);
}

TEST(Gather, PackGivesResultsInArgumentOrder) {
  const long base = Counted::live();
  global_value = 3;
  auto body = []() -> Task<bool> {
    // The first argument finishes last: order is by position, not by completion.
    auto [a, b, c, d] =
        co_await weft::gather(value_after(1, 40ms), reference(), nothing(1ms), value_after(4, 1ms));
    static_assert(std::is_same_v<decltype(c), std::monostate>);
    b.get() += 1;
    co_return a == 1 && d == 4;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options()));
  EXPECT_EQ(global_value, 4);
  EXPECT_EQ(Counted::live(), base);
}

TEST(Gather, VectorGivesResultsInOrderAcrossLoops) {
  auto body = []() -> Task<bool> {
    std::vector<Task<std::unique_ptr<int>>> tasks;
    for (int i = 0; i < 1000; ++i) tasks.push_back(boxed(i));
    std::vector<std::unique_ptr<int>> out = co_await weft::gather(std::move(tasks));
    if (out.size() != 1000) co_return false;
    for (int i = 0; i < 1000; ++i)
      if (*out[static_cast<std::size_t>(i)] != i) co_return false;
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

TEST(Gather, ChildrenRunConcurrently) {
  auto body = []() -> Task<Clock::duration> {
    const auto start = Clock::now();
    std::vector<Task<void>> tasks;
    for (int i = 0; i < 3; ++i) tasks.push_back(nothing(100ms));
    co_await weft::gather(std::move(tasks));
    co_return Clock::now() - start;
  };
  const Clock::duration took = weft::run(body(), weft::test::options());
  EXPECT_GE(took, 100ms);
  EXPECT_LT(took, 290ms) << "the three sleeps did not overlap";
}

// One child fails among many: gather rethrows its exception only after every sibling was
// cancelled and has ended — their catch blocks ran, their frames (locals and parameters)
// were destroyed.
TEST(Gather, OneFailingAmongManyCancelsAndJoinsTheRest) {
  const long base = Counted::live();
  Probe probe;
  auto body = [&]() -> Task<bool> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 20; ++i) tasks.push_back(sleeper(&probe));
    tasks.insert(tasks.begin() + 7, fail_after(20ms, "child 7 failed"));
    const auto start = Clock::now();
    try {
      (void)co_await weft::gather(std::move(tasks));
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "child 7 failed");
      // Checked here, inside the catch: before gather's exception reached us.
      EXPECT_EQ(probe.started.load(), 20);
      EXPECT_EQ(probe.cancelled.load(), 20);
      EXPECT_EQ(probe.ended.load(), 20);
      EXPECT_EQ(Counted::live(), base) << "a sibling's frame was still alive";
      EXPECT_LT(Clock::now() - start, 5s);
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// A sibling that takes 150 ms to clean up after its cancel holds gather's rethrow back.
TEST(Gather, FailureWaitsForSiblingsCleanup) {
  Probe probe;
  auto body = [&]() -> Task<Clock::duration> {
    const auto start = Clock::now();
    try {
      (void)co_await weft::gather(sleeper(&probe, 10s, 150ms), fail_after(10ms));
    } catch (const std::runtime_error&) {
      EXPECT_EQ(probe.ended.load(), 1) << "rethrown before the sibling's clean-up ended";
    }
    co_return Clock::now() - start;
  };
  const Clock::duration took = weft::run(body(), weft::test::options(2));
  EXPECT_GE(took, 160ms);
  EXPECT_LT(took, 5s);
}

// The first failure in completion order is the one rethrown; the later one never happened
// (its task was cancelled first).
TEST(Gather, FirstFailureWins) {
  auto body = []() -> Task<std::string> {
    try {
      (void)co_await weft::gather(fail_after(300ms, "late"), fail_after(5ms, "early"));
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "nothing thrown";
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), "early");
}

// gather(gather(a, b), gather(c, d)) cancelled from outside: the cancel goes down both
// levels, every leaf is cancelled and ends, then CancelledError comes out at the top.
TEST(Gather, NestedGathersCancelledFromOutside) {
  const long base = Counted::live();
  Probe probe;
  auto inner = [&]() -> Task<std::vector<int>> {
    std::vector<Task<int>> leaves;
    leaves.push_back(sleeper(&probe));
    leaves.push_back(sleeper(&probe));
    co_return co_await weft::gather(std::move(leaves));
  };
  auto outer = [&]() -> Task<int> {
    auto [x, y] = co_await weft::gather(inner(), inner());
    co_return static_cast<int>(x.size() + y.size());
  };
  EXPECT_TRUE(weft::run(ends_cancelled_once_started(outer(), probe, 4), weft::test::options(2)));
  EXPECT_EQ(probe.cancelled.load(), 4);
  EXPECT_EQ(probe.ended.load(), 4);
  EXPECT_EQ(Counted::live(), base);
}

// Cancelling the gathering task while a child is still in its clean-up: the cancel comes out
// only after that clean-up ended.
TEST(Gather, OutsideCancelWaitsForChildren) {
  Probe probe;
  auto gathering = [&]() -> Task<void> {
    (void)co_await weft::gather(sleeper(&probe, 10s, 100ms), sleeper(&probe, 10s, 0ms));
  };
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<void> handle = weft::spawn(gathering());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 2; }));
    handle.cancel();
    EXPECT_TRUE(co_await weft::test::finished_within(handle));
    EXPECT_EQ(probe.ended.load(), 2);
    try {
      co_await handle;
    } catch (const CancelledError&) {
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// Children cancelled by gather end in CancelledError (through gather's own child wrapper),
// so the runtime counts them as cleanly cancelled; one that swallows its cancel is counted.
TEST(Gather, CancelledChildrenCountAsCleanlyCancelled) {
  Probe probe;
  weft::Runtime rt(weft::test::options(2));
  auto failing = [&]() -> Task<void> {
    EXPECT_THROW((void)co_await weft::gather(sleeper(&probe), sleeper(&probe), fail_after(5ms)),
                 std::runtime_error);
  };
  rt.block_on(failing());
  EXPECT_TRUE(weft::test::wait_until([&] { return rt.metrics().live_tasks == 0; }));
  EXPECT_EQ(rt.metrics().total().cancels_swallowed, 0u);

  auto swallowing = [&]() -> Task<void> {
    auto swallow = []() -> Task<int> {
      try {
        co_await weft::sleep(10s);
      } catch (const CancelledError&) {
      }
      co_return 0;
    };
    EXPECT_THROW((void)co_await weft::gather(swallow(), fail_after(5ms)), std::runtime_error);
  };
  rt.block_on(swallowing());
  EXPECT_TRUE(weft::test::wait_until([&] { return rt.metrics().live_tasks == 0; }));
  EXPECT_EQ(rt.metrics().total().cancels_swallowed, 1u);
}

// --- gather_settled ---------------------------------------------------------------------

TEST(GatherSettled, EveryOutcomeInArgumentOrder) {
  auto body = []() -> Task<bool> {
    auto [a, b, c] =
        co_await weft::gather_settled(value_after(1, 60ms), fail_after(1ms, "b"), nothing(20ms));
    EXPECT_TRUE(a.has_value());
    EXPECT_EQ(a.value(), 1);
    EXPECT_TRUE(b.has_error());
    EXPECT_THROW((void)b.value(), std::runtime_error);
    EXPECT_TRUE(c.has_value());
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// A failure cancels nothing: the slow sibling runs to its end and its value is there.
TEST(GatherSettled, FailureCancelsNothing) {
  auto body = []() -> Task<bool> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 10; ++i) {
      if (i % 3 == 0) {
        tasks.push_back(fail_after(1ms, std::to_string(i)));
      } else {
        tasks.push_back(value_after(i, std::chrono::milliseconds(10 * i)));
      }
    }
    std::vector<weft::Settled<int>> all = co_await weft::gather_settled(std::move(tasks));
    EXPECT_EQ(all.size(), 10u);
    for (int i = 0; i < 10; ++i) {
      const weft::Settled<int>& s = all[static_cast<std::size_t>(i)];
      if (i % 3 == 0) {
        EXPECT_TRUE(s.has_error()) << i;
        try {
          std::rethrow_exception(s.error());
        } catch (const std::runtime_error& e) {
          EXPECT_EQ(e.what(), std::to_string(i));
        }
      } else {
        EXPECT_EQ(s.value(), i);
      }
    }
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

TEST(GatherSettled, OutsideCancelCancelsAndJoinsChildren) {
  const long base = Counted::live();
  Probe probe;
  auto settling = [&]() -> Task<void> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 5; ++i) tasks.push_back(sleeper(&probe, 10s, 20ms));
    (void)co_await weft::gather_settled(std::move(tasks));
  };
  EXPECT_TRUE(weft::run(ends_cancelled_once_started(settling(), probe, 5), weft::test::options(2)));
  EXPECT_EQ(probe.ended.load(), 5);
  EXPECT_EQ(Counted::live(), base);
}

// --- JoinHandles ---------------------------------------------------------------------------

// The README's first program spawns handles; gather takes them, mixed with Tasks, and gives
// the results in argument order.
TEST(Gather, TakesJoinHandlesAlongsideTasks) {
  auto body = []() -> Task<bool> {
    weft::JoinHandle<int> a = weft::spawn(value_after(1, 5ms));
    weft::JoinHandle<int> b = weft::spawn(value_after(2, 1ms));
    auto [x, y, z] = co_await weft::gather(std::move(a), std::move(b), value_after(3, 2ms));
    EXPECT_EQ(x, 1);
    EXPECT_EQ(y, 2);
    EXPECT_EQ(z, 3);
    weft::JoinHandle<void> v = weft::spawn(nothing(1ms));
    auto [unit] = co_await weft::gather(std::move(v));
    (void)unit;
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// A vector of handles: every result, in order, none lost or duplicated — 1 and 2 loops.
void vector_of_handles(unsigned loops) {
  auto body = []() -> Task<long> {
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < 200; ++i) handles.push_back(weft::spawn(value_after(i, (i % 3) * 1ms)));
    std::vector<int> results = co_await weft::gather(std::move(handles));
    long mismatches = 0;
    for (int i = 0; i < 200; ++i) mismatches += results[static_cast<std::size_t>(i)] != i;
    co_return mismatches + static_cast<long>(results.size()) - 200;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(loops)), 0);
}
TEST(Gather, VectorOfJoinHandlesOneLoop) { vector_of_handles(1); }
TEST(Gather, VectorOfJoinHandlesTwoLoops) { vector_of_handles(2); }

// A sibling fails: the handle's task is cancelled and joined (its clean-up has run) before
// the failure reaches the caller — gather owns a handle it was given.
TEST(Gather, FailureCancelsAndJoinsAGivenHandlesTask) {
  const long base = Counted::live();
  Probe probe;
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<int> running = weft::spawn(sleeper(&probe, 10s, 20ms));
    EXPECT_THROW((void)co_await weft::gather(std::move(running), fail_after(5ms)),
                 std::runtime_error);
    EXPECT_EQ(probe.cancelled.load(), 1);
    EXPECT_EQ(probe.ended.load(), 1);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(Counted::live(), base);
}

// The gathering task is cancelled: every handle's task is cancelled and joined first.
TEST(Gather, OutsideCancelCancelsAndJoinsGivenHandles) {
  Probe probe;
  auto gathering = [&]() -> Task<int> {
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < 3; ++i) handles.push_back(weft::spawn(sleeper(&probe, 10s, 10ms)));
    std::vector<int> r = co_await weft::gather(std::move(handles));
    co_return static_cast<int>(r.size());
  };
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<int> handle = weft::spawn(gathering());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 3; }));
    handle.cancel();
    EXPECT_THROW((void)co_await handle, CancelledError);
    EXPECT_EQ(probe.cancelled.load(), 3);
    EXPECT_EQ(probe.ended.load(), 3);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

TEST(GatherSettled, TakesJoinHandles) {
  auto body = []() -> Task<bool> {
    weft::JoinHandle<int> good = weft::spawn(value_after(4, 1ms));
    weft::JoinHandle<int> bad = weft::spawn(fail_after(1ms));
    auto [g, b] = co_await weft::gather_settled(std::move(good), std::move(bad));
    EXPECT_EQ(g.value(), 4);
    EXPECT_TRUE(b.has_error());
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(value_after(5, 1ms)));
    std::vector<weft::Settled<int>> all = co_await weft::gather_settled(std::move(handles));
    EXPECT_EQ(all.at(0).value(), 5);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

}  // namespace

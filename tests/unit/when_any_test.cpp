// weft::when_any: the first child to end wins; the losers are cancelled and joined before
// the result (or the winner's exception) reaches the caller; ties go to the first to end.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>
#include <weft/when_any.hpp>

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

// Returns `v` after `d`; on a cancel, records it and sleeps `cleanup` before ending.
Task<int> contender(Probe* p, int v, Clock::duration d, Clock::duration cleanup = 0ms,
                    Counted = {}) {
  EndMark mark(p);
  p->started.fetch_add(1);
  bool cancelled = false;
  try {
    co_await weft::sleep(d);
  } catch (const CancelledError&) {
    p->cancelled.fetch_add(1);
    cancelled = true;
  }
  if (cancelled) {
    co_await weft::sleep(cleanup);
    throw CancelledError();
  }
  co_return v;
}

Task<void> void_after(Clock::duration d) { co_await weft::sleep(d); }
Task<int> fail_after(Clock::duration d) {
  co_await weft::sleep(d);
  throw std::runtime_error("winner failed");
}

TEST(WhenAny, FastestWinsLosersCancelledAndJoined) {
  const long base = Counted::live();
  Probe probe;
  auto body = [&]() -> Task<bool> {
    const auto start = Clock::now();
    std::variant<int, int, int> r = co_await weft::when_any(
        contender(&probe, 1, 10s, 50ms), contender(&probe, 2, 10ms), contender(&probe, 3, 10s));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(std::get<1>(r), 2);
    // The losers' clean-up (50 ms) ran before when_any returned.
    EXPECT_EQ(probe.cancelled.load(), 2);
    EXPECT_EQ(probe.ended.load(), 3);
    EXPECT_EQ(Counted::live(), base);
    const auto took = Clock::now() - start;
    EXPECT_GE(took, 60ms);
    EXPECT_LT(took, 5s);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

TEST(WhenAny, VectorGivesIndexAndValue) {
  Probe probe;
  auto body = [&]() -> Task<bool> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 10; ++i)
      tasks.push_back(contender(&probe, i * 10, i == 6 ? 5ms : Clock::duration(10s)));
    weft::WhenAny<int> first = co_await weft::when_any(std::move(tasks));
    EXPECT_EQ(first.index, 6u);
    EXPECT_EQ(first.value, 60);
    EXPECT_EQ(probe.ended.load(), 10);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

// Children that end without ever suspending have all ended before the caller looks: the
// first of them to end wins. On one loop, where a child's end and its notice to when_any
// cannot interleave with another child's, that is exactly the child that stamped first.
std::atomic<int> g_end_stamp{0};
Task<int> stamp_end(int* stamp) {
  *stamp = g_end_stamp.fetch_add(1);
  co_return 0;
}

TEST(WhenAny, TiesGoToTheFirstToEnd) {
  auto body = [](bool one_loop) -> Task<bool> {
    std::vector<int> stamps(8, -1);
    std::vector<Task<int>> tasks;
    for (std::size_t i = 0; i < stamps.size(); ++i) tasks.push_back(stamp_end(&stamps[i]));
    const int first_stamp = g_end_stamp.load();
    weft::WhenAny<int> first = co_await weft::when_any(std::move(tasks));
    EXPECT_LT(first.index, stamps.size());
    EXPECT_GE(stamps[first.index], first_stamp) << "the winner never ran";
    if (one_loop) {
      EXPECT_EQ(stamps[first.index], first_stamp) << "not the first to end";
    }
    co_return true;
  };
  for (int round = 0; round < 20; ++round) {
    EXPECT_TRUE(weft::run(body(true), weft::test::options(1)));
    EXPECT_TRUE(weft::run(body(false), weft::test::options(2)));
  }
}

TEST(WhenAny, WinnersExceptionIsRethrownAfterLosersJoined) {
  const long base = Counted::live();
  Probe probe;
  auto body = [&]() -> Task<bool> {
    try {
      (void)co_await weft::when_any(contender(&probe, 1, 10s, 30ms), fail_after(5ms));
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "winner failed");
      EXPECT_EQ(probe.ended.load(), 1) << "rethrown before the loser was joined";
      EXPECT_EQ(Counted::live(), base);
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

TEST(WhenAny, VoidAndMixedTypes) {
  auto body = []() -> Task<std::size_t> {
    std::variant<std::monostate, std::string> r =
        co_await weft::when_any(void_after(1ms), []() -> Task<std::string> {
          co_await weft::sleep(10s);
          co_return "late";
        }());
    co_return r.index();
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 0u);
}

TEST(WhenAny, EmptyVectorThrows) {
  auto body = []() -> Task<void> { (void)co_await weft::when_any(std::vector<Task<int>>{}); };
  EXPECT_THROW(weft::run(body(), weft::test::options()), std::invalid_argument);
}

TEST(WhenAny, OutsideCancelCancelsAndJoinsAll) {
  const long base = Counted::live();
  Probe probe;
  auto waiting = [&]() -> Task<int> {
    auto r = co_await weft::when_any(contender(&probe, 1, 10s, 20ms), contender(&probe, 2, 10s));
    co_return r.index() == 0 ? std::get<0>(r) : std::get<1>(r);
  };
  EXPECT_TRUE(weft::run(ends_cancelled_once_started(waiting(), probe, 2), weft::test::options(2)));
  EXPECT_EQ(probe.cancelled.load(), 2);
  EXPECT_EQ(probe.ended.load(), 2);
  EXPECT_EQ(Counted::live(), base);
}

// when_any takes JoinHandles: the first to end wins, the other handles' tasks are cancelled
// and joined (when_any owns them) before the result comes back.
TEST(WhenAny, TakesJoinHandlesAndJoinsTheLosers) {
  Probe probe;
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<int> slow = weft::spawn(contender(&probe, 1, 10s, 10ms));
    weft::JoinHandle<int> fast = weft::spawn(contender(&probe, 2, 1ms));
    std::variant<int, int> r = co_await weft::when_any(std::move(slow), std::move(fast));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(std::get<1>(r), 2);
    EXPECT_EQ(probe.cancelled.load(), 1);
    EXPECT_EQ(probe.ended.load(), 2);
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(contender(&probe, 3, 10s)));
    handles.push_back(weft::spawn(contender(&probe, 4, 1ms)));
    weft::WhenAny<int> first = co_await weft::when_any(std::move(handles));
    EXPECT_EQ(first.index, 1u);
    EXPECT_EQ(first.value, 4);
    EXPECT_EQ(probe.ended.load(), 4);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

}  // namespace

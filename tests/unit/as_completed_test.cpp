// weft::as_completed: outcomes in completion order (asyncio's test_tasks as_completed
// tests: order, a failure among them, an already finished task, stopping early), with
// weft's rule that the tasks still running when the body stops are cancelled and joined.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>
#include <weft/as_completed.hpp>

#include "probe.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::AsCompleted;
using weft::CancelledError;
using weft::Clock;
using weft::Completed;
using weft::Task;
using weft::test::Counted;

Task<int> value_after(int v, Clock::duration d, Counted = {}) {
  co_await weft::sleep(d);
  co_return v;
}

Task<int> fail_after(Clock::duration d) {
  co_await weft::sleep(d);
  throw std::runtime_error("failed");
}

using weft::test::Probe;

Task<int> sleeper(Probe* p, Clock::duration cleanup) {
  p->started.fetch_add(1);
  try {
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
    p->cancelled.fetch_add(1);
  }
  co_await weft::sleep(cleanup);
  p->ended.fetch_add(1);
  throw CancelledError();
}

// Tasks given in one order end in another (their deadlines are 15 ms apart on one loop's
// timer heap): the stream gives them in the order they ended.
TEST(AsCompleted, GivesOutcomesInCompletionOrder) {
  auto body = []() -> Task<std::vector<std::size_t>> {
    std::vector<Task<int>> tasks;
    tasks.push_back(value_after(0, 30ms));
    tasks.push_back(value_after(1, 1ms));
    tasks.push_back(value_after(2, 15ms));
    std::vector<std::size_t> order;
    co_await weft::as_completed(std::move(tasks), [&](AsCompleted<int>& done) -> Task<void> {
      while (std::optional<Completed<int>> c = co_await done.next()) {
        EXPECT_EQ(c->outcome.value(), static_cast<int>(c->index));
        order.push_back(c->index);
      }
    });
    co_return order;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(1)), (std::vector<std::size_t>{1, 2, 0}));
}

// A failure is one outcome among others: it stops nothing, value() rethrows it.
TEST(AsCompleted, AFailureIsAnOutcomeAndStopsNothing) {
  auto body = []() -> Task<int> {
    std::vector<Task<int>> tasks;
    tasks.push_back(fail_after(1ms));
    tasks.push_back(value_after(5, 10ms));
    co_return co_await weft::as_completed(std::move(tasks),
                                          [](AsCompleted<int>& done) -> Task<int> {
                                            int sum = 0;
                                            int failures = 0;
                                            while (auto c = co_await done.next()) {
                                              try {
                                                sum += c->outcome.value();
                                              } catch (const std::runtime_error&) {
                                                ++failures;
                                              }
                                            }
                                            co_return sum * 10 + failures;
                                          });
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 51);
}

// Every outcome exactly once, none lost — handles already spawned, some already finished,
// on 1 and 2 loops.
void every_outcome_once(unsigned loops) {
  auto body = []() -> Task<bool> {
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < 100; ++i) handles.push_back(weft::spawn(value_after(i, (i % 4) * 1ms)));
    co_await weft::sleep(2ms);  // some have finished before the stream starts
    std::multiset<int> seen;
    co_await weft::as_completed(std::move(handles), [&](AsCompleted<int>& done) -> Task<void> {
      EXPECT_EQ(done.remaining(), 100u);
      while (auto c = co_await done.next()) seen.insert(c->outcome.value());
      EXPECT_EQ(done.remaining(), 0u);
    });
    EXPECT_EQ(seen.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(seen.count(i), 1u) << i;
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(loops)));
}
TEST(AsCompleted, EveryOutcomeOnceOneLoop) { every_outcome_once(1); }
TEST(AsCompleted, EveryOutcomeOnceTwoLoops) { every_outcome_once(2); }

// The body stops after the first outcome: the others are cancelled and joined before
// as_completed returns, and the body's value comes out.
TEST(AsCompleted, StoppingEarlyCancelsAndJoinsTheRest) {
  const long base = Counted::live();
  Probe probe;
  auto body = [&]() -> Task<int> {
    std::vector<Task<int>> tasks;
    tasks.push_back(sleeper(&probe, 10ms));
    tasks.push_back(value_after(9, 1ms));
    tasks.push_back(sleeper(&probe, 10ms));
    const int first =
        co_await weft::as_completed(std::move(tasks), [](AsCompleted<int>& done) -> Task<int> {
          auto c = co_await done.next();
          co_return c->outcome.value();
        });
    EXPECT_EQ(probe.cancelled.load(), 2);
    EXPECT_EQ(probe.ended.load(), 2);
    co_return first;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 9);
  EXPECT_EQ(Counted::live(), base);
}

// A cancel of the calling task while the body waits in next(): every task is cancelled and
// joined, then CancelledError.
TEST(AsCompleted, OutsideCancelCancelsAndJoinsEverything) {
  Probe probe;
  auto iterating = [&]() -> Task<void> {
    std::vector<Task<int>> tasks;
    for (int i = 0; i < 3; ++i) tasks.push_back(sleeper(&probe, 5ms));
    co_await weft::as_completed(std::move(tasks), [](AsCompleted<int>& done) -> Task<void> {
      while (auto c = co_await done.next()) {
      }
    });
  };
  auto body = [&]() -> Task<bool> {
    weft::JoinHandle<void> handle = weft::spawn(iterating());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 3; }));
    handle.cancel();
    EXPECT_THROW(co_await handle, CancelledError);
    EXPECT_EQ(probe.ended.load(), 3);
    co_return true;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
}

TEST(AsCompleted, EmptyVectorGivesNothing) {
  auto body = []() -> Task<bool> {
    co_return co_await weft::as_completed(std::vector<Task<int>>{},
                                          [](AsCompleted<int>& done) -> Task<bool> {
                                            co_return !(co_await done.next()).has_value();
                                          });
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(1)));
}

}  // namespace

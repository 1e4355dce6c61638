// weft::with_task_group / weft::TaskGroup: children never outlive the group; the first
// failure cancels the rest; every failure is reported in TaskGroupError; a cancel from
// outside still reaches the owner.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/task_group.hpp>

#include "probe.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::Task;
using weft::TaskGroup;
using weft::TaskGroupError;
using weft::test::Counted;

using weft::test::EndMark;
using weft::test::ends_cancelled_once_started;
using weft::test::Probe;

// Sleeps `d`; once cancelled, sleeps `cleanup`, then rethrows (or throws `cleanup_error`).
Task<void> sleeper(Probe* p, Clock::duration d = 10s, Clock::duration cleanup = 0ms,
                   std::string cleanup_error = "", Counted = {}) {
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
    if (!cleanup_error.empty()) throw std::runtime_error(cleanup_error);
    throw CancelledError();
  }
}

Task<void> fail_after(Clock::duration d, std::string what) {
  co_await weft::sleep(d);
  throw std::runtime_error(what);
}

Task<void> store_after(std::vector<int>* out, std::size_t i, Clock::duration d) {
  co_await weft::sleep(d);
  (*out)[i] = static_cast<int>(i) + 1;
}

std::vector<std::string> messages(const TaskGroupError& e) {
  std::vector<std::string> out;
  for (const std::exception_ptr& p : e.errors()) {
    try {
      std::rethrow_exception(p);
    } catch (const std::exception& x) {
      out.emplace_back(x.what());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(TaskGroup, AllChildrenEndBeforeItReturns) {
  std::vector<int> results(50, 0);
  auto body = [&]() -> Task<int> {
    co_return co_await weft::with_task_group([&](TaskGroup& group) -> Task<int> {
      for (std::size_t i = 0; i < results.size(); ++i)
        group.spawn(store_after(&results, i, std::chrono::milliseconds(i % 7)));
      co_return 5;
    });
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 5);
  for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i], int(i) + 1);
}

// Children spawn children (from whatever loop they run on); the group waits for all.
TEST(TaskGroup, ChildrenMaySpawnMoreChildren) {
  std::atomic<int> leaves{0};
  auto body = [&]() -> Task<void> {
    co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
      for (int i = 0; i < 10; ++i) {
        group.spawn([](TaskGroup& g, std::atomic<int>& count) -> Task<void> {
          for (int j = 0; j < 10; ++j) {
            g.spawn([](std::atomic<int>& c) -> Task<void> {
              co_await weft::sleep(1ms);
              c.fetch_add(1);
            }(count));
          }
          co_return;
        }(group, leaves));
      }
      co_return;
    });
  };
  weft::run(body(), weft::test::options(2));
  EXPECT_EQ(leaves.load(), 100);
}

// One child fails once every other child has started; the cancel it causes makes two of
// them fail in their clean-up. TaskGroupError holds all three failures (the first one
// first: messages() sorts only the later two, whose order is a race), what() lists them,
// and every other child was cancelled.
TEST(TaskGroup, SeveralFailuresAreAllReported) {
  const long base = Counted::live();
  Probe probe;
  auto fail_once_all_started = [](Probe* p, int children) -> Task<void> {
    const bool all_started =
        co_await weft::test::co_wait_until([&] { return p->started.load() == children; });
    if (!all_started) throw std::runtime_error("the other children never started");
    throw std::runtime_error("a");
  };
  auto body = [&]() -> Task<bool> {
    try {
      co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
        for (int i = 0; i < 5; ++i) group.spawn(sleeper(&probe));
        group.spawn(sleeper(&probe, 10s, 0ms, "b"));
        group.spawn(sleeper(&probe, 10s, 0ms, "c"));
        group.spawn(fail_once_all_started(&probe, 7));
        co_return;
      });
    } catch (const TaskGroupError& e) {
      EXPECT_EQ(e.errors().size(), 3u);
      try {
        std::rethrow_exception(e.errors().front());
      } catch (const std::runtime_error& first) {
        EXPECT_STREQ(first.what(), "a");
      }
      EXPECT_EQ(messages(e), (std::vector<std::string>{"a", "b", "c"}));
      const std::string what = e.what();
      EXPECT_NE(what.find("3 task group failures"), std::string::npos) << what;
      for (const char* m : {"] a", "] b", "] c"})
        EXPECT_NE(what.find(m), std::string::npos) << what;
      EXPECT_EQ(probe.ended.load(), probe.started.load());
      EXPECT_EQ(Counted::live(), base);
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(probe.cancelled.load(), probe.started.load());
}

// A child's failure interrupts the body too (asyncio cancels the body of `async with`).
TEST(TaskGroup, FailureCancelsTheBody) {
  std::atomic<bool> body_cancelled{false};
  auto body = [&]() -> Task<Clock::duration> {
    const auto start = Clock::now();
    try {
      co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
        group.spawn(fail_after(10ms, "child"));
        try {
          co_await weft::sleep(10s);
        } catch (const CancelledError&) {
          body_cancelled = true;
          throw;
        }
      });
    } catch (const TaskGroupError& e) {
      EXPECT_EQ(messages(e), std::vector<std::string>{"child"});
    }
    co_return Clock::now() - start;
  };
  EXPECT_LT(weft::run(body(), weft::test::options(2)), 5s);
  EXPECT_TRUE(body_cancelled.load());
}

// The body's own failure is one of the group's failures; children are cancelled.
TEST(TaskGroup, BodyFailureIsReportedAndCancelsChildren) {
  Probe probe;
  auto body = [&]() -> Task<bool> {
    try {
      co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
        group.spawn(sleeper(&probe));
        group.spawn(sleeper(&probe));
        co_await weft::sleep(5ms);
        throw std::runtime_error("body");
      });
    } catch (const TaskGroupError& e) {
      EXPECT_EQ(messages(e), std::vector<std::string>{"body"});
      EXPECT_EQ(probe.ended.load(), 2);
      co_return true;
    }
    co_return false;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options(2)));
  EXPECT_EQ(probe.cancelled.load(), 2);
}

// A cancel of the owner from outside: every child is cancelled and joined (their clean-up
// takes 50 ms), then CancelledError reaches the owner.
TEST(TaskGroup, OutsideCancelReachesTheOwner) {
  const long base = Counted::live();
  Probe probe;
  std::atomic<bool> owner_saw_cancel{false};
  auto owner = [&]() -> Task<void> {
    try {
      co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
        for (int i = 0; i < 4; ++i) group.spawn(sleeper(&probe, 10s, 50ms));
        co_return;
      });
    } catch (const CancelledError&) {
      owner_saw_cancel = probe.ended.load() == 4;
      throw;
    }
  };
  EXPECT_TRUE(weft::run(ends_cancelled_once_started(owner(), probe, 4), weft::test::options(2)));
  EXPECT_TRUE(owner_saw_cancel.load()) << "CancelledError before the children ended";
  EXPECT_EQ(probe.cancelled.load(), 4);
  EXPECT_EQ(Counted::live(), base);
}

// The outside cancel makes children fail in their clean-up: the owner gets TaskGroupError
// with both failures, and the cancel is not lost — its next suspension throws it.
TEST(TaskGroup, OutsideCancelWithFailuresReportsBoth) {
  Probe probe;
  std::atomic<int> errors_seen{0};
  std::atomic<bool> next_suspension_cancelled{false};
  auto owner = [&]() -> Task<void> {
    try {
      co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
        group.spawn(sleeper(&probe, 10s, 0ms, "x"));
        group.spawn(sleeper(&probe, 10s, 5ms, "y"));
        co_return;
      });
    } catch (const TaskGroupError& e) {
      errors_seen = static_cast<int>(e.errors().size());
    }
    try {
      co_await weft::sleep(10s);
    } catch (const CancelledError&) {
      next_suspension_cancelled = true;
      throw;
    }
  };
  auto body = [&]() -> Task<void> {
    weft::JoinHandle<void> handle = weft::spawn(owner());
    EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return probe.started.load() == 2; }));
    handle.cancel();
    EXPECT_TRUE(co_await weft::test::finished_within(handle, 5s));
    EXPECT_THROW(co_await handle, CancelledError);
  };
  weft::run(body(), weft::test::options(2));
  EXPECT_EQ(errors_seen.load(), 2);
  EXPECT_TRUE(next_suspension_cancelled.load());
}

}  // namespace

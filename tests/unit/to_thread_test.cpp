// weft::to_thread: results of every kind, exceptions, running off the loops, cancellation with
// and without a stop_token, back-pressure (FIFO, cancellable), parallelism, metrics, and
// shutdown with jobs running.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>
#include <weft/to_thread.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Task;
using weft::test::co_wait_until;
using weft::test::Counted;
using weft::test::wait_until;

weft::RuntimeOptions pool_options(unsigned threads = 2, std::size_t max_jobs = 512) {
  weft::RuntimeOptions o = weft::test::options(2);
  o.stall_threshold = 0ms;
  o.to_thread_threads = threads;
  o.max_to_thread_jobs = max_jobs;
  return o;
}

// Busy for `d` of wall time, never blocking: a CPU-bound job. Wall time, not CPU time, so
// that the parallelism bound below holds on a loaded machine: two such jobs take 2d on one
// worker and about d on two, however the cores are shared.
void spin_for(std::chrono::steady_clock::duration d) {
  const auto end = std::chrono::steady_clock::now() + d;
  volatile std::uint64_t sink = 0;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 1000; ++i) sink = sink + static_cast<std::uint64_t>(i);
  }
}

struct JobError : std::runtime_error {
  explicit JobError(int error_code) : std::runtime_error("job failed"), code(error_code) {}
  int code;
};

TEST(ToThread, ReturnsValuesOfEveryKind) {
  static int shared_value;
  shared_value = 1;
  auto body = []() -> Task<int> {
    const int a = co_await weft::to_thread([](int x, int y) { return x * y; }, 6, 7);
    auto p = co_await weft::to_thread(
        [](std::unique_ptr<int> q) {
          *q += 1;
          return q;
        },
        std::make_unique<int>(4));
    std::atomic<bool> ran{false};
    co_await weft::to_thread([&ran] { ran.store(true); });
    int& r = co_await weft::to_thread([]() -> int& { return shared_value; });
    r += 10;
    co_return a + *p + (ran.load() ? 100 : 0) + shared_value;
  };
  EXPECT_EQ(weft::run(body(), pool_options()), 42 + 5 + 100 + 11);
}

TEST(ToThread, ArgumentsAreCopiedOrMovedLikeStdThread) {
  auto body = []() -> Task<std::string> {
    std::string text = "abc";
    // Copied: the job appends to its own copy.
    std::string copy = co_await weft::to_thread([](std::string s) { return s + "d"; }, text);
    // std::ref shares, as with std::thread.
    co_await weft::to_thread([](std::string& s) { s += "!"; }, std::ref(text));
    co_return copy + text;
  };
  EXPECT_EQ(weft::run(body(), pool_options()), "abcdabc!");
}

TEST(ToThread, ExceptionReachesTheAwaiterWithItsType) {
  auto body = []() -> Task<int> {
    try {
      co_await weft::to_thread([]() -> int { throw JobError(7); });
    } catch (const JobError& e) {
      co_return e.code;
    }
    co_return -1;
  };
  EXPECT_EQ(weft::run(body(), pool_options()), 7);
  // And through block_on, unchanged.
  EXPECT_THROW(weft::run(weft::to_thread([] { throw JobError(1); }), pool_options()), JobError);
}

TEST(ToThread, RunsOnAThreadThatIsNoLoop) {
  weft::Runtime rt(pool_options());
  // Two tasks that spin until both are running occupy both loops at once: their thread ids
  // are every loop thread.
  std::atomic<int> arrived{0};
  std::mutex mutex;
  std::set<std::thread::id> loop_ids;
  auto occupy = [&]() -> Task<bool> {
    {
      std::lock_guard lock(mutex);
      loop_ids.insert(std::this_thread::get_id());
    }
    arrived.fetch_add(1);
    co_return wait_until([&] { return arrived.load() == 2; });
  };
  auto a = rt.spawn(occupy());
  auto b = rt.spawn(occupy());
  EXPECT_TRUE(rt.block_on(
      [](auto& x, auto& y) -> Task<bool> { co_return (co_await x) && (co_await y); }(a, b)));
  ASSERT_EQ(loop_ids.size(), 2u);

  auto body = [&]() -> Task<void> {
    for (int i = 0; i < 20; ++i) {
      const std::thread::id job_id =
          co_await weft::to_thread([] { return std::this_thread::get_id(); });
      EXPECT_EQ(loop_ids.count(job_id), 0u);
      // And the awaiter is back on a loop.
      EXPECT_EQ(loop_ids.count(std::this_thread::get_id()), 1u);
    }
  };
  rt.block_on(body());
}

TEST(ToThread, CancelWithStopTokenStopsTheJobThenThrows) {
  Counted::reset();
  std::atomic<bool> started{false}, saw_stop{false}, ended{false};
  weft::Runtime rt(pool_options());
  auto waiter = [&]() -> Task<bool> {
    try {
      (void)co_await weft::to_thread(
          [&](std::stop_token stop, Counted) {
            started.store(true);
            saw_stop.store(wait_until([&] { return stop.stop_requested(); }));
            ended.store(true);
            return Counted{};
          },
          Counted{});
    } catch (const CancelledError&) {
      co_return ended.load();  // the job must have ended before we resumed
    }
    co_return false;
  };
  auto driver = [&]() -> Task<bool> {
    auto h = weft::spawn(waiter());
    EXPECT_TRUE(co_await co_wait_until([&] { return started.load(); }));
    h.cancel();
    EXPECT_TRUE(co_await weft::test::finished_within(h));
    co_return co_await h;
  };
  EXPECT_TRUE(rt.block_on(driver()));
  EXPECT_TRUE(saw_stop.load());
  const auto m = rt.metrics();
  EXPECT_EQ(m.to_thread_started, 1u);
  EXPECT_EQ(m.to_thread_completed, 1u);
  EXPECT_EQ(m.to_thread_discarded, 1u);  // it returned a value nobody took
  EXPECT_EQ(Counted::live(), 0);         // ...and that value was destroyed
}

TEST(ToThread, CancelWithoutStopTokenWaitsForTheJob) {
  std::atomic<bool> started{false}, release{false}, finished{false};
  weft::Runtime rt(pool_options());
  auto waiter = [&]() -> Task<bool> {
    try {
      co_await weft::to_thread([&] {
        started.store(true);
        EXPECT_TRUE(wait_until([&] { return release.load(); }));
        finished.store(true);
      });
    } catch (const CancelledError&) {
      co_return finished.load();
    }
    co_return false;
  };
  auto driver = [&]() -> Task<bool> {
    auto h = weft::spawn(waiter());
    EXPECT_TRUE(co_await co_wait_until([&] { return started.load(); }));
    h.cancel();
    // The job still runs, so the task must not finish; 50 ms is plenty for a wrong
    // implementation to resume it and no bound on a right one.
    EXPECT_FALSE(co_await co_wait_until([&] { return h.done(); }, 50ms));
    release.store(true);
    EXPECT_TRUE(co_await weft::test::finished_within(h));
    co_return co_await h;
  };
  EXPECT_TRUE(rt.block_on(driver()));
  EXPECT_EQ(rt.metrics().to_thread_discarded, 1u);
}

TEST(ToThread, CancelPendingBeforeTheCallRunsNothing) {
  std::atomic<bool> ran{false};
  weft::Runtime rt(pool_options());
  auto waiter = [&]() -> Task<bool> {
    // A cancel requested while the task runs, before the call (a task cancelled before it
    // first runs would not run at all): it is delivered by to_thread itself.
    EXPECT_TRUE(weft::current_task().cancel());
    bool threw = false;
    try {
      co_await weft::to_thread([&] { ran.store(true); });
    } catch (const CancelledError&) {
      threw = true;
    }
    // One cancel, one CancelledError: the next suspension is not cancelled.
    co_await weft::yield();
    co_return threw;
  };
  auto driver = [&]() -> Task<bool> {
    auto h = weft::spawn(waiter());
    EXPECT_TRUE(co_await weft::test::finished_within(h));
    co_return co_await h;
  };
  EXPECT_TRUE(rt.block_on(driver()));
  EXPECT_FALSE(ran.load());
  EXPECT_EQ(rt.metrics().to_thread_started, 0u);
}

TEST(ToThread, CallsBeyondTheCapWaitInFifoOrder) {
  weft::Runtime rt(pool_options(2, 1));
  std::atomic<bool> release{false};
  std::mutex mutex;
  std::vector<int> order;
  auto blocker = [&]() -> Task<void> {
    co_await weft::to_thread([&] { EXPECT_TRUE(wait_until([&] { return release.load(); })); });
  };
  auto queued = [&](int i) -> Task<void> {
    co_await weft::to_thread([&, i] {
      std::lock_guard lock(mutex);
      order.push_back(i);
    });
  };
  auto driver = [&]() -> Task<void> {
    auto b = weft::spawn(blocker());
    EXPECT_TRUE(co_await co_wait_until([&] { return rt.metrics().to_thread_started == 1; }));
    std::vector<weft::JoinHandle<void>> hs;
    for (int i = 0; i < 4; ++i) {
      hs.push_back(weft::spawn(queued(i)));
      // Queued before the next one is spawned, so FIFO order is i's order.
      const auto waited = static_cast<std::uint64_t>(i + 1);
      EXPECT_TRUE(co_await co_wait_until([&] { return rt.metrics().to_thread_waited == waited; }));
    }
    EXPECT_EQ(rt.metrics().to_thread_started, 1u);  // the cap holds them back
    release.store(true);
    co_await b;
    for (auto& h : hs) {
      EXPECT_TRUE(co_await weft::test::finished_within(h));
      co_await h;
    }
  };
  rt.block_on(driver());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
}

TEST(ToThread, CancelWhileWaitingForASlotLeavesAtOnce) {
  weft::Runtime rt(pool_options(2, 1));
  std::atomic<bool> release{false}, second_ran{false};
  auto blocker = [&]() -> Task<void> {
    co_await weft::to_thread([&] { EXPECT_TRUE(wait_until([&] { return release.load(); })); });
  };
  auto driver = [&]() -> Task<void> {
    auto b = weft::spawn(blocker());
    EXPECT_TRUE(co_await co_wait_until([&] { return rt.metrics().to_thread_started == 1; }));
    auto h = weft::spawn(weft::to_thread([&] { second_ran.store(true); }));
    EXPECT_TRUE(co_await co_wait_until([&] { return rt.metrics().to_thread_waited == 1; }));
    h.cancel();
    // Out of the queue while the blocker still holds the only slot.
    EXPECT_TRUE(co_await weft::test::finished_within(h));
    EXPECT_THROW(co_await h, CancelledError);
    release.store(true);
    co_await b;
    // The slot is still there for the next caller.
    EXPECT_EQ(co_await weft::to_thread([] { return 5; }), 5);
  };
  rt.block_on(driver());
  EXPECT_FALSE(second_ran.load());
  const auto m = rt.metrics();
  EXPECT_EQ(m.to_thread_started, 2u);
  EXPECT_EQ(m.to_thread_completed, 2u);
  EXPECT_EQ(m.to_thread_discarded, 0u);
}

TEST(ToThread, TwoThreadsRunTwoJobsInParallel) {
  weft::Runtime rt(pool_options(2));
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  auto job = [&] {
    // Both jobs running at once is the promise; the wall bound below says it was not late.
    if (running.fetch_add(1) + 1 == 2) overlapped.store(true);
    spin_for(200ms);
    running.fetch_sub(1);
  };
  auto body = [&]() -> Task<std::chrono::steady_clock::duration> {
    // Workers started and warm, so thread creation is not timed.
    co_await weft::to_thread([] {});
    const auto t0 = std::chrono::steady_clock::now();
    auto a = weft::spawn(weft::to_thread(job));
    auto b = weft::spawn(weft::to_thread(job));
    co_await a;
    co_await b;
    co_return std::chrono::steady_clock::now() - t0;
  };
  const auto wall = rt.block_on(body());
  EXPECT_TRUE(overlapped.load());
  // One at a time would take >= 400 ms.
  EXPECT_LT(wall, 350ms) << std::chrono::duration_cast<std::chrono::milliseconds>(wall).count();
}

TEST(ToThread, ArenaSizeBoundsConcurrentJobs) {
  weft::Runtime rt(pool_options(1));
  std::atomic<int> running{0}, most{0};
  auto body = [&]() -> Task<void> {
    std::vector<weft::JoinHandle<void>> hs;
    for (int i = 0; i < 16; ++i) {
      hs.push_back(weft::spawn(weft::to_thread([&] {
        const int n = running.fetch_add(1) + 1;
        int m = most.load();
        while (n > m && !most.compare_exchange_weak(m, n)) {
        }
        spin_for(1ms);
        running.fetch_sub(1);
      })));
    }
    for (auto& h : hs) co_await h;
  };
  rt.block_on(body());
  EXPECT_EQ(most.load(), 1);  // one worker: the 16 slots do not make 16 threads
}

TEST(ToThread, MetricsCountJobs) {
  weft::Runtime rt(pool_options(2, 4));
  auto body = []() -> Task<void> {
    std::vector<weft::JoinHandle<int>> hs;
    for (int i = 0; i < 32; ++i) hs.push_back(weft::spawn(weft::to_thread([i] { return i; })));
    int sum = 0;
    for (auto& h : hs) sum += co_await h;
    EXPECT_EQ(sum, 31 * 32 / 2);
    try {
      co_await weft::to_thread([] { throw JobError(0); });
    } catch (const JobError&) {
    }
  };
  rt.block_on(body());
  const auto m = rt.metrics();
  EXPECT_EQ(m.to_thread_started, 33u);
  EXPECT_EQ(m.to_thread_completed, 33u);
  EXPECT_EQ(m.to_thread_discarded, 0u);  // a delivered exception is not discarded
}

TEST(ToThread, RuntimeDestructionWaitsForRunningJobs) {
  Counted::reset();
  std::atomic<int> started{0};
  std::atomic<bool> plain_finished{false}, stoppable_finished{false}, saw_stop{false};
  {
    weft::Runtime rt(pool_options());
    auto plain = [&]() -> Task<void> {
      co_await weft::to_thread(
          [&](Counted) {
            started.fetch_add(1);
            spin_for(100ms);
            plain_finished.store(true);
            return Counted{};
          },
          Counted{});
    };
    auto stoppable = [&]() -> Task<void> {
      co_await weft::to_thread([&](std::stop_token stop) {
        started.fetch_add(1);
        saw_stop.store(wait_until([&] { return stop.stop_requested(); }));
        stoppable_finished.store(true);
      });
    };
    rt.spawn(plain()).detach();
    rt.spawn(stoppable()).detach();
    ASSERT_TRUE(wait_until([&] { return started.load() == 2; }));
  }
  EXPECT_TRUE(plain_finished.load());
  EXPECT_TRUE(stoppable_finished.load());
  EXPECT_TRUE(saw_stop.load());  // the shutdown's cancel reached the stop_token
  EXPECT_EQ(Counted::live(), 0);
}

TEST(ToThread, JobsOutlastingTheShutdownGraceAreStillWaitedFor) {
  weft::test::ReportLog log;
  std::atomic<bool> started{false}, finished{false};
  {
    weft::RuntimeOptions o = pool_options();
    o.shutdown_grace = 20ms;
    o.on_report = log.sink();
    weft::Runtime rt(o);
    rt.spawn(weft::to_thread([&] {
        started.store(true);
        spin_for(150ms);
        finished.store(true);
      }))
        .detach();
    ASSERT_TRUE(wait_until([&] { return started.load(); }));
  }
  EXPECT_TRUE(finished.load());
  // Its task could not finish within the grace (it waited for the job), so it was forced.
  EXPECT_EQ(log.count(weft::ReportKind::shutdown_forced), 1u);
}

TEST(ToThread, CallAfterShutdownBeganThrowsAtOnce) {
  std::atomic<bool> entered{false}, threw{false}, ran{false};
  {
    weft::Runtime rt(pool_options());
    auto stubborn = [&]() -> Task<void> {
      try {
        entered.store(true);
        co_await weft::sleep(10s);
      } catch (const CancelledError&) {
      }
      try {
        co_await weft::to_thread([&] { ran.store(true); });
      } catch (const CancelledError&) {
        threw.store(true);
      }
    };
    rt.spawn(stubborn()).detach();
    ASSERT_TRUE(wait_until([&] { return entered.load(); }));
  }
  EXPECT_TRUE(threw.load());
  EXPECT_FALSE(ran.load());
}

}  // namespace

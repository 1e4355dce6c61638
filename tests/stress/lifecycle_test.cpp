// Runtimes come and go cleanly (docs/reliability.md, Scheduler): a thousand create / spawn /
// destroy cycles, each leaving tasks suspended in every way a task can be (sleeping, waiting
// on an fd, joining, yielding, queued and never started, spawned from outside), end with
// every frame freed — a Counted in each frame proves it, and LSan checks the rest under
// asan. Shutdown cancels what is left so destructors and catch blocks run; a task that
// ignores the cancel is cut off after the grace period and reported, its frame still freed.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
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

std::atomic<long> catches{0};
std::atomic<long> sleepers_started{0};

Task<void> sleeper() {
  Counted c;
  sleepers_started.fetch_add(1, std::memory_order_relaxed);
  try {
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
    catches.fetch_add(1, std::memory_order_relaxed);
    throw;
  }
}

Task<void> fd_waiter() {
  Counted c;
  std::array<int, 2> p{};
  if (::pipe2(p.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
  weft::AsyncFd in(p[0]);
  struct CloseWriteEnd {
    int fd;
    ~CloseWriteEnd() { ::close(fd); }
  } guard{p[1]};
  co_await weft::readable(in);  // nothing is ever written
}

Task<void> yielder() {
  Counted c;
  for (;;) co_await weft::yield();
}

Task<void> joiner() {
  Counted c;
  JoinHandle<void> inner = weft::spawn(sleeper());
  co_await inner;
}

Task<void> parent(int tasks) {
  Counted c;
  std::vector<JoinHandle<void>> hs;
  for (int i = 0; i < tasks; ++i) {
    switch (i % 4) {
      case 0:
        hs.push_back(weft::spawn(sleeper()));
        break;
      case 1:
        hs.push_back(weft::spawn(fd_waiter()));
        break;
      case 2:
        hs.push_back(weft::spawn(yielder()));
        break;
      default:
        weft::spawn(joiner()).detach();
        break;
    }
  }
  // Give the children a chance to reach their suspensions; some stay queued, never run.
  co_await weft::yield();
  for (auto& h : hs) std::move(h).detach();
}

int open_fds() {
  int n = 0;
  for (int fd = 0; fd < 4096; ++fd) n += ::fcntl(fd, F_GETFD) != -1 ? 1 : 0;
  return n;
}

TEST(Lifecycle, ThousandRuntimeCyclesFreeEveryFrame) {
  const std::size_t cycles = weft::test::scaled(1000, 50);
  Counted::reset();
  catches.store(0);
  sleepers_started.store(0);
  const int fds_before = open_fds();
  for (std::size_t i = 0; i < cycles; ++i) {
    {
      weft::Runtime rt(weft::test::options(1 + static_cast<unsigned>(i % 3)));
      rt.block_on(parent(8));
      // Also work queued from outside that may never start before shutdown.
      for (int k = 0; k < 2; ++k) rt.spawn(sleeper()).detach();
    }
    ASSERT_EQ(Counted::live(), 0) << "cycle " << i << ": a frame outlived its runtime";
  }
  // Shutdown cancels every task left and runs each started one until it ends: every sleeper
  // that started ran its catch block. One cancelled before its first run never starts (two
  // are spawned by parent, two by the joiners, two from outside per cycle).
  EXPECT_EQ(catches.load(), sleepers_started.load());
  EXPECT_LE(sleepers_started.load(), 6 * static_cast<long>(cycles));
  EXPECT_EQ(open_fds(), fds_before) << "an fd (epoll, eventfd or a pipe) outlived its runtime";
}

// A task that swallows every cancel and keeps going: shutdown waits for the grace period,
// then destroys its frame (locals destroyed) and says so.
Task<void> stubborn(std::atomic<bool>* started) {
  Counted c;
  started->store(true);
  for (;;) {
    try {
      co_await weft::sleep(1ms);
    } catch (const CancelledError&) {
    }
  }
}

TEST(Lifecycle, TaskIgnoringCancelIsCutOffAfterGraceAndReported) {
  Counted::reset();
  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options(2);
  o.shutdown_grace = 200ms;
  o.on_report = log.sink();
  std::atomic<bool> started{false};
  Clock::time_point destroy_began;
  {
    weft::Runtime rt(o);
    rt.spawn(stubborn(&started), {.name = "stubborn"}).detach();
    const auto deadline = Clock::now() + 5s;
    while (!started.load() && Clock::now() < deadline) std::this_thread::yield();
    ASSERT_TRUE(started.load());
    destroy_began = Clock::now();
  }
  const auto took = Clock::now() - destroy_began;
  EXPECT_EQ(Counted::live(), 0);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
  ASSERT_EQ(log.count(weft::ReportKind::shutdown_forced), 1u);
  EXPECT_NE(log.reports().back().task.find("stubborn"), std::string::npos)
      << log.reports().back().task;
}

// A cancelled task's cleanup is itself asynchronous (it sleeps in its catch block): shutdown
// lets it finish within the grace period rather than cutting it off.
Task<void> slow_cleanup(std::atomic<bool>* started, std::atomic<bool>* cleaned) {
  started->store(true);
  try {
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
  }
  co_await weft::sleep(20ms);  // the cancel was consumed; this sleep is not interrupted
  cleaned->store(true);
}

TEST(Lifecycle, ShutdownWaitsForAsyncCleanup) {
  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options(2);
  o.on_report = log.sink();
  std::atomic<bool> started{false}, cleaned{false};
  {
    weft::Runtime rt(o);
    rt.spawn(slow_cleanup(&started, &cleaned)).detach();
    const auto deadline = Clock::now() + 5s;
    while (!started.load() && Clock::now() < deadline) std::this_thread::yield();
    ASSERT_TRUE(started.load());
  }
  EXPECT_TRUE(cleaned.load());
  EXPECT_EQ(log.count(weft::ReportKind::shutdown_forced), 0u);
}

}  // namespace

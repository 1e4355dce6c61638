// weft::signal and RuntimeOptions::signals: a signal sent to the process, to a loop thread,
// from a to_thread job or to the block_on thread reaches the waiter (and never the default
// action, which for SIGUSR1 ends the process); every waiter of a signal gets it; a cancelled
// wait leaves nothing behind; a signal sent before anyone waits is kept; the constructing
// thread's mask is restored; misuse throws.
//
// No sleeps: a test that needs a task to be waiting polls RuntimeMetrics::signal_waiters,
// which counts the waiters linked in the runtime (a waiter is linked before it suspends).

#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <weft/runtime.hpp>
#include <weft/signal.hpp>
#include <weft/to_thread.hpp>

#include "test_support.hpp"

namespace {

using weft::CancelledError;
using weft::Task;
using weft::test::wait_until;

weft::RuntimeOptions signal_options(unsigned loops, std::vector<int> signals = {SIGUSR1}) {
  weft::RuntimeOptions o = weft::test::options(loops);
  o.stall_threshold = std::chrono::milliseconds(0);
  o.to_thread_threads = 1;
  o.signals = std::move(signals);
  return o;
}

bool blocked_here(int n) {
  sigset_t mask;
  sigemptyset(&mask);
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  return sigismember(&mask, n) == 1;
}

// The tests rely on SIGUSR1's default action (the end of the process) being in place: a
// signal weft let through would fail the whole run, not pass by accident.
class SignalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    struct sigaction current {};
    ASSERT_EQ(sigaction(SIGUSR1, nullptr, &current), 0);
    ASSERT_EQ(current.sa_handler, SIG_DFL);
    ASSERT_FALSE(blocked_here(SIGUSR1));
  }
};

Task<int> wait_usr1() { co_return co_await weft::signal(SIGUSR1); }
Task<int> wait_usr1_or_usr2() { co_return co_await weft::signal(SIGUSR1, SIGUSR2); }

template <class T>
Task<T> join(weft::JoinHandle<T> handle) {
  co_return co_await handle;
}

bool waiters_reach(weft::Runtime& runtime, std::uint64_t n) {
  return wait_until([&] { return runtime.metrics().signal_waiters == n; });
}

TEST_F(SignalTest, KillOfTheProcessWakesTheWaiterAtOneAndTwoLoops) {
  for (unsigned loops : {1u, 2u}) {
    weft::Runtime runtime(signal_options(loops));
    auto waiter = runtime.spawn(wait_usr1());
    ASSERT_TRUE(waiters_reach(runtime, 1));
    ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
    EXPECT_EQ(runtime.block_on(join(std::move(waiter))), SIGUSR1) << loops << " loops";
    EXPECT_EQ(runtime.metrics().signals_received, 1u);
  }
}

// Notes the thread of the loop running it, once per loop index.
Task<void> note_loop_thread(pthread_t* threads, std::atomic<unsigned>* seen) {
  const unsigned bit = 1u << weft::current_loop_index();
  if ((seen->fetch_or(bit) & bit) == 0) threads[weft::current_loop_index()] = pthread_self();
  co_await weft::yield();
}

// Spawns note_loop_thread until both loops ran one (work stealing spreads them).
Task<bool> find_loop_threads(pthread_t* threads) {
  std::atomic<unsigned> seen{0};
  for (int round = 0; round < 10000 && seen.load() != 3u; ++round) {
    std::vector<weft::JoinHandle<void>> batch;
    for (int k = 0; k < 8; ++k) batch.push_back(weft::spawn(note_loop_thread(threads, &seen)));
    for (auto& h : batch) co_await h;
  }
  co_return seen.load() == 3u;
}

TEST_F(SignalTest, PthreadKillOfEachLoopThreadWakesTheWaiter) {
  weft::Runtime runtime(signal_options(2));
  pthread_t threads[2]{};
  ASSERT_TRUE(runtime.block_on(find_loop_threads(threads)));
  for (unsigned i = 0; i < 2; ++i) {
    // A signal aimed at one loop thread: only that loop's own signalfd can read it.
    auto waiter = runtime.spawn(wait_usr1());
    ASSERT_TRUE(waiters_reach(runtime, 1));
    EXPECT_TRUE(blocked_here(SIGUSR1));  // the constructing thread, until the runtime ends
    ASSERT_EQ(pthread_kill(threads[i], SIGUSR1), 0);
    EXPECT_EQ(runtime.block_on(join(std::move(waiter))), SIGUSR1) << "loop " << i;
  }
}

TEST_F(SignalTest, LoopThreadsAndWorkersBlockTheSignals) {
  weft::Runtime runtime(signal_options(2));
  const auto on_loop_and_worker = runtime.block_on([]() -> Task<std::pair<bool, bool>> {
    const bool loop = blocked_here(SIGUSR1);
    const bool worker = co_await weft::to_thread([] { return blocked_here(SIGUSR1); });
    co_return std::pair{loop, worker};
  }());
  EXPECT_TRUE(on_loop_and_worker.first);
  EXPECT_TRUE(on_loop_and_worker.second);
}

TEST_F(SignalTest, ASignalRaisedByAToThreadJobReachesTheWaiter) {
  weft::Runtime runtime(signal_options(2));
  // raise(): a signal to the worker's own thread, which no loop's signalfd reads; the worker
  // hands it over after the job, before the job's awaiter is woken.
  auto waiter = runtime.spawn(wait_usr1());
  ASSERT_TRUE(waiters_reach(runtime, 1));
  runtime.block_on(
      []() -> Task<void> { co_await weft::to_thread([] { (void)raise(SIGUSR1); }); }());
  EXPECT_EQ(runtime.block_on(join(std::move(waiter))), SIGUSR1);
  // kill(): a signal to the process, from the worker.
  waiter = runtime.spawn(wait_usr1());
  ASSERT_TRUE(waiters_reach(runtime, 1));
  runtime.block_on(
      []() -> Task<void> { co_await weft::to_thread([] { (void)kill(getpid(), SIGUSR1); }); }());
  EXPECT_EQ(runtime.block_on(join(std::move(waiter))), SIGUSR1);
}

TEST_F(SignalTest, ASignalSentToTheBlockOnThreadIsHandedOverWhenBlockOnReturns) {
  weft::Runtime runtime(signal_options(1));
  const pthread_t self = pthread_self();
  // Sent to this thread while it waits in block_on: read when block_on returns, so the
  // next wait finds it pending.
  runtime.block_on([&]() -> Task<void> {
    (void)pthread_kill(self, SIGUSR1);
    co_return;
  }());
  EXPECT_EQ(runtime.block_on(wait_usr1()), SIGUSR1);
}

TEST_F(SignalTest, EveryWaiterOfASignalGetsIt) {
  weft::Runtime runtime(signal_options(2, {SIGUSR1, SIGUSR2}));
  auto a = runtime.spawn(wait_usr1());
  auto b = runtime.spawn(wait_usr1_or_usr2());
  ASSERT_TRUE(waiters_reach(runtime, 2));
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  EXPECT_EQ(runtime.block_on(join(std::move(a))), SIGUSR1);
  EXPECT_EQ(runtime.block_on(join(std::move(b))), SIGUSR1);
  // The delivery was consumed by those waiters: a new one waits (no SIGUSR1 left pending)
  // and gets the next signal.
  auto c = runtime.spawn(wait_usr1_or_usr2());
  ASSERT_TRUE(waiters_reach(runtime, 1));
  ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
  EXPECT_EQ(runtime.block_on(join(std::move(c))), SIGUSR2);
}

TEST_F(SignalTest, ACancelledWaitThrowsAndLeavesNoWaiter) {
  weft::Runtime runtime(signal_options(2));
  auto waiter = runtime.spawn(wait_usr1());
  ASSERT_TRUE(waiters_reach(runtime, 1));
  EXPECT_TRUE(waiter.cancel());
  EXPECT_THROW(runtime.block_on(join(std::move(waiter))), CancelledError);
  EXPECT_EQ(runtime.metrics().signal_waiters, 0u);
  // A cancel pending before the wait: thrown at once.
  EXPECT_THROW(runtime.block_on([]() -> Task<int> {
    weft::current_task().cancel();
    co_return co_await weft::signal(SIGUSR1);
  }()),
               CancelledError);
  EXPECT_EQ(runtime.metrics().signal_waiters, 0u);
  // The runtime still delivers.
  auto next = runtime.spawn(wait_usr1());
  ASSERT_TRUE(waiters_reach(runtime, 1));
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  EXPECT_EQ(runtime.block_on(join(std::move(next))), SIGUSR1);
}

TEST_F(SignalTest, ASignalSentBeforeAnyWaitIsKept) {
  weft::Runtime runtime(signal_options(2, {SIGUSR1, SIGUSR2}));
  // Sent with nobody waiting: the runtime owns the signal from its construction on, reads it
  // and keeps it pending.
  ASSERT_EQ(kill(getpid(), SIGUSR2), 0);
  ASSERT_TRUE(wait_until([&] { return runtime.metrics().signals_received == 1; }));
  EXPECT_EQ(runtime.block_on(wait_usr1_or_usr2()), SIGUSR2);
  // Consumed by that waiter: the next one waits.
  auto next = runtime.spawn(wait_usr1_or_usr2());
  ASSERT_TRUE(waiters_reach(runtime, 1));
  ASSERT_EQ(kill(getpid(), SIGUSR1), 0);
  EXPECT_EQ(runtime.block_on(join(std::move(next))), SIGUSR1);
}

TEST_F(SignalTest, RunRestoresTheMaskAndDropsWhatNobodyAwaited) {
  sigset_t before;
  sigemptyset(&before);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &before), 0);
  const bool blocked_inside = weft::run(
      []() -> Task<bool> {
        // Left pending (in the runtime or the kernel): dropped at shutdown, never delivered
        // by the unblock.
        (void)kill(getpid(), SIGUSR1);
        co_return blocked_here(SIGUSR1);
      }(),
      signal_options(2));
  EXPECT_TRUE(blocked_inside);
  sigset_t after;
  sigemptyset(&after);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &after), 0);
  for (int n = 1; n < SIGRTMIN; ++n)
    EXPECT_EQ(sigismember(&before, n), sigismember(&after, n)) << n;
  sigset_t pending;
  sigemptyset(&pending);
  ASSERT_EQ(sigpending(&pending), 0);
  EXPECT_EQ(sigismember(&pending, SIGUSR1), 0);
}

TEST_F(SignalTest, ASignalTheThreadBlockedBeforeStaysBlocked) {
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr2, nullptr), 0);
  EXPECT_EQ(weft::run([]() -> Task<int> { co_return 1; }(), signal_options(1, {SIGUSR1, SIGUSR2})),
            1);
  EXPECT_TRUE(blocked_here(SIGUSR2));
  EXPECT_FALSE(blocked_here(SIGUSR1));
  ASSERT_EQ(pthread_sigmask(SIG_UNBLOCK, &usr2, nullptr), 0);
}

TEST_F(SignalTest, ASignalSentToAThreadWeftDoesNotOwnIsReroutedToTheRuntime) {
  // Started before the runtime: it does not inherit the mask, and SIGUSR1 is not blocked
  // on it. The runtime's disposition blocks the signal there and sends it to the process.
  std::atomic<bool> stop{false};
  std::thread bystander([&] {
    while (!stop.load()) std::this_thread::yield();
  });
  {
    weft::Runtime runtime(signal_options(2));
    auto waiter = runtime.spawn(wait_usr1());
    ASSERT_TRUE(waiters_reach(runtime, 1));
    ASSERT_EQ(pthread_kill(bystander.native_handle(), SIGUSR1), 0);
    EXPECT_EQ(runtime.block_on(join(std::move(waiter))), SIGUSR1);
  }
  stop.store(true);
  bystander.join();
}

TEST_F(SignalTest, TwoLiveRuntimesCannotTakeTheSameSignal) {
  weft::Runtime first(signal_options(1, {SIGUSR1}));
  EXPECT_THROW((void)weft::Runtime(signal_options(1, {SIGUSR2, SIGUSR1})), std::logic_error);
  // Nothing of the refused one stayed behind: its other signal can be taken.
  weft::Runtime second(signal_options(1, {SIGUSR2}));
  EXPECT_TRUE(blocked_here(SIGUSR2));
}

TEST_F(SignalTest, OutsideARuntimeIsALogicError) {
  try {
    (void)weft::signal(SIGUSR1);
    ADD_FAILURE() << "no exception";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("weft::signal"), std::string::npos) << e.what();
  }
}

TEST_F(SignalTest, SignalsWeftCannotWaitForAreInvalidArguments) {
  for (const std::vector<int>& bad : std::vector<std::vector<int>>{
           {SIGKILL}, {SIGSTOP}, {0}, {-1}, {65}, {32}, {SIGSEGV}, {SIGPIPE}}) {
    EXPECT_THROW((void)weft::Runtime(signal_options(1, bad)), std::invalid_argument) << bad.front();
    EXPECT_FALSE(blocked_here(SIGUSR1));
  }
  weft::Runtime runtime(signal_options(1));
  const auto what = runtime.block_on([]() -> Task<std::vector<std::string>> {
    std::vector<std::string> errors;
    for (int n : {SIGKILL, SIGSTOP, 0, SIGUSR2}) {
      try {
        (void)weft::signal(n);
      } catch (const std::invalid_argument& e) {
        errors.emplace_back(e.what());
      }
    }
    co_return errors;
  }());
  ASSERT_EQ(what.size(), 4u);
  EXPECT_NE(what[3].find("RuntimeOptions::signals"), std::string::npos) << what[3];
}

}  // namespace

// Spawning at scale and wake-ups from outside (docs/reliability.md, Scheduler: "spawn from
// anywhere", "no lost wakeup"):
//   - a million weft::spawn calls from tasks at 2 loops, half awaited, half detached: each
//     task runs exactly once and every awaited value comes back;
//   - 16 foreign threads call Runtime::spawn concurrently, a million tasks in all: each runs
//     exactly once, every one went through the injection queue, and every handle is done;
//   - lost-wakeup hunting: thousands of rounds that each start just as the loops run out of
//     work (the previous round's task has just finished), and then spawn or wake a task from
//     a foreign thread in one of several ways. A lost wake-up strands that round; the round
//     has a deadline, so it fails with its number and kind instead of hanging ctest.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;

// A value that the test thread can wait for with a deadline, set from tasks.
class Progress {
 public:
  void advance_to(std::uint64_t v) {
    {
      std::lock_guard lock(mutex_);
      if (v > value_) value_ = v;
    }
    cv_.notify_all();
  }
  void add(std::uint64_t n = 1) {
    {
      std::lock_guard lock(mutex_);
      value_ += n;
    }
    cv_.notify_all();
  }
  // True if the value reached `target` within `timeout`.
  bool wait_for(std::uint64_t target, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return value_ >= target; });
  }
  std::uint64_t value() {
    std::lock_guard lock(mutex_);
    return value_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t value_ = 0;
};

// Per-index run counts: a task that runs twice or never shows up here.
struct RunLedger {
  explicit RunLedger(std::size_t n) : runs(n) {}
  std::vector<std::atomic<std::uint8_t>> runs;
  std::atomic<std::size_t> ran{0};

  // Empty when every index ran exactly once.
  std::string check() const {
    std::size_t never = 0, twice = 0;
    std::string first;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const unsigned c = runs[i].load(std::memory_order_relaxed);
      if (c == 1) continue;
      (c == 0 ? never : twice) += 1;
      if (first.empty()) first = "index " + std::to_string(i) + " ran " + std::to_string(c) + "x";
    }
    if (never == 0 && twice == 0) return {};
    return std::to_string(never) + " never ran, " + std::to_string(twice) +
           " ran more than once (first: " + first + ")";
  }
};

Task<std::uint32_t> mark(RunLedger* ledger, std::uint32_t i) {
  ledger->runs[i].fetch_add(1, std::memory_order_relaxed);
  // Release: a reader that sees the final count (acquire) sees every flag.
  ledger->ran.fetch_add(1, std::memory_order_release);
  co_return i;
}

// --- a million spawns from tasks ------------------------------------------------------------

// Spawns [begin, end) in chunks; even chunks are awaited (values checked), odd ones detached.
Task<std::size_t> producer(RunLedger* ledger, std::uint32_t begin, std::uint32_t end) {
  constexpr std::uint32_t kChunk = 1024;  // bounds the tasks alive at once
  std::size_t wrong_values = 0;
  std::vector<JoinHandle<std::uint32_t>> handles;
  handles.reserve(kChunk);
  for (std::uint32_t first = begin, chunk = 0; first < end; first += kChunk, ++chunk) {
    const std::uint32_t last = std::min(end, first + kChunk);
    handles.clear();
    for (std::uint32_t i = first; i < last; ++i) handles.push_back(weft::spawn(mark(ledger, i)));
    if (chunk % 2 == 1) {
      for (auto& h : handles) std::move(h).detach();
      continue;
    }
    for (std::uint32_t i = first; i < last; ++i) {
      const std::uint32_t value = co_await handles[i - first];
      if (value != i) ++wrong_values;
    }
  }
  co_return wrong_values;
}

Task<std::size_t> spawn_everything(RunLedger* ledger, std::uint32_t n) {
  constexpr std::uint32_t kProducers = 4;
  std::vector<JoinHandle<std::size_t>> producers;
  for (std::uint32_t p = 0; p < kProducers; ++p)
    producers.push_back(
        weft::spawn(producer(ledger, n * p / kProducers, n * (p + 1) / kProducers)));
  std::size_t wrong = 0;
  for (auto& h : producers) wrong += co_await h;
  // The detached ones may still be queued: wait for them, with a deadline.
  const auto deadline = Clock::now() + 120s;
  while (ledger->ran.load(std::memory_order_acquire) < n && Clock::now() < deadline)
    co_await weft::sleep(1ms);
  co_return wrong;
}

TEST(SpawnStress, MillionSpawnsFromTasksEachRunOnce) {
  const auto n = static_cast<std::uint32_t>(weft::test::scaled(1'000'000, 10'000));
  RunLedger ledger(n);
  weft::Runtime rt(weft::test::options(2));
  const std::size_t wrong_values = rt.block_on(spawn_everything(&ledger, n));
  EXPECT_EQ(wrong_values, 0u);
  ASSERT_EQ(ledger.ran.load(std::memory_order_acquire), n) << "tasks never ran (or ran twice)";
  EXPECT_EQ(ledger.check(), "");
  const weft::LoopMetrics total = rt.metrics().total();
  EXPECT_GE(total.spawned_local, n + 4);  // the tasks and the producers
  EXPECT_GE(total.tasks_run, n);
}

// --- a million spawns from 16 foreign threads ------------------------------------------------

TEST(SpawnStress, SixteenForeignThreadsSpawnAMillionTasks) {
  constexpr unsigned kThreads = 16;
  const auto n = static_cast<std::uint32_t>(weft::test::scaled(1'000'000, 16'000));
  RunLedger ledger(n);
  weft::Runtime rt(weft::test::options(2));
  const weft::RuntimeMetrics before = rt.metrics();

  // Producers outrun 2 loops; past this many queued tasks they wait (memory, not fairness).
  constexpr std::size_t kMaxInFlight = 100'000;
  std::atomic<std::size_t> spawned{0};
  std::vector<std::vector<JoinHandle<std::uint32_t>>> kept(kThreads);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::uint32_t begin = n * t / kThreads;
      const std::uint32_t end = n * (t + 1) / kThreads;
      for (std::uint32_t i = begin; i < end; ++i) {
        while (spawned.load(std::memory_order_relaxed) -
                   ledger.ran.load(std::memory_order_relaxed) >
               kMaxInFlight)
          std::this_thread::yield();
        JoinHandle<std::uint32_t> h = rt.spawn(mark(&ledger, i), {});
        spawned.fetch_add(1, std::memory_order_relaxed);
        // Keep one handle in 1000 to check done() afterwards; drop (detach) the rest.
        if (i % 1000 == 0) kept[t].push_back(std::move(h));
      }
    });
  }
  for (auto& th : threads) th.join();

  // Wait for every task to have run and completed (live_tasks counts completions).
  const auto deadline = Clock::now() + 120s;
  while ((ledger.ran.load(std::memory_order_acquire) < n || rt.metrics().live_tasks != 0) &&
         Clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(ledger.ran.load(std::memory_order_acquire), n) << "tasks never ran (or ran twice)";
  EXPECT_EQ(ledger.check(), "");

  const weft::RuntimeMetrics after = rt.metrics();
  EXPECT_EQ(after.live_tasks, 0u);
  EXPECT_EQ(after.spawned_remote - before.spawned_remote, n);
  // Every one of them reached a loop through the injection queue, and only once.
  EXPECT_EQ(after.total().injected_taken - before.total().injected_taken, n);
  for (auto& handles : kept)
    for (auto& h : handles) EXPECT_TRUE(h.done());
}

// --- lost-wakeup hunting --------------------------------------------------------------------

Task<void> signal_round(Progress* p, std::uint64_t round) {
  p->advance_to(round);
  co_return;
}

Task<void> nap_then_signal(Progress* p, std::uint64_t round, std::chrono::microseconds nap) {
  co_await weft::sleep(nap);
  p->advance_to(round);
}

// Sleeps "forever"; the foreign thread cancels it, which wakes it from outside the loops.
Task<void> sleep_until_cancelled(Progress* p, std::uint64_t round,
                                 std::atomic<std::uint64_t>* asleep) {
  try {
    asleep->store(round, std::memory_order_release);
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
    p->advance_to(round);
  }
}

Task<void> sleep_forever() { co_await weft::sleep(1h); }

// Waits on a join; the foreign thread cancels the joiner (a join wait woken from outside).
Task<void> join_until_cancelled(Progress* p, std::uint64_t round,
                                std::atomic<std::uint64_t>* asleep) {
  JoinHandle<void> child = weft::spawn(sleep_forever());
  bool cancelled = false;
  try {
    asleep->store(round, std::memory_order_release);
    co_await child;
  } catch (const CancelledError&) {
    cancelled = true;
  }
  if (!cancelled) co_return;
  child.cancel();  // no co_await inside a handler: clean up out here
  try {
    co_await child;
  } catch (const CancelledError&) {
  }
  p->advance_to(round);
}

// Reads a pipe that a foreign thread writes one byte per round into: an I/O wake-up from
// outside (the loop may be parked in epoll_wait or about to be).
Task<void> pipe_reader(int fd, Progress* bytes) {
  weft::AsyncFd in(fd);
  std::array<std::byte, 64> buf{};
  for (;;) {
    const std::size_t got = co_await in.read_some(buf);
    if (got == 0) break;
    bytes->add(got);
  }
}

Task<void> join(JoinHandle<void> handle) { co_await handle; }

enum class Kick { spawn, spawn_napper, cancel_sleeper, cancel_joiner, pipe_write, kinds };

const char* kick_name(Kick k) {
  switch (k) {
    case Kick::spawn:
      return "foreign spawn";
    case Kick::spawn_napper:
      return "foreign spawn of a task sleeping 0-1 ms";
    case Kick::cancel_sleeper:
      return "foreign cancel of a sleeping task";
    case Kick::cancel_joiner:
      return "foreign cancel of a task waiting on a join";
    case Kick::pipe_write:
      return "foreign write to a pipe a task waits on";
    case Kick::kinds:
      break;
  }
  return "?";
}

void busy_wait(std::chrono::nanoseconds d) {
  const auto until = Clock::now() + d;
  while (Clock::now() < until) {
  }
}

// Each round starts right after the previous one's task finished, so the loops are on
// their way to parking (or, after a random spin of up to 200 us, parked).
void hunt_lost_wakeups(unsigned loops) {
  const std::size_t rounds = weft::test::scaled(10'000, 500);
  constexpr auto kRoundDeadline = 5000ms;
  weft::RuntimeOptions o = weft::test::options(loops);
  o.shutdown_grace = 2000ms;  // if a round failed, its task is still pending at the end
  weft::test::ReportLog log;
  o.on_report = log.sink();
  // Everything the tasks touch outlives the runtime (declared first, destroyed last).
  Progress progress;
  Progress pipe_bytes;
  std::atomic<std::uint64_t> asleep{0};  // the round whose sleeper/joiner is about to wait
  weft::Runtime rt(o);

  std::array<int, 2> pipe_fds{};
  ASSERT_EQ(::pipe2(pipe_fds.data(), O_CLOEXEC), 0);
  JoinHandle<void> reader = rt.spawn(pipe_reader(pipe_fds[0], &pipe_bytes), {.name = "reader"});
  std::uint64_t bytes_written = 0;

  std::mt19937 rng(12345 + loops);
  std::size_t done = 0;
  for (std::uint64_t round = 1; round <= rounds; ++round) {
    const auto kick = static_cast<Kick>(rng() % static_cast<unsigned>(Kick::kinds));
    const auto spin = std::chrono::nanoseconds(rng() % 4 == 0 ? rng() % 200'000 : 0);
    bool ok = false;
    switch (kick) {
      case Kick::spawn:
        busy_wait(spin);
        rt.spawn(signal_round(&progress, round)).detach();
        ok = progress.wait_for(round, kRoundDeadline);
        break;
      case Kick::spawn_napper:
        busy_wait(spin);
        rt.spawn(nap_then_signal(&progress, round, std::chrono::microseconds(rng() % 1000)))
            .detach();
        ok = progress.wait_for(round, kRoundDeadline);
        break;
      case Kick::cancel_sleeper:
      case Kick::cancel_joiner: {
        JoinHandle<void> h = kick == Kick::cancel_sleeper
                                 ? rt.spawn(sleep_until_cancelled(&progress, round, &asleep))
                                 : rt.spawn(join_until_cancelled(&progress, round, &asleep));
        // Getting the task started is itself a foreign spawn with a deadline.
        const auto start_deadline = Clock::now() + kRoundDeadline;
        while (asleep.load(std::memory_order_acquire) != round && Clock::now() < start_deadline)
          std::this_thread::yield();
        if (asleep.load(std::memory_order_acquire) != round) break;  // fails below
        // Now its loop is running out of work: cancel at a random point of its way to park.
        busy_wait(spin);
        h.cancel();
        ok = progress.wait_for(round, kRoundDeadline);
        break;
      }
      case Kick::pipe_write: {
        busy_wait(spin);
        const char byte = 'x';
        ASSERT_EQ(::write(pipe_fds[1], &byte, 1), 1) << std::strerror(errno);
        ++bytes_written;
        ok = pipe_bytes.wait_for(bytes_written, kRoundDeadline);
        break;
      }
      case Kick::kinds:
        break;
    }
    if (!ok) {
      ADD_FAILURE() << "round " << round << " of " << rounds << " (" << kick_name(kick)
                    << ", after a " << spin.count() / 1000 << " us spin) did not complete within "
                    << kRoundDeadline.count() << " ms: a lost wake-up, at " << loops << " loop(s)";
      break;
    }
    ++done;
  }
  EXPECT_EQ(done, rounds);

  ::close(pipe_fds[1]);  // the reader sees end of file and returns
  if (done == rounds) {
    EXPECT_NO_THROW(rt.block_on(join(std::move(reader))));
  }
  std::printf("%zu rounds at %u loop(s); parks %llu, wakeups %llu\n", done, loops,
              static_cast<unsigned long long>(rt.metrics().total().parks),
              static_cast<unsigned long long>(rt.metrics().total().wakeups));
}

TEST(SpawnStress, NoLostWakeupAtTwoLoops) { hunt_lost_wakeups(2); }

TEST(SpawnStress, NoLostWakeupAtOneLoop) { hunt_lost_wakeups(1); }

TEST(SpawnStress, NoLostWakeupAtThreeLoops) { hunt_lost_wakeups(3); }

}  // namespace

// Cancellation: JoinHandle::cancel() is delivered as weft::CancelledError at the task's
// current or next suspension (sleep, yield, fd wait, join); destructors and catch blocks run
// on the way out; one cancel() is one CancelledError; a cancel racing with a wake-up, from
// any thread or loop, ends the task exactly once.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stop_token>
#include <system_error>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "thread_id.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;
using weft::test::Counted;

using weft::test::thread_id;

// Closes a raw fd when the frame holding it unwinds.
class FdCloser {
 public:
  explicit FdCloser(int fd) noexcept : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() { ::close(fd_); }

 private:
  int fd_;
};

std::array<int, 2> make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category());
  return fds;
}

enum class Suspension { sleep, yield, fd_wait, join };

const char* name_of(Suspension s) {
  switch (s) {
    case Suspension::sleep:
      return "sleep";
    case Suspension::yield:
      return "yield";
    case Suspension::fd_wait:
      return "fd_wait";
    case Suspension::join:
      return "join";
  }
  return "?";
}

// What a victim task saw, written by the victim, read after it was joined.
struct Probe {
  std::atomic<bool> started{false};           // set first thing in the body
  std::atomic<bool> about_to_suspend{false};  // set just before the suspension under test
  std::atomic<int> caught{0};                 // catch (const CancelledError&) blocks entered
  std::atomic<int> passed{0};                 // times the suspension returned normally
};

enum class Ending { value, cancelled, other };

template <class T>
Task<Ending> join_ending(JoinHandle<T>& handle) {
  Ending ending = Ending::value;
  try {
    co_await handle;
  } catch (const CancelledError&) {
    ending = Ending::cancelled;
  } catch (...) {
    ending = Ending::other;
  }
  co_return ending;
}

// Every task below has a Counted local (destroyed when the body unwinds: the destructors
// ran) and takes a Counted by value (a parameter copy lives as long as the coroutine
// frame: it is destroyed only when the runtime frees the frame). After the runtime and every
// JoinHandle are gone, Counted::live() must be back where it started.

Task<int> sleep_an_hour(Probe* probe, Counted /*frame_token*/) {
  Counted guard;
  try {
    probe->about_to_suspend.store(true);
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
    probe->caught.fetch_add(1);
    throw;
  }
  probe->passed.fetch_add(1);
  co_return 1;
}

// Suspends at `where` (forever, unless cancelled) with a Counted in its frame and a catch
// block that records the CancelledError and rethrows it.
Task<int> victim(Suspension where, Probe* probe, JoinHandle<int>* joinee, Counted /*frame_token*/) {
  probe->started.store(true);
  Counted guard;
  try {
    if (where == Suspension::sleep) {
      probe->about_to_suspend.store(true);
      co_await weft::sleep(1h);
    } else if (where == Suspension::yield) {
      for (;;) {
        probe->about_to_suspend.store(true);
        co_await weft::yield();
      }
    } else if (where == Suspension::fd_wait) {
      const auto fds = make_pipe();
      FdCloser writer(fds[1]);  // kept open: the read end never sees EOF
      weft::AsyncFd reader(fds[0]);
      std::array<std::byte, 16> buffer{};
      probe->about_to_suspend.store(true);
      co_await reader.read_some(buffer);
    } else {
      probe->about_to_suspend.store(true);
      co_await *joinee;
    }
  } catch (const CancelledError&) {
    probe->caught.fetch_add(1);
    throw;
  }
  probe->passed.fetch_add(1);
  co_return 1;
}

enum class When { before_first_run, while_suspended };

struct Scenario {
  Ending ending = Ending::value;
  bool done_after_join = false;
  bool started_before_cancel = false;  // the victim's body had begun when cancel() was called
  bool timed_out = false;              // a wait below passed its deadline (a task never got there)
  long live_after_join = 0;            // Counted::live() once the victim was joined
  Ending joinee_ending = Ending::value;
};

// `joinee_probe` belongs to the caller, so it outlives even a joinee that could not be ended.
Task<Scenario> cancel_victim(Suspension where, When when, Probe* probe, Probe* joinee_probe) {
  Scenario out;
  JoinHandle<int> joinee;
  if (where == Suspension::join) {
    joinee = weft::spawn(sleep_an_hour(joinee_probe, Counted{}));
    if (const bool ok = co_await weft::test::co_wait_until(
            [joinee_probe] { return joinee_probe->about_to_suspend.load(); }, weft::test::kDeadline,
            0ms);
        !ok) {
      out.timed_out = true;
      joinee.cancel();
      if (const bool ended = co_await weft::test::finished_within(joinee); ended)
        out.joinee_ending = co_await join_ending(joinee);
      co_return out;
    }
  }
  JoinHandle<int> handle = weft::spawn(victim(where, probe, &joinee, Counted{}));
  if (when == When::while_suspended) {
    // On one loop the victim has suspended by the time we run again; on two it is there or
    // about to be (a cancel that arrives first is delivered at that suspension). Bounded:
    // past the deadline it is cancelled anyway, and the test fails.
    out.timed_out = !co_await weft::test::co_wait_until(
        [probe] { return probe->about_to_suspend.load(); }, weft::test::kDeadline, 0ms);
  }
  out.started_before_cancel = probe->started.load();
  handle.cancel();
  // The cancelled wait must end; if it does not within the deadline, give up on it.
  if (const bool ok = co_await weft::test::finished_within(handle); ok) {
    out.ending = co_await join_ending(handle);
    out.done_after_join = handle.done();
  } else {
    out.timed_out = true;
  }
  out.live_after_join = Counted::live();
  if (joinee.valid()) {
    joinee.cancel();
    if (const bool ok = co_await weft::test::finished_within(joinee); ok) {
      out.joinee_ending = co_await join_ending(joinee);
    } else {
      out.timed_out = true;
    }
  }
  co_return out;
}

void expect_cancel_at(Suspension where, When when, unsigned loops) {
  SCOPED_TRACE(std::string(name_of(where)) + ", " + std::to_string(loops) + " loop(s)");
  const long base = Counted::live();
  Probe probe, joinee_probe;
  Scenario s;
  {
    weft::Runtime rt(weft::test::options(loops));
    const auto start = Clock::now();
    s = rt.block_on(cancel_victim(where, when, &probe, &joinee_probe));
    // A cancelled hour-long wait ends promptly (rough bound: sanitizers are slow).
    EXPECT_LT(Clock::now() - start, 10s);
  }
  ASSERT_FALSE(s.timed_out) << "a task did not reach its suspension, or did not end after "
                               "cancel(), within 10 s";
  // One loop, the canceller running: the victim cannot have begun. (With two loops it may
  // have; only while_suspended runs there.)
  if (when == When::before_first_run) {
    EXPECT_FALSE(s.started_before_cancel) << "not a cancel before the first run";
  }
  EXPECT_EQ(s.ending, Ending::cancelled);
  EXPECT_TRUE(s.done_after_join);
  if (when == When::before_first_run) {
    // asyncio's rule: a task cancelled before it first runs never runs. Its frame was
    // destroyed unstarted (only the parameters existed): no token is left after the join.
    EXPECT_FALSE(probe.started.load()) << "the body of a task cancelled before it ran ran";
    EXPECT_EQ(probe.caught.load(), 0);
    EXPECT_EQ(probe.passed.load(), 0);
    // A joinee (join scenario) was never awaited by the victim, so not cancelled with it:
    // it still sleeps (its local and frame token live) until the scenario cancels it.
    EXPECT_EQ(s.live_after_join, base + (where == Suspension::join ? 2 : 0));
    if (where == Suspension::join) {
      EXPECT_EQ(s.joinee_ending, Ending::cancelled);
    }
    EXPECT_EQ(Counted::live(), base) << "a frame was never freed";
    return;
  }
  EXPECT_TRUE(probe.about_to_suspend.load()) << "the code before the first suspension runs";
  EXPECT_EQ(probe.caught.load(), 1) << "the catch block ran once";
  EXPECT_EQ(probe.passed.load(), 0) << "the suspension never returned normally";
  // The victim's body has unwound by the time its joiner sees the CancelledError: only its
  // frame token is left (the frame lives while the handle does). A joinee (join scenario)
  // was cancelled with the victim, which resumed only after it ended: its local is gone
  // too, its frame token stays while its handle does.
  EXPECT_EQ(s.live_after_join, base + 1 + (where == Suspension::join ? 1 : 0));
  if (where == Suspension::join) {
    EXPECT_EQ(s.joinee_ending, Ending::cancelled);
  }
  EXPECT_EQ(Counted::live(), base) << "a frame was never freed";
}

// One loop makes "the victim is suspended when the cancel arrives" certain; two loops let
// the cancel come from the other loop (or land just before the suspension).
TEST(Cancel, AtSleepRunsDestructorsAndCatch) {
  for (unsigned loops : {1u, 2u}) expect_cancel_at(Suspension::sleep, When::while_suspended, loops);
}

TEST(Cancel, AtYieldRunsDestructorsAndCatch) {
  for (unsigned loops : {1u, 2u}) expect_cancel_at(Suspension::yield, When::while_suspended, loops);
}

TEST(Cancel, AtFdWaitRunsDestructorsAndCatch) {
  for (unsigned loops : {1u, 2u})
    expect_cancel_at(Suspension::fd_wait, When::while_suspended, loops);
}

TEST(Cancel, AtJoinRunsDestructorsAndCatch) {
  for (unsigned loops : {1u, 2u}) expect_cancel_at(Suspension::join, When::while_suspended, loops);
}

// One loop: the canceller is running, so the victim cannot have started when cancel() is
// called. The task never starts: its joiner gets CancelledError (as asyncio's test_tasks
// checks for a task cancelled before the loop ran it).
TEST(Cancel, BeforeFirstRunNeverEntersTheBody) {
  for (Suspension where :
       {Suspension::sleep, Suspension::yield, Suspension::fd_wait, Suspension::join})
    expect_cancel_at(where, When::before_first_run, 1);
}

Task<int> seven() { co_return 7; }

Task<int> cancel_after_finish() {
  JoinHandle<int> handle = weft::spawn(seven());
  if (const bool ok = co_await weft::test::co_wait_until([&handle] { return handle.done(); },
                                                         weft::test::kDeadline, 0ms);
      !ok) {
    ADD_FAILURE() << "a task that returns at once did not finish within 10 s";
    co_return -1;  // `handle` is dropped: the runtime's shutdown cancels it
  }
  handle.cancel();
  handle.cancel();
  co_return co_await handle;
}

TEST(Cancel, OfFinishedTaskIsNoOpAndKeepsValue) {
  EXPECT_EQ(weft::run(cancel_after_finish(), weft::test::options()), 7);
}

Task<int> plain_value() { co_return 5; }

// Spins (never suspending) until the foreign thread has cancelled it, then does more
// synchronous work, then sleeps.
Task<int> busy_then_sleep(std::atomic<int>* stage, Probe* probe, int* work,
                          Counted /*frame_token*/) {
  Counted guard;
  stage->store(1);
  while (stage->load() != 2) {
  }
  // Awaiting a plain Task is not a runtime suspension: the cancel waits for the sleep.
  *work = co_await plain_value();
  try {
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
    probe->caught.fetch_add(1);
    throw;
  }
  probe->passed.fetch_add(1);
  co_return 0;
}

TEST(Cancel, RequestedWhileRunningIsDeliveredAtNextSuspension) {
  const long base = Counted::live();
  std::atomic<int> stage{0};
  Probe probe;
  int work = 0;
  Ending ending = Ending::value;
  {
    weft::test::ReportLog log;  // the spin may be reported as a stall; keep stderr quiet
    weft::RuntimeOptions o = weft::test::options();
    o.on_report = log.sink();
    weft::Runtime rt(o);
    JoinHandle<int> handle = rt.spawn(busy_then_sleep(&stage, &probe, &work, Counted{}));
    const bool running = weft::test::wait_until([&stage] { return stage.load() == 1; });
    handle.cancel();  // the task is running and has not suspended yet
    stage.store(2);   // (also when it never got there: it must not spin forever)
    ASSERT_TRUE(running) << "the task did not start within 10 s";
    ending = rt.block_on(join_ending(handle));
  }
  EXPECT_EQ(ending, Ending::cancelled);
  EXPECT_EQ(work, 5);
  EXPECT_EQ(probe.caught.load(), 1);
  EXPECT_EQ(probe.passed.load(), 0);
  EXPECT_EQ(Counted::live(), base) << "a frame was never freed";
}

Task<int> survives_one_cancel(Probe* probe, Clock::duration* second_sleep,
                              Counted /*frame_token*/) {
  Counted guard;
  try {
    probe->about_to_suspend.store(true);
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
    probe->caught.fetch_add(1);  // swallowed: cancellation is a request
  }
  const auto t0 = Clock::now();
  co_await weft::sleep(20ms);
  *second_sleep = Clock::now() - t0;
  co_await weft::yield();
  probe->passed.fetch_add(1);
  co_return 42;
}

Task<int> cancel_once(Probe* probe, Clock::duration* second_sleep) {
  JoinHandle<int> handle = weft::spawn(survives_one_cancel(probe, second_sleep, Counted{}));
  if (const bool ok = co_await weft::test::co_wait_until(
          [probe] { return probe->about_to_suspend.load(); }, weft::test::kDeadline, 0ms);
      !ok) {
    ADD_FAILURE() << "the task did not reach its sleep within 10 s";
  }
  handle.cancel();
  if (const bool ok = co_await weft::test::finished_within(handle); !ok) {
    ADD_FAILURE() << "the task did not end within 10 s of one cancel";
    co_return -1;
  }
  co_return co_await handle;
}

TEST(Cancel, OneCancelIsOneCancelledError) {
  const long base = Counted::live();
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    Probe probe;
    Clock::duration second_sleep{};
    EXPECT_EQ(weft::run(cancel_once(&probe, &second_sleep), weft::test::options(loops)), 42);
    EXPECT_EQ(probe.caught.load(), 1);
    EXPECT_EQ(probe.passed.load(), 1);
    EXPECT_GE(second_sleep, 20ms) << "the second sleep ran in full";
  }
  EXPECT_EQ(Counted::live(), base) << "a frame was never freed";
}

TEST(Cancel, FromForeignThread) {
  const long base = Counted::live();
  Probe probe;
  Ending ending = Ending::value;
  {
    weft::Runtime rt(weft::test::options());
    JoinHandle<int> handle = rt.spawn(sleep_an_hour(&probe, Counted{}));
    const bool sleeping =
        weft::test::wait_until([&probe] { return probe.about_to_suspend.load(); });
    handle.cancel();  // from the test's thread, which is no loop
    ASSERT_TRUE(sleeping) << "the task did not reach its sleep within 10 s";
    ending = rt.block_on(join_ending(handle));
  }
  EXPECT_EQ(ending, Ending::cancelled);
  EXPECT_EQ(probe.caught.load(), 1);
  EXPECT_EQ(probe.passed.load(), 0);
  EXPECT_EQ(Counted::live(), base) << "a frame was never freed";
}

// --- many cancels racing with the natural wake ------------------------------------------

struct RaceRecord {
  std::atomic<int> fired{0};
  std::atomic<int> cancelled{0};
  std::atomic<int> accepted{-1};  // what cancel() returned
};

Task<std::size_t> short_sleeper(std::size_t index, std::chrono::microseconds d, RaceRecord* r,
                                Counted /*frame_token*/) {
  Counted guard;
  try {
    co_await weft::sleep(d);
  } catch (const CancelledError&) {
    r->cancelled.fetch_add(1);
    throw;
  }
  r->fired.fetch_add(1);
  co_return index;
}

Task<void> cancel_later(JoinHandle<std::size_t>* target, RaceRecord* r, int yields,
                        std::chrono::microseconds d) {
  for (int i = 0; i < yields; ++i) co_await weft::yield();
  if (d.count() > 0) co_await weft::sleep(d);
  r->accepted.store(target->cancel() ? 1 : 0);
}

struct RaceState {
  std::size_t n = 0;
  std::vector<RaceRecord> records;
  std::vector<JoinHandle<std::size_t>> handles;
  std::vector<Ending> endings;
  std::vector<std::size_t> values;
  // Handles [0, published) are in place (release: the foreign canceller reads them).
  std::atomic<std::size_t> published{0};
};

// Even tasks are cancelled by tasks (after a random number of yields and a random timer),
// odd ones by the foreign thread; every task sleeps 0-2 ms, so both outcomes happen.
Task<void> race_driver(RaceState* s) {
  std::mt19937 rng(20240611);
  std::vector<JoinHandle<void>> cancellers;
  cancellers.reserve(s->n / 2 + 1);
  for (std::size_t i = 0; i < s->n; ++i) {
    const std::chrono::microseconds d(rng() % 2001);
    s->handles[i] = weft::spawn(short_sleeper(i, d, &s->records[i], Counted{}));
    if (i % 2 == 0) {
      const int yields = static_cast<int>(rng() % 8);
      const std::chrono::microseconds delay(rng() % 3 == 0 ? 0 : rng() % 2001);
      cancellers.push_back(
          weft::spawn(cancel_later(&s->handles[i], &s->records[i], yields, delay)));
    }
    if (i % 64 == 63 || i + 1 == s->n) {
      s->published.store(i + 1, std::memory_order_release);
      // Pace the batches so the foreign canceller keeps up and its cancels land while the
      // batch sleeps (pacing, not a race-hider: every interleaving is a valid outcome).
      co_await weft::sleep(300us);
    }
  }
  for (auto& c : cancellers) co_await c;
  for (std::size_t i = 0; i < s->n; ++i) {
    try {
      s->values[i] = co_await s->handles[i];
      s->endings[i] = Ending::value;
    } catch (const CancelledError&) {
      s->endings[i] = Ending::cancelled;
    } catch (...) {
      s->endings[i] = Ending::other;
    }
  }
}

TEST(Cancel, ManyCancelsRaceWithNaturalWake) {
  const long base = Counted::live();
  RaceState s;
  s.n = weft::test::scaled(10'000, 1'000);
  s.records = std::vector<RaceRecord>(s.n);
  s.handles.resize(s.n);
  s.endings.assign(s.n, Ending::other);
  s.values.assign(s.n, 0);
  weft::test::ReportLog log;
  std::uint64_t unseen = 0;
  {
    weft::RuntimeOptions o = weft::test::options();
    o.on_report = log.sink();
    weft::Runtime rt(o);
    // A jthread: if block_on throws, its destructor asks it to stop and joins it (a
    // std::thread would terminate the process, and this one would wait forever).
    std::jthread foreign([&s](const std::stop_token& stop) {
      std::mt19937 rng(7);
      for (std::size_t i = 1; i < s.n; i += 2) {
        while (s.published.load(std::memory_order_acquire) <= i) {
          if (stop.stop_requested()) return;
          std::this_thread::yield();
        }
        // A random moment: busy-wait 0-40 us.
        const auto until = Clock::now() + std::chrono::microseconds(rng() % 41);
        while (Clock::now() < until) {
        }
        s.records[i].accepted.store(s.handles[i].cancel() ? 1 : 0);
      }
    });
    rt.block_on(race_driver(&s));
    foreign.join();
    unseen = rt.metrics().total().cancels_unseen;
  }
  // Every task was cancelled once. A refused cancel() came after the task had ended: its
  // sleep fired and its value is there. An accepted one ends the task cancelled when it
  // reached the task before its first run (the body never ran) or at its sleep; one that
  // came after the sleep's wake-up found no suspension left: the value stands, and the
  // request is counted as unseen. None is lost without a trace.
  std::size_t fired = 0, cancelled = 0, accepted_too_late = 0;
  for (std::size_t i = 0; i < s.n; ++i) {
    const int f = s.records[i].fired.load(), c = s.records[i].cancelled.load();
    ASSERT_LE(f + c, 1) << "task " << i << " ended " << f + c << " times";
    const int accepted = s.records[i].accepted.load();
    ASSERT_NE(accepted, -1) << i;
    if (f == 1) {
      ASSERT_EQ(s.endings[i], Ending::value) << i;
      ASSERT_EQ(s.values[i], i);
      ++fired;
      if (accepted == 1) ++accepted_too_late;
    } else {
      ASSERT_EQ(accepted, 1) << "task " << i << " did not fire, yet its cancel was refused";
      ASSERT_EQ(s.endings[i], Ending::cancelled) << i;
      ++cancelled;
    }
  }
  EXPECT_EQ(unseen, accepted_too_late);
  EXPECT_GT(fired, 0u);
  EXPECT_GT(cancelled, 0u);
  s.handles.clear();
  EXPECT_EQ(Counted::live(), base) << "frames never freed";
  EXPECT_EQ(log.count(weft::ReportKind::detached_exception), 0u);
  EXPECT_EQ(log.count(weft::ReportKind::unretrieved_exception), 0u);
  std::printf("fired %zu (%zu after an accepted cancel), cancelled %zu of %zu\n", fired,
              accepted_too_late, cancelled, s.n);
}

// --- a timer on loop A cancelled from loop B ----------------------------------------------
//
// How it is made cross-loop: the sleeper publishes the kernel thread id it registers its
// timer on (a timer lives on the loop that ran the sleep). The canceller then yields until
// it is running on a different thread: every yield puts it back in its loop's deque and
// notifies an idle loop, which steals it. Only then does it call cancel(), so the
// deregistration goes through the timer's home loop's mailbox (sleep.cpp, deferred). The
// thread ids are recorded and the test asserts the cancel came from another thread.

struct CrossRound {
  long sleeper_thread = 0;
  long canceller_thread = 0;
  Ending ending = Ending::other;
  int caught = 0;
  int passed = 0;
};

Task<int> sleeper_on_this_loop(Clock::duration d, std::atomic<long>* thread, Probe* probe,
                               Counted /*frame_token*/) {
  Counted guard;
  try {
    thread->store(thread_id());  // the timer below is registered on this thread's loop
    co_await weft::sleep(d);
  } catch (const CancelledError&) {
    probe->caught.fetch_add(1);
    throw;
  }
  probe->passed.fetch_add(1);
  co_return 1;
}

Task<void> cancel_from_another_loop(JoinHandle<int>* target, std::atomic<long>* sleeper_thread,
                                    long* my_thread) {
  if (const bool ok = co_await weft::test::co_wait_until(
          [sleeper_thread] { return sleeper_thread->load() != 0; }, weft::test::kDeadline, 0ms);
      !ok) {
    ADD_FAILURE() << "the sleeper did not start within 10 s";
  }
  const long avoid = sleeper_thread->load();
  for (int i = 0; i < 1'000'000 && thread_id() == avoid; ++i) co_await weft::yield();
  *my_thread = thread_id();
  target->cancel();
}

Task<void> cross_round(Clock::duration d, CrossRound* out) {
  std::atomic<long> sleeper_thread{0};
  Probe probe;
  JoinHandle<int> sleeper =
      weft::spawn(sleeper_on_this_loop(d, &sleeper_thread, &probe, Counted{}));
  JoinHandle<void> canceller =
      weft::spawn(cancel_from_another_loop(&sleeper, &sleeper_thread, &out->canceller_thread));
  co_await canceller;
  out->ending = co_await join_ending(sleeper);
  out->sleeper_thread = sleeper_thread.load();
  out->caught = probe.caught.load();
  out->passed = probe.passed.load();
}

Task<void> cross_rounds(std::vector<CrossRound>* rounds) {
  std::mt19937 rng(99);
  for (std::size_t r = 0; r < rounds->size(); ++r) {
    // Even rounds: an hour (the cancel must win). Odd rounds: 0-1 ms, racing the timer.
    const Clock::duration d =
        r % 2 == 0 ? Clock::duration(1h) : Clock::duration(std::chrono::microseconds(rng() % 1001));
    co_await cross_round(d, &(*rounds)[r]);
  }
}

TEST(Cancel, TimerOnOneLoopCancelledFromAnother) {
  const long base = Counted::live();
  std::vector<CrossRound> rounds(weft::test::scaled(200, 20));
  {
    weft::Runtime rt(weft::test::options(2));
    rt.block_on(cross_rounds(&rounds));
  }
  std::size_t cross = 0;
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    const CrossRound& c = rounds[r];
    SCOPED_TRACE("round " + std::to_string(r));
    if (c.sleeper_thread != c.canceller_thread) ++cross;
    ASSERT_EQ(c.caught + c.passed, 1);
    if (r % 2 == 0) {
      ASSERT_EQ(c.ending, Ending::cancelled);
      ASSERT_EQ(c.caught, 1);
    } else {
      ASSERT_EQ(c.ending, c.caught == 1 ? Ending::cancelled : Ending::value);
    }
  }
  EXPECT_GT(cross, 0u) << "the cancel never came from another loop";
  EXPECT_GE(cross * 10, rounds.size() * 9) << cross << " of " << rounds.size();
  EXPECT_EQ(Counted::live(), base) << "a frame was never freed";
  std::printf("cross-loop cancels: %zu of %zu rounds\n", cross, rounds.size());
}

}  // namespace

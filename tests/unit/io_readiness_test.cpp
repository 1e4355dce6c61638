// AsyncFd's readiness API and its loops: wait, read until EAGAIN, clear, wait again without a
// spurious wake-up; fds used from a loop other than their home loop; the one-waiter-per-direction
// rule; fds registered with a chosen loop.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "fd_count.hpp"
#include "fd_test_support.hpp"
#include "test_support.hpp"
#include "thread_id.hpp"
#include "weft/loop_info.hpp"

namespace {

using namespace std::chrono_literals;
using weft::AsyncFd;
using weft::CancelledError;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;
using weft::test::bytes;
using weft::test::co_wait_until;
using weft::test::Counted;
using weft::test::finished_within;
using weft::test::kDeadline;
using weft::test::make_pipe;
using weft::test::make_socketpair;
using weft::test::move_off_thread;
using weft::test::ObservedWait;
using weft::test::open_fd_count;
using weft::test::read_exactly;
using weft::test::thread_id;
using weft::test::to_string;
using weft::test::WaitProbe;

// --- the readiness API ----------------------------------------------------------------------

struct ReadinessResult {
  std::size_t drained = 0;
  bool written_before_wake = false;
  bool reader_blocked = false;  // seen suspended in its second wait just before the write
  bool timed_out = false;       // the second wait did not end within the deadline
  std::string next;
};

// Writes once the reader is suspended in its wait, after a window in which a spurious
// wake-up would show (the reader would find `written` false).
Task<void> write_when_blocked(int fd, WaitProbe* probe, std::atomic<bool>* written,
                              bool* reader_blocked) {
  // Bounded: if the reader never suspends, write anyway so it cannot hang; the test fails.
  (void)co_await co_wait_until([probe] { return probe->suspended.load(); });
  co_await weft::sleep(2ms);  // the scenario: the detection window
  *reader_blocked = probe->blocked();
  written->store(true);
  if (::write(fd, "next", 4) != 4) throw std::system_error(errno, std::system_category());
}

Task<void> second_wait(AsyncFd* in, WaitProbe* probe, std::atomic<bool>* written,
                       ReadinessResult* r) {
  co_await ObservedWait(weft::readable(*in), probe);
  r->written_before_wake = written->load();
  std::array<char, 64> buffer{};
  const ssize_t n = ::read(in->fd(), buffer.data(), buffer.size());
  if (n > 0) r->next.assign(buffer.data(), static_cast<std::size_t>(n));
}

Task<ReadinessResult> readiness_protocol(WaitProbe* probe) {
  const auto fds = make_pipe();
  AsyncFd in(fds[0]);
  std::string first(1000, 'x');
  if (::write(fds[1], first.data(), first.size()) != 1000)
    throw std::system_error(errno, std::system_category());

  ReadinessResult r;
  weft::Readiness ready = co_await weft::readable(in);
  std::array<char, 64> buffer{};
  for (;;) {
    const ssize_t n = ::read(in.fd(), buffer.data(), buffer.size());
    if (n > 0) {
      r.drained += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EAGAIN) break;
    throw std::system_error(errno, std::system_category());
  }
  in.clear_readable(ready);

  // The second wait runs in its own task so that it can be bounded (and cancelled).
  std::atomic<bool> written{false};
  JoinHandle<void> reader = weft::spawn(second_wait(&in, probe, &written, &r));
  JoinHandle<void> writer =
      weft::spawn(write_when_blocked(fds[1], probe, &written, &r.reader_blocked));
  r.timed_out = !co_await finished_within(reader);
  if (const bool ok = co_await finished_within(writer); ok) co_await writer;
  if (reader.done() && !r.timed_out) co_await reader;
  ::close(fds[1]);
  co_return r;
}

TEST(Io, ReadinessWaitReadUntilEagainClearWaitAgain) {
  WaitProbe probe;  // outlives the runtime: the reader writes to it
  const ReadinessResult r = weft::run(readiness_protocol(&probe), weft::test::options());
  EXPECT_EQ(r.drained, 1000u);
  EXPECT_FALSE(r.timed_out) << "the second wait never ended after the write";
  EXPECT_TRUE(r.reader_blocked) << "the reader was not suspended in its wait when the write came";
  EXPECT_TRUE(r.written_before_wake) << "the second wait returned before the next write";
  EXPECT_EQ(r.next, "next");
}

// --- an fd used from a loop other than its home loop ---------------------------------------

struct ElsewhereResult {
  long home_thread = 0;
  long user_thread = 0;
  bool moved = false;
  bool blocked = false;  // the user was seen suspended in its wait just before the peer wrote
  bool timed_out = false;
  std::string got;
  std::string echoed;
};

Task<void> use_from_elsewhere(AsyncFd* fd, int peer, ElsewhereResult* r, WaitProbe* probe) {
  r->moved = co_await move_off_thread(r->home_thread);
  r->user_thread = thread_id();
  // The peer writes from a plain thread once we are suspended in the wait; the home loop's
  // reactor sees the edge and wakes us here, on the other loop.
  std::jthread peer_thread([probe, peer, r] {
    // Bounded: if the wait never suspends, write anyway (the round then fails).
    (void)weft::test::wait_until([probe] { return probe->suspended.load(); });
    std::this_thread::sleep_for(1ms);  // the scenario: the wait stays blocked meanwhile
    r->blocked = probe->blocked();
    (void)!::write(peer, "from peer", 9);
  });
  co_await ObservedWait(weft::readable(*fd), probe);
  r->got = co_await read_exactly(*fd, 9);
  peer_thread.join();
  co_await fd->write_all(bytes("reply"));
  std::array<char, 5> back{};
  std::size_t have = 0;
  while (have < back.size()) {  // the peer end is blocking: the reply is already there
    const ssize_t n = ::read(peer, back.data() + have, back.size() - have);
    if (n <= 0) break;
    have += static_cast<std::size_t>(n);
  }
  r->echoed.assign(back.data(), have);
}

Task<ElsewhereResult> fd_used_off_its_home_loop(WaitProbe* probe) {
  const auto fds = make_socketpair();
  AsyncFd fd(fds[0]);  // home: this thread's loop
  ElsewhereResult r;
  r.home_thread = thread_id();
  JoinHandle<void> user = weft::spawn(use_from_elsewhere(&fd, fds[1], &r, probe));
  if (const bool ok = co_await finished_within(user); ok) {
    co_await user;
  } else {
    r.timed_out = true;  // cancelled: the peer's write never woke the wait
  }
  ::close(fds[1]);
  co_return r;
}

TEST(Io, TaskOnAnotherLoopWaitsOnFdRegisteredAtHome) {
  const std::size_t rounds = weft::test::scaled(20, 5);
  std::size_t elsewhere = 0, blocked = 0;
  for (std::size_t i = 0; i < rounds; ++i) {
    SCOPED_TRACE("round " + std::to_string(i));
    WaitProbe probe;
    const ElsewhereResult r = weft::run(fd_used_off_its_home_loop(&probe), weft::test::options());
    EXPECT_FALSE(r.timed_out) << "the wait was not woken by the peer's write";
    EXPECT_EQ(r.got, "from peer");
    EXPECT_EQ(r.echoed, "reply");
    if (r.moved && r.user_thread != r.home_thread) ++elsewhere;
    if (r.blocked) ++blocked;
  }
  // Forced by construction (the user yields until it runs on the other loop).
  EXPECT_EQ(elsewhere, rounds);
  // Also by construction (the peer waits until the wait suspended): every round tested a
  // wake-up that crossed loops, none a read that found the data already there.
  EXPECT_EQ(blocked, rounds) << "rounds where the wait was suspended when the peer wrote";
}

// --- one waiter per direction ---------------------------------------------------------------

enum class WaitOutcome { woke, rejected };

Task<WaitOutcome> wait_readable(AsyncFd* fd, std::atomic<bool>* trying,
                                std::atomic<int>* rejected) {
  trying->store(true);
  try {
    co_await weft::readable(*fd);
  } catch (const std::logic_error&) {
    rejected->fetch_add(1);
    co_return WaitOutcome::rejected;
  }
  co_return WaitOutcome::woke;
}

struct TwoWaiters {
  WaitOutcome first = WaitOutcome::rejected;
  WaitOutcome second = WaitOutcome::woke;
  bool none_refused = false;  // within the deadline: both were let wait (or never ran)
  bool stuck = false;         // a waiter did not end, even after the write and a cancel
};

// `sequential`: one loop, the second waiter starts after the first has blocked. Otherwise
// both race on two loops; exactly one of them must be refused either way.
Task<TwoWaiters> two_waiters_on_one_direction(bool sequential) {
  const auto fds = make_pipe();
  // On the heap: if a waiter cannot be ended, the AsyncFd is leaked rather than destroyed
  // under it (which aborts), so the test fails instead of crashing.
  auto in = std::make_unique<AsyncFd>(fds[0]);
  std::atomic<bool> first_trying{false}, second_trying{false};
  std::atomic<int> rejected{0};
  TwoWaiters r;
  // Polls yield on one loop, so that the waiters run meanwhile.
  const Clock::duration poll = sequential ? Clock::duration::zero() : Clock::duration(1ms);
  JoinHandle<WaitOutcome> first = weft::spawn(wait_readable(in.get(), &first_trying, &rejected));
  if (sequential) {  // one loop: once `first` ran, it waits
    (void)co_await co_wait_until([&] { return first_trying.load(); }, kDeadline, poll);
  }
  JoinHandle<WaitOutcome> second = weft::spawn(wait_readable(in.get(), &second_trying, &rejected));
  r.none_refused = !co_await co_wait_until([&] { return rejected.load() > 0; }, kDeadline, poll);
  (void)!::write(fds[1], "x", 1);  // wakes the one that waits
  if (r.none_refused) {            // both may be registered: end them
    first.cancel();
    second.cancel();
  }
  const bool first_ended = co_await finished_within(first);
  const bool second_ended = co_await finished_within(second);
  if (first_ended && second_ended && !r.none_refused) {
    r.first = co_await first;
    r.second = co_await second;
  }
  if (!first.done() || !second.done()) {
    r.stuck = true;
    (void)in.release();  // still waited on
  }
  ::close(fds[1]);
  co_return r;
}

void expect_one_refused(const TwoWaiters& r) {
  ASSERT_FALSE(r.none_refused)
      << "neither waiter was refused within "
      << std::chrono::duration_cast<std::chrono::seconds>(kDeadline).count()
      << " s: both were let wait for the same direction";
  ASSERT_FALSE(r.stuck) << "a waiter did not end after the write";
  EXPECT_NE(r.first, r.second) << "exactly one of two concurrent waiters is refused";
}

TEST(Io, SecondWaiterOnSameDirectionGetsLogicError) {
  const TwoWaiters seq = weft::run(two_waiters_on_one_direction(true), weft::test::options(1));
  {
    SCOPED_TRACE("one loop, the second waiter after the first");
    expect_one_refused(seq);
  }
  if (!HasFatalFailure()) {
    EXPECT_EQ(seq.first, WaitOutcome::woke);
    EXPECT_EQ(seq.second, WaitOutcome::rejected);
  }
  // Stops at the first failure: each costs a deadline.
  for (int i = 0; i < 20 && !HasFatalFailure(); ++i) {
    SCOPED_TRACE("racing round " + std::to_string(i));
    expect_one_refused(weft::run(two_waiters_on_one_direction(false), weft::test::options()));
  }
}

}  // namespace

// --- home loops ------------------------------------------------------------------------------

TEST(Io, FdRegisteredWithAChosenLoopReportsItAndStillWorks) {
  auto body = []() -> Task<void> {
    EXPECT_EQ(weft::loop_count(), 2u);
    EXPECT_LT(weft::current_loop_index(), 2u);
    for (unsigned home = 0; home < 2; ++home) {
      const auto fds = make_socketpair();
      AsyncFd a(fds[0], home);
      AsyncFd b(fds[1]);
      EXPECT_EQ(a.home_loop(), home);
      EXPECT_EQ(b.home_loop(), weft::current_loop_index());
      // A wait on `a` is woken by loop `home`'s reactor, wherever this task runs.
      JoinHandle<std::size_t> reader = weft::spawn([](AsyncFd& fd) -> Task<std::size_t> {
        std::array<std::byte, 16> buffer{};
        co_return co_await fd.read_some(buffer);
      }(a));
      const std::array<std::byte, 3> data{std::byte{1}, std::byte{2}, std::byte{3}};
      co_await b.write_all(data);
      EXPECT_EQ(co_await reader, 3u);
    }
    const std::size_t before = open_fd_count();
    const auto fds = make_pipe();
    EXPECT_THROW(AsyncFd(fds[0], 2), std::out_of_range);  // and the fd is closed
    ::close(fds[1]);
    EXPECT_EQ(open_fd_count(), before);
  };
  weft::RuntimeOptions options = weft::test::options();
  options.loops = 2;
  weft::run(body(), options);
  EXPECT_THROW((void)weft::loop_count(), std::logic_error);
  EXPECT_THROW((void)weft::current_loop_index(), std::logic_error);

}  // namespace

// AsyncFd: reads and writes over pipes and socketpairs, end of file, the readiness API, fds
// used from a loop other than their home loop, I/O under CPU load, fd-number reuse, leak-free
// cancellation of fd waits, and the one-waiter-per-direction rule.

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

#include "test_support.hpp"
#include "weft/loop_info.hpp"
#include "fd_count.hpp"

namespace {

using namespace std::chrono_literals;
using weft::AsyncFd;
using weft::CancelledError;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;
using weft::test::co_wait_until;
using weft::test::Counted;
using weft::test::finished_within;
using weft::test::kDeadline;

// See cancel_test.cpp: pthread_self() may be folded across a co_await.
[[gnu::noinline]] long thread_id() { return ::syscall(SYS_gettid); }

std::array<int, 2> make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category());
  return fds;
}

std::array<int, 2> make_socketpair() {
  std::array<int, 2> fds{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0)
    throw std::system_error(errno, std::system_category());
  return fds;
}

using weft::test::open_fd_count;

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

std::string to_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Reads until `n` bytes arrived (or EOF).
Task<std::string> read_exactly(AsyncFd& fd, std::size_t n) {
  std::string out;
  std::array<std::byte, 256> buffer{};
  while (out.size() < n) {
    const std::size_t got =
        co_await fd.read_some(std::span(buffer).first(std::min(buffer.size(), n - out.size())));
    if (got == 0) break;
    out += to_string(std::span(buffer).first(got));
  }
  co_return out;
}

// Yields until this task runs on a thread other than `avoid` (an idle loop steals a task
// that keeps re-queueing itself); false if that did not happen within the bound.
Task<bool> move_off_thread(long avoid) {
  for (int i = 0; i < 1'000'000; ++i) {
    if (thread_id() != avoid) co_return true;
    co_await weft::yield();
  }
  co_return false;
}

// What a readiness wait under observation went through. A round that checks "no spurious
// wake-up" proves something only if the reader really was suspended in its wait when the
// detection window ran and the write came; one that was merely about to wait (or was
// descheduled before it) would pass vacuously. So the writer checks blocked() right before
// it writes, and the test requires it.
struct WaitProbe {
  std::atomic<bool> suspended{false};  // await_suspend returned true: the task left its loop
  std::atomic<bool> resumed{false};    // the wait returned (woken, or it never suspended)
  [[nodiscard]] bool blocked() const { return suspended.load() && !resumed.load(); }
};

// weft::readable/writable, recording into a WaitProbe.
class ObservedWait {
 public:
  ObservedWait(weft::ReadinessAwaiter inner, WaitProbe* probe) noexcept
      : inner_(inner), probe_(probe) {}
  bool await_ready() noexcept { return inner_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> caller) {
    WaitProbe* probe = probe_;  // once suspended, the task may resume elsewhere: `this` too
    const bool suspended = inner_.await_suspend(caller);
    if (suspended) probe->suspended.store(true);
    return suspended;
  }
  weft::Readiness await_resume() {
    probe_->resumed.store(true);
    return inner_.await_resume();
  }

 private:
  weft::ReadinessAwaiter inner_;
  WaitProbe* probe_;
};

// --- round trips and end of file ----------------------------------------------------------

Task<std::string> round_trip(std::array<int, 2> fds, std::string message) {
  AsyncFd writer(fds[1]);
  AsyncFd reader(fds[0]);
  co_await writer.write_all(bytes(message));
  co_return co_await read_exactly(reader, message.size());
}

Task<std::string> socket_round_trip() {
  const auto fds = make_socketpair();
  AsyncFd a(fds[0]);
  AsyncFd b(fds[1]);
  co_await a.write_all(bytes("ping"));
  std::string got = co_await read_exactly(b, 4);
  co_await b.write_all(bytes("pong"));
  got += co_await read_exactly(a, 4);
  co_return got;
}

TEST(Io, PipeAndSocketpairRoundTrip) {
  EXPECT_EQ(weft::run(round_trip(make_pipe(), "hello through a pipe"), weft::test::options()),
            "hello through a pipe");
  EXPECT_EQ(
      weft::run(round_trip(make_socketpair(), "hello through a socket"), weft::test::options()),
      "hello through a socket");
  EXPECT_EQ(weft::run(socket_round_trip(), weft::test::options()), "pingpong");
}

struct EofResult {
  std::size_t first = 99, second = 99, third = 99;
};

// `close_peer` ends the writing side after "hello": close for a pipe, shutdown for a socket.
Task<EofResult> read_to_eof(std::array<int, 2> fds, bool socket) {
  if (::write(fds[1], "hello", 5) != 5) throw std::system_error(errno, std::system_category());
  if (socket) {
    ::shutdown(fds[1], SHUT_WR);
  } else {
    ::close(fds[1]);
  }
  AsyncFd reader(fds[0]);
  std::array<std::byte, 64> buffer{};
  EofResult r;
  r.first = co_await reader.read_some(buffer);
  r.second = co_await reader.read_some(buffer);
  r.third = co_await reader.read_some(buffer);  // EOF stays EOF
  if (socket) ::close(fds[1]);
  co_return r;
}

TEST(Io, ReadSomeReturnsZeroAtEof) {
  for (bool socket : {false, true}) {
    SCOPED_TRACE(socket ? "socketpair" : "pipe");
    const EofResult r = weft::run(read_to_eof(socket ? make_socketpair() : make_pipe(), socket),
                                  weft::test::options());
    EXPECT_EQ(r.first, 5u);
    EXPECT_EQ(r.second, 0u);
    EXPECT_EQ(r.third, 0u);
  }
}

// --- 8 MiB through a socketpair -----------------------------------------------------------

std::byte pattern(std::size_t i) {
  // Not periodic at any small power of two, so a reordered or repeated chunk shows.
  return static_cast<std::byte>((static_cast<std::uint32_t>(i) * 2654435761u) >> 24);
}

Task<long> write_pattern(int fd, std::size_t total) {
  AsyncFd out(fd);
  std::vector<std::byte> data(total);
  for (std::size_t i = 0; i < total; ++i) data[i] = pattern(i);
  co_await out.write_all(data);
  co_return thread_id();  // `out` closes: the reader sees EOF
}

struct ReadCheck {
  std::size_t received = 0;
  std::size_t first_mismatch = SIZE_MAX;
  long thread = 0;
};

Task<ReadCheck> read_pattern(int fd) {
  AsyncFd in(fd);
  std::vector<std::byte> buffer(64 * 1024);
  ReadCheck r;
  for (;;) {
    const std::size_t n = co_await in.read_some(buffer);
    if (n == 0) break;
    for (std::size_t k = 0; k < n && r.first_mismatch == SIZE_MAX; ++k)
      if (buffer[k] != pattern(r.received + k)) r.first_mismatch = r.received + k;
    r.received += n;
  }
  r.thread = thread_id();
  co_return r;
}

struct BulkResult {
  ReadCheck read;
  long writer_thread = 0;
};

Task<BulkResult> bulk_transfer(std::size_t total) {
  const auto fds = make_socketpair();
  JoinHandle<ReadCheck> reader = weft::spawn(read_pattern(fds[0]));
  JoinHandle<long> writer = weft::spawn(write_pattern(fds[1], total));
  BulkResult r;
  r.writer_thread = co_await writer;
  r.read = co_await reader;
  co_return r;
}

TEST(Io, WriteAllEightMiBArrivesInOrder) {
  constexpr std::size_t kTotal = 8u << 20;
  weft::test::ReportLog log;  // filling 8 MiB may briefly look like a stall under sanitizers
  weft::RuntimeOptions o = weft::test::options();
  o.on_report = log.sink();
  const BulkResult r = weft::run(bulk_transfer(kTotal), o);
  EXPECT_EQ(r.read.received, kTotal);
  EXPECT_EQ(r.read.first_mismatch, SIZE_MAX) << "byte " << r.read.first_mismatch << " is wrong";
}

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

// --- I/O under CPU load ----------------------------------------------------------------------

Task<void> always_ready(std::atomic<bool>* stop, std::atomic<std::uint64_t>* spins) {
  while (!stop->load(std::memory_order_relaxed)) {
    spins->fetch_add(1, std::memory_order_relaxed);
    co_await weft::yield();
  }
}

Task<void> echo_server(int fd) {
  AsyncFd sock(fd);
  std::array<std::byte, 256> buffer{};
  for (;;) {
    const std::size_t n = co_await sock.read_some(buffer);
    if (n == 0) break;
    co_await sock.write_all(std::span(buffer).first(n));
  }
}

struct EchoResult {
  int answered = 0;
  Clock::duration total{};
  Clock::duration worst{};
  std::uint64_t spins_during = 0;
  bool load_ran = false;  // the always-ready tasks were spinning before the echo began
  bool cut_off = false;   // the watchdog stopped the echo
};

Task<EchoResult> echo_client(int fd, int round_trips, std::atomic<std::uint64_t>* spins) {
  AsyncFd sock(fd);
  EchoResult r;
  const std::uint64_t spins_before = spins->load();
  const auto start = Clock::now();
  for (int i = 0; i < round_trips; ++i) {
    const std::string msg = "round trip " + std::to_string(i);
    const auto t0 = Clock::now();
    co_await sock.write_all(bytes(msg));
    const auto echoed = co_await read_exactly(sock, msg.size());
    if (echoed != msg) break;
    r.worst = std::max(r.worst, Clock::now() - t0);
    ++r.answered;
  }
  r.total = Clock::now() - start;
  r.spins_during = spins->load() - spins_before;
  co_return r;
}

struct CpuLoad {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> spins{0};
};

// Cancelled by the test's watchdog if the echo starves: then it ends the client (whose
// AsyncFd closes, so the server sees EOF), the server and the load, and returns what it has.
Task<EchoResult> echo_under_load(int round_trips, CpuLoad* cpu) {
  std::vector<JoinHandle<void>> load;
  for (int i = 0; i < 100; ++i) load.push_back(weft::spawn(always_ready(&cpu->stop, &cpu->spins)));
  EchoResult r;
  r.load_ran = co_await co_wait_until([cpu] { return cpu->spins.load() >= 1000; }, kDeadline, 0ms);
  if (r.load_ran) {
    const auto fds = make_socketpair();
    JoinHandle<void> server = weft::spawn(echo_server(fds[0]));
    JoinHandle<EchoResult> client = weft::spawn(echo_client(fds[1], round_trips, &cpu->spins));
    try {
      r = co_await client;  // the client's AsyncFd closed: the server sees EOF
      r.load_ran = true;
    } catch (const CancelledError&) {
      r.cut_off = true;  // by the watchdog
    }
    if (r.cut_off) {
      cpu->stop.store(true);
      client.cancel();
      (void)co_await finished_within(client);
    }
    if (const bool ok = co_await finished_within(server); !ok) r.cut_off = true;
  }
  cpu->stop.store(true);
  for (auto& h : load) (void)co_await finished_within(h);
  co_return r;
}

Task<EchoResult> join_echo(JoinHandle<EchoResult>* echo) { co_return co_await *echo; }

TEST(Io, EchoKeepsAnsweringUnderCpuLoad) {
  CpuLoad cpu;
  EchoResult r;
  {
    weft::Runtime rt(weft::test::options());
    JoinHandle<EchoResult> echo = rt.spawn(echo_under_load(1000, &cpu));
    // The watchdog, on this thread (timers run on the loops, which might be what starves).
    if (!weft::test::wait_until([&echo] { return echo.done(); }, 30s)) {
      ADD_FAILURE() << "the echo starved: 1000 round trips not done within 30 s under CPU load";
      cpu.stop.store(true);
      echo.cancel();
      // Bounded too: past it, the runtime's destructor cancels what is left.
      ASSERT_TRUE(weft::test::wait_until([&echo] { return echo.done(); }))
          << "the echo did not end after it was cancelled";
    }
    r = rt.block_on(join_echo(&echo));
  }
  ASSERT_TRUE(r.load_ran) << "the always-ready tasks never got going";
  EXPECT_FALSE(r.cut_off);
  EXPECT_EQ(r.answered, 1000);
  // Generous: ~0.1 s in release; a loop that stopped polling I/O while it has ready tasks
  // would never finish.
  EXPECT_LT(r.total, 20s);
  // Each round trip waits for at most a pass over the ready tasks (maintenance polls I/O
  // every 61 runs); a second is a rough bound even under sanitizers on a loaded machine.
  EXPECT_LT(r.worst, 1s) << std::chrono::duration_cast<std::chrono::milliseconds>(r.worst).count()
                         << " ms for one round trip";
  EXPECT_GT(r.spins_during, 1000u) << "the always-ready tasks did not run meanwhile";
  std::printf("1000 round trips in %lld ms (worst %lld us) with %llu yields of load\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(r.total).count()),
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::microseconds>(r.worst).count()),
              static_cast<unsigned long long>(r.spins_during));
}

// --- an fd number reused at once --------------------------------------------------------------

struct ReuseRound {
  bool same_number = false;
  bool blocked = false;   // the new fd's reader was suspended in its wait just before the write
  bool spurious = false;  // the new fd's reader woke before anything was written to it
  bool missed = false;    // ... or never woke after the write
  std::string got;
};

Task<void> close_after_write(std::unique_ptr<AsyncFd>* fd, int write_end) {
  (void)!::write(write_end, "stale", 5);
  (*fd)->close();
  co_return;
}

Task<void> wait_then_read(AsyncFd* fd, WaitProbe* probe, std::atomic<bool>* written,
                          ReuseRound* r) {
  co_await ObservedWait(weft::readable(*fd), probe);
  if (!written->load()) r->spurious = true;
  std::array<char, 16> buffer{};
  const ssize_t n = ::read(fd->fd(), buffer.data(), buffer.size());
  if (n > 0) r->got.assign(buffer.data(), static_cast<std::size_t>(n));
}

// The old fd gets data (so an edge is pending in epoll, or was harvested and is being
// handled) and is closed: on its home loop right away, from a task that may run on the
// other loop, or after a reader consumed a first edge. The new pipe gets the same number at
// once; its reader must wake for its first write and not before.
Task<ReuseRound> reuse_round(int variant) {
  ReuseRound r;
  const auto old_fds = make_pipe();
  auto old_fd = std::make_unique<AsyncFd>(old_fds[0]);
  if (variant == 0) {
    (void)!::write(old_fds[1], "stale", 5);
    old_fd->close();
  } else if (variant == 1) {
    JoinHandle<void> closer = weft::spawn(close_after_write(&old_fd, old_fds[1]));
    co_await closer;
  } else {
    (void)!::write(old_fds[1], "first", 5);
    co_await weft::readable(*old_fd);
    (void)!::write(old_fds[1], "stale", 5);  // a second edge, maybe in flight now
    old_fd->close();
  }
  const auto new_fds = make_pipe();
  r.same_number = new_fds[0] == old_fds[0];
  ::close(old_fds[1]);
  AsyncFd fresh(new_fds[0]);

  WaitProbe probe;
  std::atomic<bool> written{false};
  JoinHandle<void> reader = weft::spawn(wait_then_read(&fresh, &probe, &written, &r));
  // Bounded: if the reader never suspends, go on (the round then fails on `blocked`).
  (void)co_await co_wait_until([&probe] { return probe.suspended.load(); });
  co_await weft::sleep(500us);  // the scenario: a stale event would wake the reader now
  r.blocked = probe.blocked();
  written.store(true);
  (void)!::write(new_fds[1], "fresh", 5);
  if (const bool ok = co_await finished_within(reader, 5s); !ok) r.missed = true;  // cancelled
  try {
    if (reader.done()) co_await reader;
  } catch (const CancelledError&) {
  }
  ::close(new_fds[1]);
  co_return r;
}

// Stops after a round that failed (the test reports it): a round that missed its wake-up
// costs a deadline, and a runtime that misses one would miss them all.
Task<std::vector<ReuseRound>> reuse_rounds(std::size_t n) {
  std::vector<ReuseRound> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(co_await reuse_round(static_cast<int>(i % 3)));
    const ReuseRound& r = out.back();
    if (!r.same_number || !r.blocked || r.spurious || r.missed || r.got != "fresh") break;
  }
  co_return out;
}

TEST(Io, ReusedFdNumberGetsNoStaleEvent) {
  const auto rounds = weft::run(reuse_rounds(weft::test::scaled(300, 30)), weft::test::options());
  for (std::size_t i = 0; i < rounds.size(); ++i) {
    SCOPED_TRACE("round " + std::to_string(i) + ", variant " + std::to_string(i % 3));
    ASSERT_TRUE(rounds[i].same_number) << "the new pipe did not reuse the fd number";
    ASSERT_FALSE(rounds[i].spurious) << "woken by the closed fd's event";
    // Not vacuous: the reader was suspended through the window in which a stale event
    // would have woken it (false here without `spurious` means it never suspended).
    ASSERT_TRUE(rounds[i].blocked) << "the reader was not suspended in its wait before the write";
    ASSERT_FALSE(rounds[i].missed) << "the first write to the new fd was never seen";
    ASSERT_EQ(rounds[i].got, "fresh");
  }
}

// --- cancelled fd waits leak nothing ---------------------------------------------------------

// An fd owned by a task's frame until its body takes it: closed with the frame if the task
// never runs (cancelled before its first run).
class FrameOwnedFd {
 public:
  explicit FrameOwnedFd(int fd) noexcept : fd_(fd) {}
  FrameOwnedFd(FrameOwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FrameOwnedFd(const FrameOwnedFd&) = delete;
  FrameOwnedFd& operator=(const FrameOwnedFd&) = delete;
  FrameOwnedFd& operator=(FrameOwnedFd&&) = delete;
  ~FrameOwnedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int release() noexcept { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// A Counted local (unwound on cancel) and a by-value one (lives as long as the frame).
Task<void> wait_for_data(FrameOwnedFd fd, std::atomic<int>* cancelled, Counted /*frame_token*/) {
  Counted guard;
  AsyncFd in(fd.release());
  std::array<std::byte, 16> buffer{};
  try {
    co_await in.read_some(buffer);
  } catch (const CancelledError&) {
    cancelled->fetch_add(1);
    throw;
  }
}

// `cancelled`: waits the cancel reached; `ended_cancelled`: joins that saw CancelledError
// (also the waiters cancelled before they ran, which never reached their wait).
Task<void> cancel_fd_waits(std::size_t total, std::atomic<int>* cancelled, std::atomic<int>* read,
                           std::atomic<int>* ended_cancelled) {
  std::mt19937 rng(31337);
  constexpr std::size_t kBatch = 64;
  for (std::size_t done = 0; done < total; done += kBatch) {
    const std::size_t batch = std::min(kBatch, total - done);
    std::vector<std::array<int, 2>> fds;
    std::vector<JoinHandle<void>> waiters;
    for (std::size_t k = 0; k < batch; ++k) {
      fds.push_back(k % 2 == 0 ? make_pipe() : make_socketpair());
      waiters.push_back(
          weft::spawn(wait_for_data(FrameOwnedFd(fds.back()[0]), cancelled, Counted{})));
    }
    for (std::size_t k = 0; k < batch; ++k) {
      const unsigned how = rng() % 4;
      // 0: cancel at once (maybe before the waiter ran); 1: after some yields; 2: data
      // first, then cancel (racing with the wake-up); 3: data, some yields, then cancel.
      if (how >= 2) (void)!::write(fds[k][1], "x", 1);
      if (how % 2 == 1) {
        for (unsigned y = rng() % 16; y > 0; --y) co_await weft::yield();
      }
      waiters[k].cancel();
    }
    for (std::size_t k = 0; k < batch; ++k) {
      try {
        co_await waiters[k];
        read->fetch_add(1);
      } catch (const CancelledError&) {
        ended_cancelled->fetch_add(1);
      }
      ::close(fds[k][1]);
    }
  }
}

TEST(Io, RandomCancelsOfFdWaitsLeakNoFds) {
  const long base_live = Counted::live();
  const std::size_t before_runtime = open_fd_count();
  const std::size_t total = weft::test::scaled(10'000, 1'000);
  std::atomic<int> cancelled{0}, read{0}, ended_cancelled{0};
  {
    weft::Runtime rt(weft::test::options());
    const std::size_t with_runtime = open_fd_count();
    rt.block_on(cancel_fd_waits(total, &cancelled, &read, &ended_cancelled));
    EXPECT_EQ(open_fd_count(), with_runtime) << "fds leaked by cancelled waits";
  }
  EXPECT_EQ(open_fd_count(), before_runtime);
  EXPECT_EQ(static_cast<std::size_t>(ended_cancelled.load() + read.load()), total);
  EXPECT_LE(cancelled.load(), ended_cancelled.load());
  EXPECT_GT(cancelled.load(), 0);
  EXPECT_EQ(Counted::live(), base_live) << "frames never freed";
  std::printf("%d waits cancelled, %d read their byte first\n", cancelled.load(), read.load());
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
}

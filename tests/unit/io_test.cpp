// AsyncFd: reads and writes over pipes and socketpairs, end of file, 8 MiB in order, I/O under
// CPU load, fd-number reuse, and leak-free cancellation of fd waits. The readiness API and
// which loop waits on an fd are in io_readiness_test.cpp.

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
using weft::test::ObservedWait;
using weft::test::open_fd_count;
using weft::test::read_exactly;
using weft::test::thread_id;
using weft::test::to_string;
using weft::test::WaitProbe;

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

}  // namespace

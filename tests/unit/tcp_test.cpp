// weft::io stream sockets: TCP and Unix echo round trips, many connections over two loops,
// read_exact at an early end of stream, refused and timed-out connects, writing to a closed
// peer (an error, not SIGPIPE), SO_REUSEPORT, and accept under fd exhaustion (EMFILE).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/io/unix_stream.hpp>
#include <weft/loop_info.hpp>
#include <weft/task_group.hpp>
#include <weft/wait_for.hpp>

#include "fd_count.hpp"
#include "fd_test_support.hpp"
#include "test_support.hpp"
#include "thread_id.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::io::IncompleteReadError;
using weft::io::SocketAddress;
using weft::io::TcpListener;
using weft::io::TcpListenerOptions;
using weft::io::TcpStream;
using weft::io::UnixListener;
using weft::io::UnixStream;
using weft::test::finished_within;

using weft::test::bytes;
std::span<const std::byte> rest_of(const std::string& s, std::size_t from) {
  return bytes(s).subspan(from);
}

std::string text(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

using weft::test::open_fd_count;

// Every test body runs under a deadline: a hang fails the test (TimeoutError escapes run())
// instead of running into ctest's timeout.
template <class T>
T run_bounded(Task<T> body, weft::RuntimeOptions options = weft::test::options()) {
  return weft::run(weft::wait_for(std::move(body), weft::test::kDeadline), options);
}

SocketAddress loopback_any_port() { return SocketAddress::parse("127.0.0.1:0"); }

// Echoes until the peer ends its side, then ends ours.
template <class Stream>
Task<void> echo(Stream stream) {
  std::array<std::byte, 4096> buffer{};
  for (;;) {
    const std::size_t n = co_await stream.read_some(buffer);
    if (n == 0) break;
    co_await stream.write_all(std::span(buffer).first(n));
  }
  stream.shutdown_write();
}

template <class Listener>
Task<void> echo_one(Listener& listener) {
  co_await echo(co_await listener.accept());
}

template <class Stream>
Task<std::string> exchange(Stream& stream, const std::string& message) {
  co_await stream.write_all(bytes(message));
  std::string reply(message.size(), '\0');
  co_await stream.read_exact(std::as_writable_bytes(std::span(reply)));
  co_return reply;
}

TEST(Tcp, EchoRoundTrip) {
  auto body = []() -> Task<void> {
    auto listener = TcpListener::bind(loopback_any_port());
    const SocketAddress address = listener.local_address();
    EXPECT_TRUE(address.is_ipv4());
    EXPECT_NE(address.port(), 0);
    JoinHandle<void> server = weft::spawn(echo_one(listener));

    TcpStream client = co_await TcpStream::connect(address);
    EXPECT_EQ(client.peer_address(), address);
    EXPECT_EQ(client.local_address().port() != 0, true);
    // A message larger than a socket buffer exercises partial writes and reads.
    std::string big(1 << 20, 'x');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    EXPECT_EQ(co_await exchange(client, "hello"), "hello");
    // Write and read concurrently: neither side can buffer a whole megabyte.
    JoinHandle<void> writer = weft::spawn([](TcpStream& c, const std::string& b) -> Task<void> {
      co_await c.write_all(bytes(b));
    }(client, big));
    std::string reply(big.size(), '\0');
    co_await client.read_exact(std::as_writable_bytes(std::span(reply)));
    co_await writer;
    EXPECT_TRUE(reply == big);
    client.shutdown_write();
    std::array<std::byte, 16> rest{};
    EXPECT_EQ(co_await client.read_some(rest), 0u);  // the server ended its side too
    EXPECT_TRUE(co_await finished_within(server));
    co_await server;
  };
  run_bounded(body());
}

TEST(Unix, EchoRoundTrip) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("weft-unix-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "echo.sock").string();
  auto body = [](std::string socket_path) -> Task<void> {
    auto listener = UnixListener::bind(SocketAddress::unix_path(socket_path));
    EXPECT_TRUE(listener.local_address().is_unix());
    JoinHandle<void> server = weft::spawn(echo_one(listener));
    UnixStream client = co_await UnixStream::connect(SocketAddress::unix_path(socket_path));
    EXPECT_EQ(co_await exchange(client, "over a unix socket"), "over a unix socket");
    client.shutdown_write();
    std::array<std::byte, 16> rest{};
    EXPECT_EQ(co_await client.read_some(rest), 0u);
    EXPECT_TRUE(co_await finished_within(server));
    co_await server;
  };
  run_bounded(body(path));
  std::filesystem::remove_all(dir);
}

TEST(Unix, ConnectToMissingPathFailsClearly) {
  auto body = []() -> Task<void> {
    try {
      (void)co_await UnixStream::connect(SocketAddress::unix_path("/nonexistent/weft.sock"));
      ADD_FAILURE() << "connect succeeded";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), ENOENT);
      EXPECT_NE(std::string(e.what()).find("/nonexistent/weft.sock"), std::string::npos);
    }
  };
  run_bounded(body());
}

// Many clients at once over two loops: tasks are stolen between loops, and a stream's I/O
// works from whichever loop runs the task (its fd stays registered with its home loop).
TEST(Tcp, ManyConcurrentConnectionsAcrossTwoLoops) {
  constexpr int kClients = 200;
  constexpr int kRoundTrips = 10;
  auto body = []() -> Task<int> {
    auto listener = TcpListener::bind(loopback_any_port());
    const SocketAddress address = listener.local_address();
    JoinHandle<void> acceptor =
        weft::spawn(weft::with_task_group([&listener](weft::TaskGroup& group) -> Task<void> {
          for (;;) group.spawn(echo(co_await listener.accept()));
        }));

    std::atomic<int> good{0};
    std::vector<JoinHandle<void>> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(weft::spawn([](SocketAddress a, int id,
                                       std::atomic<int>& ok) -> Task<void> {
        TcpStream stream = co_await TcpStream::connect(a);
        for (int r = 0; r < kRoundTrips; ++r) {
          const std::string message = "client " + std::to_string(id) + " trip " + std::to_string(r);
          const std::string echoed = co_await exchange(stream, message);
          if (echoed != message) co_return;
          co_await weft::yield();  // give the other loop a chance to steal us
        }
        ok.fetch_add(1, std::memory_order_relaxed);
      }(address, i, good)));
    }
    for (auto& c : clients) {
      EXPECT_TRUE(co_await finished_within(c));
      if (c.done()) co_await c;
    }
    acceptor.cancel();
    EXPECT_TRUE(co_await finished_within(acceptor));
    co_return good.load(std::memory_order_relaxed);
  };
  EXPECT_EQ(run_bounded(body(), weft::test::options(2)), kClients);
}

using weft::test::move_off_thread;
using weft::test::thread_id;

// A stream connected on one loop and used by a task that runs on the other: its waits are
// woken by the home loop's reactor, its syscalls run on the other loop's thread.
TEST(Tcp, StreamWorksFromATaskOnAnotherLoop) {
  auto body = []() -> Task<void> {
    auto listener = TcpListener::bind(loopback_any_port());
    JoinHandle<void> server = weft::spawn(echo_one(listener));
    TcpStream client = co_await TcpStream::connect(listener.local_address());
    const long home = thread_id();
    JoinHandle<long> user = weft::spawn([](TcpStream& c, long avoid) -> Task<long> {
      EXPECT_TRUE(co_await move_off_thread(avoid));
      const long here = thread_id();
      for (int i = 0; i < 20; ++i) {
        const std::string message = "trip " + std::to_string(i);
        EXPECT_EQ(co_await exchange(c, message), message);
      }
      co_return here;
    }(client, home));
    EXPECT_TRUE(co_await finished_within(user));
    EXPECT_NE(co_await user, home);
    client.shutdown_write();
    EXPECT_TRUE(co_await finished_within(server));
    co_await server;
  };
  run_bounded(body(), weft::test::options(2));
}

TEST(Tcp, ReadExactAtEarlyEndOfStreamThrows) {
  auto body = []() -> Task<void> {
    auto listener = TcpListener::bind(loopback_any_port());
    JoinHandle<void> server = weft::spawn([](TcpListener& l) -> Task<void> {
      TcpStream s = co_await l.accept();
      co_await s.write_all(bytes("abc"));
      s.close();
    }(listener));
    TcpStream client = co_await TcpStream::connect(listener.local_address());
    std::array<std::byte, 10> buffer{};
    try {
      co_await client.read_exact(buffer);
      ADD_FAILURE() << "read_exact returned at end of stream";
    } catch (const IncompleteReadError& e) {
      EXPECT_EQ(e.received(), 3u);
      EXPECT_EQ(e.expected(), 10u);
      EXPECT_EQ(text(std::span(buffer).first(3)), "abc");
    }
    EXPECT_TRUE(co_await finished_within(server));
    co_await server;
  };
  run_bounded(body());
}

TEST(Tcp, ConnectRefusedIsQuickAndClear) {
  auto body = []() -> Task<void> {
    SocketAddress address;
    {
      auto listener = TcpListener::bind(loopback_any_port());
      address = listener.local_address();
    }  // closed: nobody listens on the port now
    const auto start = std::chrono::steady_clock::now();
    try {
      (void)co_await TcpStream::connect(address);
      ADD_FAILURE() << "connect to a closed port succeeded";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code(), std::error_code(ECONNREFUSED, std::system_category()));
      EXPECT_NE(std::string(e.what()).find(address.to_string()), std::string::npos) << e.what();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  };
  run_bounded(body());
}

// A listener whose accept queue is full makes Linux drop further SYNs (tcp_conn_request:
// "acceptq full -> drop"), so a connect to it hangs in SYN_SENT: an offline black hole.
// wait_for must end such a connect with TimeoutError, on time, and close its socket.
TEST(Tcp, ConnectWithATimeoutTimesOut) {
  auto body = []() -> Task<void> {
    auto listener = TcpListener::bind(loopback_any_port(), TcpListenerOptions{.backlog = 0});
    const SocketAddress address = listener.local_address();
    std::vector<TcpStream> queued;  // fill the accept queue; nobody accepts
    const std::size_t fds_before = open_fd_count();
    bool timed_out = false;
    for (int i = 0; i < 16 && !timed_out; ++i) {
      const auto start = std::chrono::steady_clock::now();
      try {
        queued.push_back(co_await TcpStream::connect(address, 300ms));
      } catch (const weft::TimeoutError&) {
        timed_out = true;
        const auto took = std::chrono::steady_clock::now() - start;
        EXPECT_GE(took, 300ms);
        EXPECT_LT(took, 2s);
      }
    }
    EXPECT_TRUE(timed_out) << "the accept queue never filled: " << queued.size() << " connects";
    // The timed-out connect's socket is closed; only the queued ones remain.
    EXPECT_EQ(open_fd_count(), fds_before + queued.size());
  };
  run_bounded(body());
}

TEST(Tcp, WritingToAClosedPeerIsAnErrorNotSigpipe) {
  auto body = []() -> Task<int> {
    auto listener = TcpListener::bind(loopback_any_port());
    JoinHandle<void> server = weft::spawn([](TcpListener& l) -> Task<void> {
      TcpStream s = co_await l.accept();
      s.close();
    }(listener));
    TcpStream client = co_await TcpStream::connect(listener.local_address());
    EXPECT_TRUE(co_await finished_within(server));
    co_await server;
    std::array<std::byte, 16> probe{};
    EXPECT_EQ(co_await client.read_some(probe), 0u);  // the close has arrived
    const std::string chunk(64 * 1024, 'z');
    // The first write may still be accepted (the kernel learns of the close from the RST it
    // provokes); a later one must fail.
    for (int i = 0; i < 100; ++i) {
      try {
        co_await client.write_all(bytes(chunk));
      } catch (const std::system_error& e) {
        co_return e.code().value();
      }
      co_await weft::sleep(1ms);
    }
    co_return 0;
  };
  const int err = run_bounded(body());
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << "errno " << err;
}

TEST(Tcp, ReusePortLetsTwoListenersShareAPort) {
  auto body = []() -> Task<void> {
    const TcpListenerOptions shared{.reuse_port = true};
    auto first = TcpListener::bind(loopback_any_port(), shared);
    const SocketAddress address = first.local_address();
    auto second = TcpListener::bind(address, shared);
    EXPECT_EQ(second.local_address(), address);
    // Without SO_REUSEPORT the port is taken.
    try {
      (void)TcpListener::bind(address);
      ADD_FAILURE() << "a third bind without reuse_port succeeded";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EADDRINUSE);
    }
    // Connections reach the listeners; each accepted one is served.
    std::atomic<int> served{0};
    auto serve = [](TcpListener& l, std::atomic<int>& n) -> Task<void> {
      for (;;) {
        co_await echo(co_await l.accept());
        n.fetch_add(1, std::memory_order_relaxed);
      }
    };
    JoinHandle<void> a = weft::spawn(serve(first, served));
    JoinHandle<void> b = weft::spawn(serve(second, served));
    for (int i = 0; i < 8; ++i) {
      TcpStream c = co_await TcpStream::connect(address);
      EXPECT_EQ(co_await exchange(c, "x"), "x");
    }
    a.cancel();
    b.cancel();
    (void)co_await finished_within(a);
    (void)co_await finished_within(b);
    EXPECT_GE(served.load(std::memory_order_relaxed), 7);
  };
  run_bounded(body());
}

double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Accept when the process is out of fds: the listener backs off instead of spinning on a
// readable socket it cannot accept from, and accepts again once fds are freed.
//
// Client sockets are parked on fd numbers above the lowered limit (allocated before it is
// lowered; an existing fd stays usable above RLIMIT_NOFILE), so only accepted connections and
// some filler fds compete for the numbers below it.
TEST(Tcp, AcceptBacksOffUnderEmfileAndRecovers) {
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  if (original.rlim_cur < 512) GTEST_SKIP() << "RLIMIT_NOFILE too low to park client fds";
  const int park_base = static_cast<int>(std::min<rlim_t>(original.rlim_cur - 200, 4000));

  weft::RuntimeOptions o = weft::test::options(2);
  o.stall_threshold = 0ms;
  weft::Runtime rt(o);

  struct Shared {
    std::optional<TcpListener> listener;
    std::vector<TcpStream> accepted;
    std::atomic<int> accepted_count{0};
    std::atomic<std::uint64_t> backoffs{0};
  } shared;
  auto make_listener = [](Shared& s) -> Task<SocketAddress> {
    s.listener.emplace(TcpListener::bind(loopback_any_port(), TcpListenerOptions{.backlog = 512}));
    co_return s.listener->local_address();
  };
  const SocketAddress address = rt.block_on(make_listener(shared));
  JoinHandle<void> server = rt.spawn([](Shared& s) -> Task<void> {
    for (;;) {
      // Published after each accept so the test thread can watch for the back-off.
      s.accepted.push_back(co_await s.listener->accept());
      s.accepted_count.store(static_cast<int>(s.accepted.size()), std::memory_order_release);
      s.backoffs.store(s.listener->stats().resource_backoffs, std::memory_order_release);
    }
  }(shared));

  // Fillers occupy low fd numbers; closing them later frees room for accept.
  constexpr int kFillers = 8;
  std::vector<int> fillers;
  for (int i = 0; i < kFillers; ++i) fillers.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int highest_low_fd = 0;
  std::size_t used_low = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(entry.path().filename().string());
    if (fd < park_base) {
      highest_low_fd = std::max(highest_low_fd, fd);
      ++used_low;
    }
  }
  const int limit = std::max(64, highest_low_fd + 9);
  const int free_below_limit = limit - static_cast<int>(used_low);  // at least the holes + 8
  const int clients_wanted = free_below_limit + kFillers + 16;
  ASSERT_LT(park_base + clients_wanted + 8, static_cast<int>(original.rlim_cur));
  std::vector<int> clients;
  for (int i = 0; i < clients_wanted; ++i) {
    const int raw = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(raw, 0);
    const int parked = ::fcntl(raw, F_DUPFD_CLOEXEC, park_base);
    ::close(raw);
    ASSERT_GE(parked, park_base);
    clients.push_back(parked);
  }

  rlimit lowered = original;
  lowered.rlim_cur = static_cast<rlim_t>(limit);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  for (int fd : clients) {
    // Blocking connects to loopback complete once the kernel queued them (backlog 512).
    EXPECT_EQ(::connect(fd, address.native(), address.native_size()), 0) << std::strerror(errno);
  }
  // The server fills every free number below the limit, then hits EMFILE.
  EXPECT_TRUE(weft::test::wait_until([&] {
    return shared.accepted_count.load(std::memory_order_acquire) >= free_below_limit - 2;
  }));
  std::this_thread::sleep_for(50ms);  // into the back-off
  const int accepted_at_limit = shared.accepted_count.load(std::memory_order_acquire);
  EXPECT_LT(accepted_at_limit, clients_wanted);

  const double cpu_before = process_cpu_seconds();
  std::this_thread::sleep_for(300ms);
  const double cpu_spent = process_cpu_seconds() - cpu_before;
  EXPECT_LT(cpu_spent, 0.1) << "accept spins under EMFILE";
  EXPECT_EQ(shared.accepted_count.load(std::memory_order_acquire), accepted_at_limit);

  // Free the fillers: the listener resumes within its back-off (at most 1 s).
  const auto freed_at = std::chrono::steady_clock::now();
  for (int fd : fillers) ::close(fd);
  EXPECT_TRUE(weft::test::wait_until(
      [&] {
        return shared.accepted_count.load(std::memory_order_acquire) >=
               accepted_at_limit + kFillers;
      },
      5s))
      << "accepted " << shared.accepted_count.load() << " after freeing fds";
  EXPECT_LT(std::chrono::steady_clock::now() - freed_at, 2s);
  const std::uint64_t backoffs = shared.backoffs.load(std::memory_order_acquire);
  EXPECT_GE(backoffs, 1u);
  // ~350 ms of back-off at 5, 10, 20, ... ms is a handful of retries, not thousands.
  EXPECT_LT(backoffs, 30u);

  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &original), 0);
  server.cancel();
  EXPECT_TRUE(weft::test::wait_until([&] { return server.done(); }));
  for (int fd : clients) ::close(fd);
  rt.block_on([](Shared& s) -> Task<void> {
    s.accepted.clear();
    s.listener.reset();
    co_return;
  }(shared));
}

}  // namespace

// Data and the FIN in one edge: the server's first read is short (3 of 4096 bytes), which
// forgets the readiness without an EAGAIN read; the end of stream must still be seen, since
// no later edge will report it.
// try_write takes what the send buffer holds and never waits: against a peer that does not
// read it fills up and then takes nothing; write_all finishes the rest once the peer reads,
// and every byte arrives once, in order.
TEST(Tcp, TryWriteTakesWhatFitsAndWriteAllFinishesTheRest) {
  auto body = []() -> Task<void> {
    auto listener = TcpListener::bind(loopback_any_port());
    TcpStream client = co_await TcpStream::connect(listener.local_address());
    TcpStream server = co_await listener.accept();
    std::string data(16 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 23);
    const std::size_t first = client.try_write(bytes(data));
    EXPECT_GT(first, 0u);
    EXPECT_LT(first, data.size()) << "16 MiB fit the loopback buffers: nothing was tested";
    std::size_t sent = first;
    while (sent < data.size()) {  // fill whatever the first send left room for
      const std::size_t n = client.try_write(rest_of(data, sent));
      if (n == 0) break;
      sent += n;
    }
    EXPECT_LT(sent, data.size());
    JoinHandle<std::string> reader = weft::spawn([](TcpStream& s) -> Task<std::string> {
      std::string got;
      std::array<std::byte, 64 * 1024> buffer{};
      for (;;) {
        const std::size_t n = co_await s.read_some(buffer);
        if (n == 0) co_return got;
        got.append(reinterpret_cast<const char*>(buffer.data()), n);
      }
    }(server));
    co_await client.write_all(rest_of(data, sent));
    client.shutdown_write();
    const std::string got = co_await reader;
    EXPECT_EQ(got.size(), data.size());
    EXPECT_TRUE(got == data) << "bytes lost, repeated or reordered";
  };
  run_bounded(body());
}

TEST(Tcp, TryWriteToAClosedPeerIsAnErrorNotSigpipe) {
  auto body = []() -> Task<int> {
    auto listener = TcpListener::bind(loopback_any_port());
    TcpStream client = co_await TcpStream::connect(listener.local_address());
    {
      TcpStream server = co_await listener.accept();
      server.close();
    }
    std::array<std::byte, 16> probe{};
    EXPECT_EQ(co_await client.read_some(probe), 0u);  // the close has arrived
    const std::string chunk(64 * 1024, 'z');
    for (int i = 0; i < 100; ++i) {
      try {
        (void)client.try_write(bytes(chunk));
      } catch (const std::system_error& e) {
        co_return e.code().value();
      }
      co_await weft::sleep(1ms);
    }
    co_return 0;
  };
  const int err = run_bounded(body());
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << "errno " << err;
}

TEST(Tcp, DataAndEndOfStreamInOneEdgeAreBothRead) {
  auto body = []() -> Task<void> {
    auto listener = TcpListener::bind(loopback_any_port());
    TcpStream client = co_await TcpStream::connect(listener.local_address());
    co_await client.write_all(bytes("abc"));
    client.shutdown_write();
    // Accepted only now: the registration reports data and FIN together.
    TcpStream server = co_await listener.accept();
    std::array<std::byte, 4096> buffer{};
    EXPECT_EQ(co_await server.read_some(buffer), 3u);
    EXPECT_EQ(co_await server.read_some(buffer), 0u);
    EXPECT_EQ(co_await server.read_some(buffer), 0u);  // and stays at end of stream
  };
  run_bounded(body());
}

// Short reads that forget readiness must not lose data that arrives afterwards: a thousand
// small messages, each read with a large buffer, each answered before the next is sent.
TEST(Tcp, ShortReadsNeverMissTheNextMessage) {
  auto body = []() -> Task<void> {
    auto listener = TcpListener::bind(loopback_any_port());
    JoinHandle<void> server = weft::spawn(echo_one(listener));
    TcpStream client = co_await TcpStream::connect(listener.local_address());
    for (int i = 0; i < 1000; ++i) {
      const std::string message = "message " + std::to_string(i);
      EXPECT_EQ(co_await exchange(client, message), message);
    }
    client.shutdown_write();
    std::array<std::byte, 16> rest{};
    EXPECT_EQ(co_await client.read_some(rest), 0u);
    co_await server;
  };
  run_bounded(body());
}

// With listener_loop placement, a listener registered with loop 1 hands out connections
// registered with loop 1, whichever loop the accepting task runs on.
TEST(Tcp, AcceptedConnectionsLiveOnTheListenersLoop) {
  auto body = []() -> Task<void> {
    EXPECT_EQ(weft::loop_count(), 2u);
    for (unsigned home = 0; home < 2; ++home) {
      auto listener = TcpListener::bind(
          loopback_any_port(),
          {.home_loop = home, .placement = weft::io::ConnectionPlacement::listener_loop});
      EXPECT_EQ(listener.home_loop(), home);
      TcpStream client = co_await TcpStream::connect(listener.local_address());
      TcpStream accepted = co_await listener.accept();
      EXPECT_EQ(accepted.home_loop(), home);
      JoinHandle<void> server = weft::spawn(echo(std::move(accepted)));
      EXPECT_EQ(co_await exchange(client, "x"), "x");
      client.shutdown_write();
      co_await server;
    }
  };
  weft::RuntimeOptions options = weft::test::options();
  options.loops = 2;
  run_bounded(body(), options);
}

// weft::http::Server under load it must survive (docs/reliability.md, Network and HTTP):
//
// - EMFILE: the test process runs with RLIMIT_NOFILE 256 and a Python child opens 300
//   connections. The server serves what it could accept, does not spin while out of fds (its
//   listeners back off), and once the client closes the served connections every one of the
//   300 is served (none refused: the rest waited in the accept queue); a new request is served
//   promptly afterwards.
// - 10,000 connections (WEFT_STRESS_SCALE) whose client tasks are cut at random points — by
//   weft::wait_for with random short timeouts or JoinHandle::cancel after random yields/sleeps —
//   while connecting, writing a request (some left half-sent), or reading its response; some
//   handlers are slow. Afterwards no connection is open, the stats add up, the server still
//   answers, and after shutdown the process holds exactly the fds it held before. Seeded.

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <time.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <regex>
#include <span>
#include <string>
#include <thread>
#include <vector>
#include <weft/http/response_parser.hpp>
#include <weft/http/server.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/wait_for.hpp>

#include "fd_test_support.hpp"
#include "http_server_test_support.hpp"
#include "subprocess.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::http::ServerRequest;
using weft::http::ServerResponse;
using weft::io::SocketAddress;
using weft::io::TcpStream;
using weft::test::find_executable;
using weft::test::open_fd_count;
using weft::test::Subprocess;
using weft::test::http::Clock;
using weft::test::http::fetch;
using weft::test::http::get_request;
using weft::test::http::TestServer;

double process_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

Task<ServerResponse> hello(ServerRequest&) { co_return ServerResponse::text(200, "hello\n"); }

// ---------------------------------------------------------------------------------------------
// EMFILE

// 300 connections, one request each. Served connections are held open (so the server stays
// out of fds) until SIGUSR1; then each is closed once its response is complete. Prints
// "connected N", "served N" as it changes, "held N" at SIGUSR1, "final served S refused R".
constexpr const char* kEmfileClient = R"PY(
import resource, selectors, signal, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))  # the parent's is 256
port, n = int(sys.argv[1]), int(sys.argv[2])
go = False
def on_usr1(*_):
    global go
    go = True
signal.signal(signal.SIGUSR1, on_usr1)
request = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
expected = b"hello\n"
sel = selectors.DefaultSelector()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, bytearray())
print("connected", n, flush=True)
served = refused = 0
held = []
held_reported = False
deadline = time.time() + 60
while (len(sel.get_map()) > 0 or held) and time.time() < deadline:
    if go and not held_reported:
        print("held", len(held), flush=True)
        held_reported = True
        for s in held:
            s.close()
        held = []
    for key, _ in sel.select(timeout=0.05):
        s, buf = key.fileobj, key.data
        try:
            data = s.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except ConnectionError:
            data = b""
        if data:
            buf += data
            if buf.startswith(b"HTTP/1.1 200") and buf.endswith(b"\r\n\r\n" + expected):
                served += 1
                print("served", served, flush=True)
                sel.unregister(s)
                if go:
                    s.close()
                else:
                    held.append(s)
            continue
        refused += 1
        print("refused", refused, repr(bytes(buf[:80])), flush=True)
        sel.unregister(s)
        s.close()
print("final served", served, "refused", refused, flush=True)
)PY";

// The last "served N" the client printed.
int last_served(const std::string& out) {
  const auto at = out.rfind("served ");
  if (at == std::string::npos || (at > 0 && out[at - 1] != '\n')) return 0;
  return std::atoi(out.c_str() + at + 7);
}

TEST(HttpServerStress, EmfileDoesNotSpinAndRecovers) {
  const auto python = find_executable("python3");
  ASSERT_TRUE(python) << "python3 is not installed (Debian package python3; scripts/deps)";
  constexpr int kClients = 300;
  constexpr rlim_t kLimit = 256;
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);

  TestServer server;
  server.server().route("GET", "/hello", [](ServerRequest& r) { return hello(r); });
  server.start();
  ASSERT_LT(open_fd_count(), 64u) << "too many fds open to leave room below " << kLimit;

  rlimit lowered = original;
  lowered.rlim_cur = kLimit;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  struct Restore {
    rlimit limit;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
  } restore{original};

  Subprocess client({*python, "-c", kEmfileClient, std::to_string(server.address().port()),
                     std::to_string(kClients)});
  ASSERT_TRUE(client.result().started) << client.result().start_error;

  // The server accepts until it is out of fds, and serves what it accepted.
  ASSERT_TRUE(weft::test::wait_until(
      [&] { return client.poll_output().out.find("connected") != std::string::npos; }, 30s))
      << client.poll_output().describe();
  std::uint64_t accepted = 0;
  ASSERT_TRUE(weft::test::wait_until(
      [&] {
        accepted = server.stats().connections_accepted;
        return accepted > 0 && last_served(client.poll_output().out) == static_cast<int>(accepted);
      },
      20s))
      << "accepted " << accepted << ", the client saw " << last_served(client.poll_output().out)
      << " responses";
  // Settled: nothing more is accepted while the held connections keep the fds.
  std::this_thread::sleep_for(200ms);
  accepted = server.stats().connections_accepted;
  EXPECT_LT(accepted, static_cast<std::uint64_t>(kClients)) << "the fd limit was never reached";
  EXPECT_GT(accepted, 100u);
  EXPECT_EQ(server.stats().connections_open, accepted);

  // Out of fds with connections waiting: the listeners back off instead of spinning.
  const double cpu_before = process_cpu_seconds();
  std::this_thread::sleep_for(500ms);
  const double cpu = process_cpu_seconds() - cpu_before;
  EXPECT_LT(cpu, 0.2) << "the server spins while out of fds (CPU seconds in 0.5 s)";
  EXPECT_EQ(server.stats().connections_accepted, accepted);
  std::printf("out of fds after %llu accepts; %.3f CPU seconds in 0.5 s\n",
              static_cast<unsigned long long>(accepted), cpu);

  // The client closes what was served; the waiting connections are accepted and served.
  const auto released = Clock::now();
  ASSERT_EQ(::kill(client.pid(), SIGUSR1), 0);
  const auto& result = client.wait(60s);
  ASSERT_TRUE(result.ok()) << result.describe();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(result.out, m, std::regex(R"(final served (\d+) refused (\d+))")))
      << result.out;
  EXPECT_EQ(std::stoi(m[1].str()), kClients)
      << result.out.substr(result.out.size() > 2000 ? result.out.size() - 2000 : 0);
  EXPECT_EQ(std::stoi(m[2].str()), 0);
  EXPECT_LT(Clock::now() - released, 20s);

  // Recovered: a new client is served at once, still under the low limit.
  ASSERT_TRUE(weft::test::wait_until([&] { return server.stats().connections_open == 0; }, 5s));
  const auto before = Clock::now();
  const auto r = fetch(server.address(), get_request("/hello"), "GET", 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(Clock::now() - before, 1500ms);
  const auto stats = server.stats();
  EXPECT_EQ(stats.connections_accepted, static_cast<std::uint64_t>(kClients) + 1);
  EXPECT_EQ(stats.requests, static_cast<std::uint64_t>(kClients) + 1);
}

// ---------------------------------------------------------------------------------------------
// 10,000 connections cut at random points

Task<ServerResponse> slow(ServerRequest& r) {
  const int ms = std::atoi(std::string(r.param("ms")).c_str());
  co_await weft::sleep(std::chrono::milliseconds(ms));
  co_return ServerResponse::text(200, "slept");
}

Task<ServerResponse> echo(ServerRequest& r) {
  co_return ServerResponse::text(200, std::string(r.body()));
}

Task<ServerResponse> streamed(ServerRequest&) {
  co_return ServerResponse::stream(200, [n = 0]() mutable -> Task<std::optional<std::string>> {
    if (n == 20) co_return std::nullopt;
    co_await weft::sleep(std::chrono::microseconds(200));
    co_return std::string(1000, static_cast<char>('a' + n++));
  });
}

struct Tally {
  std::atomic<long> attempted{0};
  std::atomic<long> completed{0};  // a full, correct response
  std::atomic<long> wrong{0};      // a complete response that was not the expected one
  std::atomic<long> cut{0};        // timed out or cancelled
  std::atomic<long> errors{0};     // connection errors (resets)
};

using weft::test::bytes;

// One connection: a request of kind `kind` and its response; true when the response was the
// expected one. Kind 4 sends half a body and waits: only a timeout or a cancel ends it. The
// caller counts the outcome, which only the join knows for sure: a cancel that lands before
// the exchange's last suspension cuts it, one that lands later leaves its result.
Task<bool> exchange(SocketAddress address, int kind, int param) {
  TcpStream stream = co_await TcpStream::connect(address);
  std::string request;
  std::string method = "GET";
  std::size_t expected_body = 0;
  switch (kind) {
    case 0:
      request = get_request("/hello");
      expected_body = 6;
      break;
    case 1:
      request = get_request("/slow/" + std::to_string(param));
      expected_body = 5;
      break;
    case 2:
      request =
          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n" + std::string(3000, 'e');
      expected_body = 3000;
      break;
    case 3:
      request = get_request("/stream");
      expected_body = 20'000;
      break;
    default:
      request =
          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3000\r\n\r\n" + std::string(1000, 'e');
      expected_body = 3000;
      break;
  }
  co_await stream.write_all(bytes(request));
  weft::http::ResponseParser parser;
  parser.start(method);
  std::array<std::byte, 8192> buffer{};
  weft::http::ParseStatus st = weft::http::ParseStatus::need_more;
  while (st == weft::http::ParseStatus::need_more) {
    const std::size_t n = co_await stream.read_some(buffer);
    st = n == 0 ? parser.finish() : parser.feed(buffer.data(), n);
  }
  const bool expected = st == weft::http::ParseStatus::complete &&
                        parser.response().status == 200 &&
                        parser.response().body.size() == expected_body;
  co_return expected;
}

// One client: the exchange, cut (or not) the way `how` says.
Task<void> client(SocketAddress address, std::uint64_t seed, Tally& tally) {
  std::mt19937_64 rng(seed);
  const int how = static_cast<int>(rng() % 4);
  int kind = static_cast<int>(rng() % 5);
  if (how == 3 && kind == 4) kind = 0;  // uncut clients must be able to finish
  const int param = static_cast<int>(rng() % 5);
  tally.attempted.fetch_add(1);
  try {
    bool ok = false;
    switch (how) {
      case 0:  // a deadline somewhere between connect and the end of the response
        ok = co_await weft::wait_for(exchange(address, kind, param),
                                     std::chrono::microseconds(rng() % 4000));
        break;
      case 1: {  // cancelled after a random number of yields
        JoinHandle<bool> h = weft::spawn(exchange(address, kind, param));
        for (int i = static_cast<int>(rng() % 40); i > 0; --i) co_await weft::yield();
        h.cancel();
        ok = co_await h;
        break;
      }
      case 2: {  // cancelled after a random short sleep
        JoinHandle<bool> h = weft::spawn(exchange(address, kind, param));
        co_await weft::sleep(std::chrono::microseconds(rng() % 3000));
        h.cancel();
        ok = co_await h;
        break;
      }
      default:  // left to finish (bounded, so a hang fails instead of blocking the batch)
        ok = co_await weft::wait_for(exchange(address, kind, param), 5s);
        break;
    }
    (ok ? tally.completed : tally.wrong).fetch_add(1);
  } catch (const weft::TimeoutError&) {
    tally.cut.fetch_add(1);
  } catch (const weft::CancelledError&) {
    tally.cut.fetch_add(1);
  } catch (const std::system_error&) {
    tally.errors.fetch_add(1);
  }
}

Task<void> run_clients(SocketAddress address, std::size_t total, std::size_t batch, Tally& tally) {
  std::mt19937_64 seeds(20240601);
  for (std::size_t done = 0; done < total;) {
    std::vector<JoinHandle<void>> clients;
    for (std::size_t i = 0; i < batch && done < total; ++i, ++done)
      clients.push_back(weft::spawn(client(address, seeds(), tally)));
    for (auto& c : clients) {
      EXPECT_TRUE(co_await weft::test::finished_within(c, 20s));
      if (c.done()) co_await c;
    }
  }
}

TEST(HttpServerStress, TenThousandConnectionsCutAtRandomPointsLeakNothing) {
  const std::size_t total = weft::test::scaled(10'000, 500);
  const std::size_t fds_before = open_fd_count();
  Tally tally;
  {
    TestServer server;
    auto& s = server.server();
    s.route("GET", "/hello", [](ServerRequest& r) { return hello(r); });
    s.route("GET", "/slow/{ms}", [](ServerRequest& r) { return slow(r); });
    s.route("POST", "/echo", [](ServerRequest& r) { return echo(r); });
    s.route("GET", "/stream", [](ServerRequest& r) { return streamed(r); });
    server.start();
    {
      weft::Runtime clients(weft::test::options(2));
      const std::size_t fds_serving = open_fd_count();
      clients.block_on(run_clients(server.address(), total, 200, tally));
      // Every client socket is closed; the server notices each end and closes its side.
      EXPECT_TRUE(weft::test::wait_until([&] { return server.stats().connections_open == 0; }, 20s))
          << server.stats().connections_open << " connections still open";
      EXPECT_TRUE(weft::test::wait_until([&] { return open_fd_count() == fds_serving; }, 5s))
          << open_fd_count() << " fds open, " << fds_serving << " before the clients";
    }
    const auto stats = server.stats();
    EXPECT_EQ(tally.attempted.load(), static_cast<long>(total));
    EXPECT_EQ(tally.completed + tally.wrong + tally.cut + tally.errors, static_cast<long>(total));
    EXPECT_EQ(tally.wrong.load(), 0) << "a complete response with the wrong status or body";
    EXPECT_GT(tally.completed.load(), static_cast<long>(total / 8));
    EXPECT_GT(tally.cut.load(), static_cast<long>(total / 4));
    EXPECT_LE(stats.connections_accepted, total);
    EXPECT_GE(stats.connections_accepted, static_cast<std::uint64_t>(tally.completed.load()));
    EXPECT_GE(stats.requests, static_cast<std::uint64_t>(tally.completed.load()));
    EXPECT_EQ(stats.handler_errors, 0u) << "a client going away is not a handler error";
    EXPECT_EQ(stats.connections_open, 0u);
    std::printf(
        "connections %zu: completed %ld, cut %ld, errors %ld; server accepted %llu, "
        "requests %llu, refused %llu, timeouts %llu\n",
        total, tally.completed.load(), tally.cut.load(), tally.errors.load(),
        static_cast<unsigned long long>(stats.connections_accepted),
        static_cast<unsigned long long>(stats.requests),
        static_cast<unsigned long long>(stats.refused),
        static_cast<unsigned long long>(stats.timeouts));
    // Still serving.
    const auto r = fetch(server.address(), get_request("/hello"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    server.stop(5s);
  }
  EXPECT_EQ(open_fd_count(), fds_before);
}

}  // namespace

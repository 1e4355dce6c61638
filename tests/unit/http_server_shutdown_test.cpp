// weft::http::Server's graceful shutdown over loopback: 1,000 requests in flight are all
// answered while idle keep-alive connections close at once and new connections are refused, a
// handler that never finishes is cut at the grace period, and an idle server stops at once.

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <system_error>
#include <vector>
#include <weft/event.hpp>
#include <weft/http/server.hpp>

#include "http_server_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::http::ServerRequest;
using weft::http::ServerResponse;
using weft::test::http::add_routes;
using weft::test::http::body_of;
using weft::test::http::Clock;
using weft::test::http::fetch;
using weft::test::http::get_request;
using weft::test::http::RawClient;
using weft::test::http::ReadEnd;
using weft::test::http::Served;
using weft::test::http::TestServer;

// ---------------------------------------------------------------------------------------------
// Graceful shutdown

void raise_fd_limit(rlim_t wanted) {
  rlimit l{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &l), 0);
  if (l.rlim_cur >= wanted) return;
  l.rlim_cur = std::min(wanted, l.rlim_max);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &l), 0);
  ASSERT_GE(l.rlim_cur, wanted) << "RLIMIT_NOFILE hard limit too low";
}

Task<ServerResponse> held(std::atomic<int>& entered, weft::Event& gate) {
  entered.fetch_add(1);
  co_await gate.wait();
  co_return ServerResponse::text(200, "released");
}

// A connect after the server stopped accepting: refused, or (if a listener's queue took it)
// closed without an answer. False if it got a response or stayed open.
bool refused(const weft::io::SocketAddress& address) {
  try {
    RawClient c = RawClient::connect(address, 2s);
    (void)c.send(get_request("/hello"));
    const auto r = c.read_until_close(2s);
    return r.end != ReadEnd::timeout && r.bytes.empty();
  } catch (const std::system_error& e) {
    return e.code().value() == ECONNREFUSED;
  }
}

TEST(HttpServerShutdown, RequestsInFlightAreAllAnswered) {
  const std::size_t kInFlight = 1000;
  const std::size_t kIdle = 5;
  raise_fd_limit(4 * kInFlight + 256);
  std::atomic<int> entered{0};
  weft::Event gate;
  TestServer s;
  s.server().route("GET", "/held",
                   [&entered, &gate](ServerRequest&) { return held(entered, gate); });
  add_routes(s.server());
  s.start();

  std::vector<RawClient> idle;
  for (std::size_t i = 0; i < kIdle; ++i) {
    idle.push_back(RawClient::connect(s.address()));
    ASSERT_TRUE(idle.back().send(get_request("/hello")));
    ASSERT_TRUE(idle.back().read_response());
  }
  std::vector<RawClient> busy;
  busy.reserve(kInFlight);
  for (std::size_t i = 0; i < kInFlight; ++i) {
    busy.push_back(RawClient::connect(s.address()));
    ASSERT_TRUE(busy.back().send(get_request("/held")));
  }
  ASSERT_TRUE(
      weft::test::wait_until([&] { return entered.load() == static_cast<int>(kInFlight); }, 30s))
      << entered.load() << " of " << kInFlight << " handlers started";
  EXPECT_EQ(s.stats().connections_open, kInFlight + kIdle);

  const auto stop_started = Clock::now();
  s.begin_stop(5s);
  // Idle keep-alive connections close at once, long before the grace period.
  for (RawClient& c : idle) {
    std::size_t extra = 0;
    EXPECT_TRUE(c.wait_closed(1s, &extra)) << "an idle connection outlived shutdown's start";
    EXPECT_EQ(extra, 0u);
  }
  EXPECT_LT(Clock::now() - stop_started, 1500ms);
  // No new connection is taken while the old ones finish.
  EXPECT_TRUE(refused(s.address()));
  EXPECT_FALSE(s.shutdown_returned()) << "shutdown returned with requests in flight";

  gate.set();
  std::size_t answered = 0;
  for (std::size_t i = 0; i < kInFlight; ++i) {
    const auto r = busy[i].read_response("GET", 10s);
    if (!r) {
      ADD_FAILURE() << "request " << i << ": " << to_string(busy[i].last_end());
      continue;
    }
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "released");
    EXPECT_TRUE(r->connection_close()) << "request " << i << ": " << r->describe();
    answered += r->status == 200 ? 1 : 0;
    EXPECT_TRUE(busy[i].wait_closed(2s)) << "request " << i;
  }
  EXPECT_EQ(answered, kInFlight);
  EXPECT_TRUE(s.wait_stopped(10s)) << "shutdown or serve did not return";
  EXPECT_TRUE(s.serve_returned());
  EXPECT_LT(Clock::now() - stop_started, 5s) << "shutdown waited for the grace period";
  EXPECT_EQ(s.stats().connections_open, 0u);
  EXPECT_TRUE(refused(s.address()));
}

TEST(HttpServerShutdown, HandlerThatNeverFinishesIsCutAtTheGrace) {
  std::atomic<int> entered{0};
  weft::Event never;  // never set
  TestServer s;
  s.server().route("GET", "/forever",
                   [&entered, &never](ServerRequest&) { return held(entered, never); });
  s.start();
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/forever")));
  ASSERT_TRUE(weft::test::wait_until([&] { return entered.load() == 1; }));
  const auto start = Clock::now();
  s.begin_stop(500ms);
  ASSERT_TRUE(s.wait_stopped(10s)) << "shutdown did not return after its grace period";
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 3s);
  const auto rest = c.read_until_close(2s);
  EXPECT_NE(rest.end, ReadEnd::timeout) << "the cut connection stayed open";
  EXPECT_EQ(rest.bytes.find("released"), std::string::npos);
}

TEST(HttpServerShutdown, IdleServerStopsAtOnceAndRefusesAfterwards) {
  Served s;
  EXPECT_EQ(body_of(fetch(s.address(), get_request("/hello"))), "hello\n");
  const auto start = Clock::now();
  s.server.stop(10s);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_TRUE(refused(s.address()));
  // A second shutdown is harmless.
  s.server.runtime().block_on(s.server.server().shutdown(1s));
}

}  // namespace

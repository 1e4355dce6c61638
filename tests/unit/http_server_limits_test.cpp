// What bounds a connection that costs the server more than it gives: one that never sends a
// byte (cut at the header timeout, not held for the keep-alive timeout), one more than
// ServerOptions::max_connections (accepted and closed at once, counted, and the slot reused
// once a connection ends), and a body dripped a byte at a time (each byte within the idle
// timeout, the whole cut at body_timeout; the deadline is per request).
//
// Timing: every option under test is short (hundreds of ms) and every other timeout long
// (a minute), so a connection that the rule under test did not close stays open far past the
// generous bound each test waits. The one margin: BodyTimeoutIsPerRequest needs each of its
// 660 ms bodies to reach the server within the 3 s body_timeout.

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <weft/http/server.hpp>

#include "http_server_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::http::ServerOptions;
using weft::test::http::body_of;
using weft::test::http::fetch;
using weft::test::http::get_request;
using weft::test::http::Ms;
using weft::test::http::RawClient;
using weft::test::http::ReadEnd;
using weft::test::http::Served;

// Far below every long timeout of these tests (a minute), far above the short ones.
constexpr Ms kBound = 10s;

// Timeouts not under test: long enough that none of them can close a connection in kBound.
ServerOptions long_timeouts() {
  ServerOptions o;
  o.header_timeout = 60s;
  o.body_idle_timeout = 60s;
  o.send_idle_timeout = 60s;
  o.keep_alive_timeout = 60s;
  o.timer_granularity = 20ms;
  return o;
}

// The server closed `c` (FIN or RST) within `bound` without sending anything.
::testing::AssertionResult closed_silently(RawClient& c, Ms bound) {
  const RawClient::UntilClose r = c.read_until_close(bound);
  if (r.end == ReadEnd::timeout)
    return ::testing::AssertionFailure() << "still open after " << bound.count() << " ms";
  if (!r.bytes.empty())
    return ::testing::AssertionFailure() << "the server sent " << r.bytes.size() << " bytes";
  return ::testing::AssertionSuccess();
}

// Sends `bytes` one at a time, `gap` apart, until the server closes the connection (true) or
// every byte went out and it is still open (false). Nothing is read after the last byte: that
// is the response's to read.
bool dripped_until_closed(RawClient& c, std::string_view bytes, Ms gap) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (!c.send(bytes.substr(i, 1), 1s)) return true;  // EPIPE or reset: closed
    if (i + 1 == bytes.size()) break;
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(gap.count())) == 1) return c.wait_closed(kBound);
  }
  return false;
}

std::string post_head(std::size_t content_length) {
  return "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(content_length) +
         "\r\n\r\n";
}

// ---------------------------------------------------------------------------------------------
// A connection that sends nothing

// Before its first request a connection is not idle keep-alive: it has served nothing, so the
// header timeout applies from the accept.
TEST(HttpServerLimits, SilentConnectionIsCutAtTheHeaderTimeout) {
  ServerOptions o = long_timeouts();
  o.header_timeout = 200ms;
  Served s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  // Closed long before the 60 s keep-alive timeout could have done it.
  EXPECT_TRUE(closed_silently(c, kBound));
  EXPECT_EQ(s.server.stats().timeouts, 1u);
  EXPECT_EQ(s.server.stats().requests, 0u);
  // The server goes on serving.
  EXPECT_EQ(body_of(fetch(s.address(), get_request("/hello"))), "hello\n");
}

// A connection that sent nothing yet counts as idle for a graceful shutdown: it is closed at
// once, not waited for until the grace period ends.
TEST(HttpServerLimits, SilentConnectionIsClosedAtOnceByShutdown) {
  Served s(long_timeouts());
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(weft::test::wait_until([&] { return s.server.stats().connections_open == 1; }));
  s.server.begin_stop(60s);
  EXPECT_TRUE(closed_silently(c, kBound));
  EXPECT_TRUE(s.server.wait_stopped(kBound)) << "shutdown waited for a silent connection";
  EXPECT_EQ(s.server.stats().timeouts, 0u);
}

// ---------------------------------------------------------------------------------------------
// max_connections

TEST(HttpServerLimits, ConnectionOverTheCapIsClosedAtOnceAndItsSlotReused) {
  ServerOptions o = long_timeouts();
  o.max_connections = 2;
  Served s(std::move(o));
  RawClient first = RawClient::connect(s.address());
  RawClient second = RawClient::connect(s.address());
  for (RawClient* c : {&first, &second}) {
    ASSERT_TRUE(c->send(get_request("/hello")));
    ASSERT_EQ(body_of(c->read_response()), "hello\n");
  }
  ASSERT_EQ(s.server.stats().connections_open, 2u);

  // The kernel completes the handshake; the server closes without reading or answering.
  RawClient over = RawClient::connect(s.address());
  EXPECT_TRUE(closed_silently(over, kBound));
  EXPECT_EQ(s.server.stats().connections_over_limit, 1u);
  EXPECT_EQ(s.server.stats().connections_accepted, 2u);
  EXPECT_EQ(s.server.stats().timeouts, 0u);
  // The two served connections are untouched.
  ASSERT_TRUE(second.send(get_request("/p/2")));
  EXPECT_EQ(body_of(second.read_response()), "p=2");

  // Once one ends, its slot takes a new connection.
  first.close();
  ASSERT_TRUE(weft::test::wait_until([&] { return s.server.stats().connections_open == 1; }));
  EXPECT_EQ(body_of(fetch(s.address(), get_request("/hello"))), "hello\n");
  EXPECT_EQ(s.server.stats().connections_over_limit, 1u);
}

// ---------------------------------------------------------------------------------------------
// body_timeout

// Every byte comes well within body_idle_timeout, which therefore never fires; the whole body
// is still bounded.
TEST(HttpServerLimits, BodyDrippedWithinTheIdleTimeoutIsCutAtTheBodyTimeout) {
  ServerOptions o = long_timeouts();
  o.body_timeout = 500ms;
  Served s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(post_head(1000)));
  // 200 bytes 50 ms apart: 10 s of dripping at most, far past body_timeout.
  EXPECT_TRUE(dripped_until_closed(c, std::string(200, 'x'), 50ms))
      << "the dripped body held the connection";
  EXPECT_EQ(s.server.stats().timeouts, 1u);
  EXPECT_EQ(s.server.stats().requests, 0u);
}

// The body deadline starts with each request's body: a keep-alive connection whose bodies
// together take longer than body_timeout, each of them well within it, is served throughout.
TEST(HttpServerLimits, BodyTimeoutIsPerRequest) {
  ServerOptions o = long_timeouts();
  o.body_timeout = 3000ms;
  Served s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  const std::string body = "0123456789ab";
  // 660 ms per body (12 bytes, 60 ms apart), 4 s in all: a deadline kept from the first body
  // would cut the fifth one, while each body has 2.3 s to spare on a slow (sanitizer) run.
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(c.send(post_head(body.size())));
    ASSERT_FALSE(dripped_until_closed(c, body, 60ms)) << "request " << i << " was cut";
    ASSERT_EQ(body_of(c.read_response("POST")), body) << "request " << i;
  }
  EXPECT_EQ(s.server.stats().timeouts, 0u);
}

}  // namespace

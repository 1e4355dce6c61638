// Protocol edge cases of weft::http::Server over loopback: no body for 204/304/HEAD (streams,
// 404s and 405s too), the absolute-form target, 100-continue corners (over the body limit, a
// body that looks like a request, HTTP/1.0), HTTP/1.0 keep-alive, requests pipelined after
// Connection: close and 1,000 pipelined at once, a GET's body, timeouts around a working
// handler, a reader that stopped or a slow second request, a stream source that throws,
// shutdown with a half-sent request, and listening on a taken address.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <weft/http/server.hpp>

#include "http_server_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::http::ServerOptions;
using weft::http::ServerRequest;
using weft::http::ServerResponse;
using weft::test::http::add_routes;
using weft::test::http::body_of;
using weft::test::http::Clock;
using weft::test::http::fetch;
using weft::test::http::get_request;
using weft::test::http::RawClient;
using weft::test::http::RawResponse;
using weft::test::http::ReadEnd;
using weft::test::http::TestServer;

// ---------------------------------------------------------------------------------------------
// Edge cases of the protocol

Task<ServerResponse> no_content_with_body(ServerRequest& r) {
  const int status = std::atoi(std::string(r.param("status")).c_str());
  co_return ServerResponse::text(status, "must not be sent");
}

Task<ServerResponse> sleeps(ServerRequest& r) {
  co_await weft::sleep(std::chrono::milliseconds(std::atoi(std::string(r.param("ms")).c_str())));
  co_return ServerResponse::text(200, "slept");
}

Task<ServerResponse> endless(ServerRequest&) {
  co_return ServerResponse::stream(
      200, []() -> Task<std::optional<std::string>> { co_return std::string(64 * 1024, 'z'); });
}

Task<ServerResponse> stream_throws(ServerRequest&) {
  co_return ServerResponse::stream(200, [n = 0]() mutable -> Task<std::optional<std::string>> {
    if (n++ == 1) throw std::runtime_error("source failed on purpose");
    co_return std::string("first\n");
  });
}

void add_edge_routes(weft::http::Server& s) {
  s.route("GET", "/status/{status}", [](ServerRequest& r) { return no_content_with_body(r); });
  s.route("GET", "/sleep/{ms}", [](ServerRequest& r) { return sleeps(r); });
  s.route("GET", "/endless", [](ServerRequest& r) { return endless(r); });
  s.route("GET", "/stream-throws", [](ServerRequest& r) { return stream_throws(r); });
}

struct EdgeServed {
  explicit EdgeServed(ServerOptions options = {}) : server(std::move(options)) {
    add_routes(server.server());
    add_edge_routes(server.server());
    server.start();
  }
  TestServer server;
  [[nodiscard]] const weft::io::SocketAddress& address() const { return server.address(); }
};

// 204 and 304 have no body (RFC 9110 15.3.5, 15.4.5): a body the handler set must not reach
// the wire, or the next response on the connection starts with its bytes.
TEST(HttpServerEdge, NoBodyFor204And304) {
  EdgeServed s;
  for (std::string_view status : {"204", "304"}) {
    RawClient c = RawClient::connect(s.address());
    ASSERT_TRUE(c.send(get_request("/status/" + std::string(status)) + get_request("/hello")));
    const auto r = c.read_response();
    ASSERT_TRUE(r) << status;
    EXPECT_EQ(r->status, std::atoi(std::string(status).c_str()));
    EXPECT_FALSE(r->header("Content-Length") && status == "204")
        << "204 with Content-Length: " << r->describe();
    const auto next = c.read_response();
    ASSERT_TRUE(next) << status << ": the body leaked into the next response ("
                      << to_string(c.last_end()) << " " << c.parse_error() << ")";
    EXPECT_EQ(next->body, "hello\n") << status;
  }
}

TEST(HttpServerEdge, HeadOfAStreamSendsNoBody) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/stream", {}, "HEAD") + get_request("/hello")));
  const auto head = c.read_response("HEAD");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  const auto next = c.read_response();
  ASSERT_TRUE(next) << "chunks after a HEAD response: " << to_string(c.last_end()) << " "
                    << c.parse_error();
  EXPECT_EQ(next->body, "hello\n");
}

// RFC 9112 3.2.2: a server MUST accept the absolute-form.
TEST(HttpServerEdge, AbsoluteFormTargetIsRouted) {
  EdgeServed s;
  const auto r = fetch(s.address(), "GET http://test/users/5?x=1 HTTP/1.1\r\nHost: test\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->describe();
  EXPECT_EQ(r->body, "user 5");
}

TEST(HttpServerEdge, ExpectContinueOverTheBodyLimitGets413Not100) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n"
             "Expect: 100-continue\r\n\r\n"));
  const auto all = c.read_until_close(5s);
  EXPECT_EQ(all.bytes.find("100 Continue"), std::string::npos) << all.bytes;
  const auto parsed = weft::test::http::parse_responses(all.bytes, {"POST"});
  ASSERT_EQ(parsed.responses.size(), 1u) << all.bytes;
  EXPECT_EQ(parsed.responses[0].status, 413);
}

TEST(HttpServerEdge, Http10KeepAliveIsHonored) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->keep_alive) << r->describe();
  ASSERT_TRUE(c.send("GET /p/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  EXPECT_EQ(body_of(c.read_response()), "p=2");
}

TEST(HttpServerEdge, PipelinedRequestAfterConnectionCloseIsNotServed) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/p/1", "Connection: close\r\n") + get_request("/p/2")));
  const auto all = c.read_until_close(5s);
  EXPECT_NE(all.end, ReadEnd::timeout);
  const auto parsed = weft::test::http::parse_responses(all.bytes);
  ASSERT_EQ(parsed.responses.size(), 1u) << all.bytes;
  EXPECT_EQ(parsed.responses[0].body, "p=1");
}

// A thousand pipelined requests in one burst (more than a socket buffer of responses): the
// server applies back-pressure instead of buffering without bound, and answers all in order.
TEST(HttpServerEdge, ThousandPipelinedRequests) {
  EdgeServed s;
  std::string all;
  for (int i = 0; i < 1000; ++i) all += get_request("/p/" + std::to_string(i));
  RawClient c = RawClient::connect(s.address());
  std::thread writer([&] { EXPECT_TRUE(c.send(all, 20s)); });
  int in_order = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto r = c.read_response("GET", 20s);
    if (!r) {
      ADD_FAILURE() << "response " << i << ": " << to_string(c.last_end());
      break;
    }
    in_order += r->body == "p=" + std::to_string(i) ? 1 : 0;
  }
  writer.join();
  EXPECT_EQ(in_order, 1000);
}

// Timeouts that guard idle connections do not cut a request whose handler is working.
TEST(HttpServerEdge, TimeoutsDoNotCutARunningHandler) {
  ServerOptions o;
  o.keep_alive_timeout = 200ms;
  o.header_timeout = 200ms;
  o.body_idle_timeout = 200ms;
  o.timer_granularity = 10ms;
  EdgeServed s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/sleep/600")));
  const auto r = c.read_response("GET", 5s);
  ASSERT_TRUE(r) << to_string(c.last_end());
  EXPECT_EQ(r->body, "slept");
}

// A client that stops reading a large response is cut at send_idle_timeout.
TEST(HttpServerEdge, ReaderThatStopsReadingIsCutAtTheSendTimeout) {
  ServerOptions o;
  o.send_idle_timeout = 300ms;
  o.timer_granularity = 20ms;
  EdgeServed s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  int small = 4096;
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_TRUE(c.send(get_request("/endless")));
  ASSERT_TRUE(weft::test::wait_until([&] { return s.server.stats().connections_accepted == 1; }));
  // The server's connection count drops once it gives up on the writer.
  const auto start = Clock::now();
  EXPECT_TRUE(weft::test::wait_until([&] { return s.server.stats().connections_open == 0; }, 5s))
      << "a client that never reads holds the connection";
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_GE(s.server.stats().timeouts, 1u);
}

// A streamed body whose source throws after the head went out: the connection is cut (the
// client sees a truncated chunked body, never a 500 glued onto it), and the server goes on.
TEST(HttpServerEdge, StreamSourceThatThrowsCutsTheConnection) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/stream-throws")));
  const auto all = c.read_until_close(5s);
  EXPECT_NE(all.end, ReadEnd::timeout) << "the connection stayed open";
  EXPECT_EQ(all.bytes.find("HTTP/1.1 500"), std::string::npos) << all.bytes;
  EXPECT_EQ(all.bytes.find("0\r\n\r\n"), std::string::npos) << "the body was ended as if complete";
  EXPECT_EQ(body_of(fetch(s.address(), get_request("/hello"))), "hello\n");
}

// A connection in the middle of its header section when shutdown starts does not hold
// shutdown past its grace.
TEST(HttpServerEdge, ShutdownWithAHalfSentRequest) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: t\r\n"));
  ASSERT_TRUE(weft::test::wait_until([&] { return s.server.stats().connections_open == 1; }));
  const auto start = Clock::now();
  s.server.begin_stop(1s);
  ASSERT_TRUE(s.server.wait_stopped(10s));
  EXPECT_LT(Clock::now() - start, 2500ms);
  EXPECT_TRUE(c.wait_closed(2s));
}

// listen() on an address another server holds: std::system_error (server.hpp), not a second
// server silently sharing the port through SO_REUSEPORT.
TEST(HttpServerEdge, ListenOnATakenAddressThrows) {
  EdgeServed s;
  TestServer other;
  EXPECT_THROW(
      other.runtime().block_on([](weft::http::Server& o, weft::io::SocketAddress a) -> Task<void> {
        (void)o.listen(a);
        co_return;
      }(other.server(), s.address())),
      std::system_error);
}

TEST(HttpServerEdge, StreamToHttp10KeepAliveStillCloses) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  const auto r = c.read_response("GET", 5s);
  ASSERT_TRUE(r) << to_string(c.last_end());
  EXPECT_EQ(r->body, "part 0\npart 2\npart 3\n");
  EXPECT_FALSE(r->keep_alive) << r->describe();
}

TEST(HttpServerEdge, HeadOf404And405SendsNoBody) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/nope", {}, "HEAD") + get_request("/echo", {}, "HEAD") +
                     get_request("/hello")));
  const auto a = c.read_response("HEAD");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, 404);
  const auto b = c.read_response("HEAD");
  ASSERT_TRUE(b) << to_string(c.last_end()) << " " << c.parse_error();
  EXPECT_EQ(b->status, 405);
  const auto next = c.read_response();
  ASSERT_TRUE(next) << to_string(c.last_end()) << " " << c.parse_error();
  EXPECT_EQ(next->body, "hello\n");
}

TEST(HttpServerEdge, BodyOfAGetIsConsumed) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(
      c.send("GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 21\r\n\r\n"
             "GET /p/9 HTTP/1.1\r\n\r\n" +
             get_request("/p/1")));
  EXPECT_EQ(body_of(c.read_response()), "hello\n");
  EXPECT_EQ(body_of(c.read_response()), "p=1");
}

// Expect: 100-continue on a request that will be a 404: whether the server answers at once
// or asks for the body first, the body must never be parsed as a request of its own.
TEST(HttpServerEdge, ExpectContinueBodyIsNeverARequest) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  const std::string body = "GET /p/666 HTTP/1.1\r\nHost: t\r\n\r\n";  // looks like a request
  ASSERT_TRUE(c.send("POST /nope HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n"));
  const auto head = c.read_until("\r\n\r\n", 5s);
  ASSERT_TRUE(head) << to_string(c.last_end());
  std::optional<RawResponse> first;
  if (head->rfind("HTTP/1.1 100 ", 0) == 0) {
    ASSERT_TRUE(c.send(body + get_request("/p/1")));
    first = c.read_response("POST", 5s);
  } else {
    // Answered at once: the head is the final response's. Parse it with what follows.
    first = weft::test::http::parse_responses(*head + c.read_for(100ms), {"POST"}).responses.at(0);
    if (first->connection_close()) {
      EXPECT_TRUE(c.wait_closed(2s));
      return;  // closing instead of reading the body is correct too
    }
    ASSERT_TRUE(c.send(body + get_request("/p/1")));
  }
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 404);
  const auto next = c.read_response("GET", 5s);
  ASSERT_TRUE(next) << to_string(c.last_end());
  EXPECT_EQ(next->body, "p=1") << "the body was served as a request";
}

// RFC 9110 10.1.1: no 100 Continue to an HTTP/1.0 client.
TEST(HttpServerEdge, NoContinueForHttp10) {
  EdgeServed s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  const std::string early = c.read_for(200ms);
  EXPECT_EQ(early.find("100 Continue"), std::string::npos) << early;
  ASSERT_TRUE(c.send("hello"));
  const auto all = c.read_until_close(5s);
  const auto parsed = weft::test::http::parse_responses(early + all.bytes, {"POST"});
  ASSERT_GE(parsed.responses.size(), 1u) << early << all.bytes;
  EXPECT_EQ(parsed.responses.back().body, "hello");
}

TEST(HttpServerEdge, KeepAliveRequestsOfOneClosesAtOnce) {
  ServerOptions o;
  o.keep_alive_requests = 1;
  EdgeServed s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/hello")));
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->connection_close()) << r->describe();
  EXPECT_TRUE(c.wait_closed(2s));
}

// The header timeout applies to every request of a keep-alive connection, not only the first.
TEST(HttpServerEdge, SlowSecondRequestIsCutToo) {
  ServerOptions o;
  o.header_timeout = 300ms;
  o.timer_granularity = 20ms;
  EdgeServed s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/hello")));
  ASSERT_TRUE(c.read_response());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHo"));
  const auto start = Clock::now();
  // One byte every 100 ms, until the server closes (at most 3 s).
  bool closed = false;
  for (int i = 0; i < 30 && !closed; ++i) {
    if (!c.send("s")) {
      closed = true;
      break;
    }
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, 100) == 1) closed = c.wait_closed(2s);
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - start, 2s);
}

}  // namespace

// weft::http::Server over loopback, seen from a raw client that controls every byte: routing
// (literal > {param} > *, 404, 405 with Allow, HEAD through GET), keep-alive, pipelining,
// request bodies (Content-Length, chunked with trailers, Expect: 100-continue), streamed
// responses (chunked to 1.1, close-delimited to 1.0), handler errors and header injection,
// Connection: close and keep_alive_requests, configured limits, and the header / body /
// keep-alive timeouts. Static files, graceful shutdown and protocol edge cases have files of
// their own (http_server_{static,shutdown,edge}_test.cpp).

#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <weft/http/server.hpp>

#include "http_server_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::http::ServerOptions;
using weft::http::ServerRequest;
using weft::test::http::body_of;
using weft::test::http::Clock;
using weft::test::http::fetch;
using weft::test::http::get_request;
using weft::test::http::Ms;
using weft::test::http::RawClient;
using weft::test::http::ReadEnd;
using weft::test::http::Served;
using weft::test::http::status_of;

// ---------------------------------------------------------------------------------------------
// Routing

TEST(HttpServer, RoutesExactParamAndPrefix) {
  Served s;
  auto get = [&](std::string_view target) { return fetch(s.address(), get_request(target)); };
  EXPECT_EQ(body_of(get("/hello")), "hello\n");
  EXPECT_EQ(body_of(get("/users/42")), "user 42");
  EXPECT_EQ(body_of(get("/users/42/posts/7?sort=new")), "42/7?sort=new");
  EXPECT_EQ(body_of(get("/files/a/b/c.css")), "rest=a/b/c.css");
  EXPECT_EQ(body_of(get("/files/")), "rest=");
  // Parameters are raw: an encoded slash stays inside one segment.
  EXPECT_EQ(body_of(get("/users/a%2Fb")), "user a%2Fb");
  // A query does not take part in matching.
  EXPECT_EQ(body_of(get("/hello?x=1")), "hello\n");
}

TEST(HttpServer, LiteralSegmentBeatsParameter) {
  Served s;
  EXPECT_EQ(body_of(fetch(s.address(), get_request("/users/me"))), "me");
  EXPECT_EQ(body_of(fetch(s.address(), get_request("/users/mex"))), "user mex");
}

TEST(HttpServer, UnknownPathIs404) {
  Served s;
  EXPECT_EQ(status_of(fetch(s.address(), get_request("/nope"))), 404);
  EXPECT_EQ(status_of(fetch(s.address(), get_request("/users"))), 404);          // {id} not empty
  EXPECT_EQ(status_of(fetch(s.address(), get_request("/users/1/extra"))), 404);  // too long
  EXPECT_EQ(status_of(fetch(s.address(), get_request("/hello/"))), 404);
}

TEST(HttpServer, WrongMethodIs405WithAllow) {
  Served s;
  const auto r = fetch(s.address(), get_request("/hello", {}, "DELETE"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  const std::string allow = r->header("Allow").value_or("<none>");
  EXPECT_NE(allow.find("GET"), std::string::npos) << allow;
  EXPECT_NE(allow.find("POST"), std::string::npos) << allow;
  EXPECT_NE(allow.find("HEAD"), std::string::npos) << allow;  // HEAD is served through GET
  EXPECT_EQ(allow.find("DELETE"), std::string::npos) << allow;
  // A 405 keeps the connection usable: the request was well-formed.
}

TEST(HttpServer, HeadUsesGetHandlerAndSendsNoBody) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/hello", {}, "HEAD")));
  const auto head = c.read_response("HEAD");
  ASSERT_TRUE(head) << to_string(c.last_end());
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length").value_or("<none>"), "6");
  EXPECT_TRUE(head->body.empty());
  // Had a body followed the head, it would be parsed as the next response's status line.
  ASSERT_TRUE(c.send(get_request("/hello")));
  EXPECT_EQ(body_of(c.read_response("GET")), "hello\n");
  EXPECT_EQ(c.read_for(50ms), "");
}

// ---------------------------------------------------------------------------------------------
// Keep-alive and pipelining

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.send(get_request("/p/" + std::to_string(i))));
    const auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i << ": " << to_string(c.last_end());
    EXPECT_EQ(r->body, "p=" + std::to_string(i));
    EXPECT_FALSE(r->connection_close());
  }
  const auto stats = s.server.stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.connections_open, 1u);
  EXPECT_EQ(stats.requests, 5u);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  Served s;
  std::string all;
  std::vector<std::string> expected;
  for (int i = 0; i < 10; ++i) {
    if (i == 5) {  // a body in the middle: its framing must not eat the next request
      all += "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\n\r\nmiddle!";
      expected.push_back("middle!");
      continue;
    }
    all += get_request("/p/" + std::to_string(i));
    expected.push_back("p=" + std::to_string(i));
  }
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(all));  // one write
  for (int i = 0; i < 10; ++i) {
    const auto r = c.read_response();
    ASSERT_TRUE(r) << "response " << i << ": " << to_string(c.last_end());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, expected[static_cast<std::size_t>(i)]) << "response " << i;
  }
  EXPECT_EQ(c.read_for(50ms), "");
  EXPECT_EQ(s.server.stats().connections_accepted, 1u);
}

// ---------------------------------------------------------------------------------------------
// Request bodies

TEST(HttpServer, ContentLengthBodyIsEchoed) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"));
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->header("X-Was-Chunked").value_or(""), "no");
  // A body larger than a socket buffer, on the same connection.
  std::string big(300 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                     std::to_string(big.size()) + "\r\n\r\n" + big));
  const auto r2 = c.read_response();
  ASSERT_TRUE(r2) << to_string(c.last_end());
  EXPECT_TRUE(r2->body == big) << r2->body.size();
}

TEST(HttpServer, ChunkedBodyWithTrailersIsDecoded) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(
      c.send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"));
  const auto r = c.read_response();
  ASSERT_TRUE(r) << to_string(c.last_end());
  EXPECT_EQ(r->body, "hello world");
  EXPECT_EQ(r->header("X-Was-Chunked").value_or(""), "yes");
  EXPECT_EQ(r->header("X-Got-Trailer").value_or("<none>"), "yes");
  // The connection goes on after a chunked body.
  ASSERT_TRUE(c.send(get_request("/hello")));
  EXPECT_EQ(body_of(c.read_response()), "hello\n");
}

TEST(HttpServer, ExpectContinueGets100BeforeTheBodyIsSent) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  // The body is held back until the server asks for it.
  const auto interim = c.read_until("\r\n\r\n", 5s);
  ASSERT_TRUE(interim) << "no 100 Continue: " << to_string(c.last_end());
  EXPECT_EQ(interim->rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << *interim;
  ASSERT_TRUE(c.send("hello"));
  const auto r = c.read_response();
  ASSERT_TRUE(r) << to_string(c.last_end());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
}

// ---------------------------------------------------------------------------------------------
// Streamed responses

TEST(HttpServer, StreamIsChunkedToHttp11) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/stream")));
  const auto r = c.read_response();
  ASSERT_TRUE(r) << to_string(c.last_end()) << " " << c.parse_error();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->chunked);
  EXPECT_FALSE(r->header("Content-Length"));
  EXPECT_EQ(r->body, "part 0\npart 2\npart 3\n");
  // Keep-alive after a chunked response.
  ASSERT_TRUE(c.send(get_request("/hello")));
  EXPECT_EQ(body_of(c.read_response()), "hello\n");
}

TEST(HttpServer, StreamIsCloseDelimitedToHttp10) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send("GET /stream HTTP/1.0\r\n\r\n"));
  const auto r = c.read_response();
  ASSERT_TRUE(r) << to_string(c.last_end()) << " " << c.parse_error();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->chunked);
  EXPECT_FALSE(r->header("Transfer-Encoding")) << r->describe();
  EXPECT_FALSE(r->keep_alive);
  EXPECT_EQ(r->body, "part 0\npart 2\npart 3\n");
}

// ---------------------------------------------------------------------------------------------
// Handler errors

TEST(HttpServer, ThrowingHandlerGets500AndTheServerGoesOn) {
  std::atomic<int> reported{0};
  ServerOptions o;
  o.on_handler_error = [&reported](const ServerRequest& r, std::exception_ptr e) {
    if (r.path() == "/throw" && e) reported.fetch_add(1);
  };
  Served s(std::move(o));
  const auto r = fetch(s.address(), get_request("/throw"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("on purpose"), std::string::npos) << "the exception text leaked";
  EXPECT_EQ(body_of(fetch(s.address(), get_request("/hello"))), "hello\n");
  EXPECT_EQ(s.server.stats().handler_errors, 1u);
  EXPECT_EQ(reported.load(), 1);
}

TEST(HttpServer, HeaderWithCrLfIsA500NotASplitResponse) {
  Served s;
  for (std::string_view target : {"/inject", "/inject?name"}) {
    RawClient c = RawClient::connect(s.address());
    ASSERT_TRUE(c.send(get_request(target, "Connection: close\r\n")));
    const auto all = c.read_until_close(3s);
    EXPECT_NE(all.end, ReadEnd::timeout) << target;
    // Whatever else happens, no injected field reaches the wire.
    EXPECT_EQ(all.bytes.find("Set-Cookie"), std::string::npos) << all.bytes;
    EXPECT_EQ(all.bytes.find("pwned"), std::string::npos) << all.bytes;
    const auto parsed = weft::test::http::parse_responses(all.bytes);
    ASSERT_EQ(parsed.responses.size(), 1u) << target << ": " << all.bytes;
    EXPECT_EQ(parsed.responses[0].status, 500) << target;
  }
  EXPECT_EQ(s.server.stats().handler_errors, 2u);
}

TEST(HttpServer, HandlerFramingFieldsAreReplaced) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/framing")));
  const auto r = c.read_response();
  ASSERT_TRUE(r) << to_string(c.last_end()) << " " << c.parse_error();
  EXPECT_EQ(r->body, "framed by the server");
  EXPECT_EQ(r->header_count("Content-Length"), 1u) << r->describe();
  EXPECT_EQ(r->header("Content-Length").value_or(""), "20");
  EXPECT_EQ(r->header_count("Transfer-Encoding"), 0u) << r->describe();
  EXPECT_EQ(r->header("X-Kept").value_or(""), "yes");
  EXPECT_FALSE(r->connection_close()) << r->describe();
  ASSERT_TRUE(c.send(get_request("/hello")));
  EXPECT_EQ(body_of(c.read_response()), "hello\n");
}

// ---------------------------------------------------------------------------------------------
// Closing

TEST(HttpServer, ConnectionCloseIsHonored) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/hello", "Connection: close\r\n")));
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello\n");
  EXPECT_TRUE(r->connection_close()) << r->describe();
  std::size_t extra = 0;
  EXPECT_TRUE(c.wait_closed(2s, &extra));
  EXPECT_EQ(extra, 0u);
}

TEST(HttpServer, Http10WithoutKeepAliveCloses) {
  Served s;
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send("GET /hello HTTP/1.0\r\n\r\n"));
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello\n");
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST(HttpServer, KeepAliveRequestsLimitClosesAfterTheLast) {
  ServerOptions o;
  o.keep_alive_requests = 3;
  Served s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c.send(get_request("/hello")));
    const auto r = c.read_response();
    ASSERT_TRUE(r) << "request " << i;
    EXPECT_EQ(r->connection_close(), i == 3) << "request " << i << ": " << r->describe();
  }
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_EQ(s.server.stats().connections_accepted, 1u);
}

// ---------------------------------------------------------------------------------------------
// Limits from the options

struct LimitCase {
  const char* name;
  std::string request;
  int status;
};

TEST(HttpServer, ConfiguredLimitsAreRefusedAndTheServerGoesOn) {
  ServerOptions o;
  o.limits.max_request_line = 64;
  o.limits.max_header_fields = 5;
  o.limits.max_header_section = 512;
  o.limits.max_body = 16;
  Served s(std::move(o));
  std::string many_fields = "GET /hello HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 10; ++i) many_fields += "X-F" + std::to_string(i) + ": v\r\n";
  const std::vector<LimitCase> cases = {
      {"long request line", get_request("/" + std::string(100, 'a')), 414},
      {"many header fields", many_fields + "\r\n", 431},
      {"large header section", get_request("/hello", "X-Big: " + std::string(600, 'b') + "\r\n"),
       431},
      {"content-length over max_body",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\n01234567890123456", 413},
      {"chunked over max_body",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n"
       "0123456789abcdef\r\n1\r\nx\r\n0\r\n\r\n",
       413},
  };
  for (const LimitCase& k : cases) {
    RawClient c = RawClient::connect(s.address());
    ASSERT_TRUE(c.send(k.request)) << k.name;
    const auto all = c.read_until_close(5s);
    EXPECT_TRUE(all.end == ReadEnd::closed || all.end == ReadEnd::reset)
        << k.name << ": " << to_string(all.end);
    const auto parsed = weft::test::http::parse_responses(all.bytes);
    ASSERT_EQ(parsed.responses.size(), 1u) << k.name << ": " << all.bytes;
    EXPECT_EQ(parsed.responses[0].status, k.status) << k.name;
    EXPECT_TRUE(parsed.responses[0].connection_close()) << k.name;
    EXPECT_EQ(body_of(fetch(s.address(), get_request("/hello"))), "hello\n") << "after " << k.name;
  }
  // At the limits: accepted.
  const auto at = fetch(
      s.address(), "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\n\r\n0123456789abcdef");
  EXPECT_EQ(body_of(at), "0123456789abcdef");
  EXPECT_EQ(s.server.stats().refused, cases.size());
}

// ---------------------------------------------------------------------------------------------
// Timeouts

// When the peer closed: ReadEnd::closed/reset at the returned time, or std::nullopt within
// `bound`. Bytes that arrive meanwhile (a 408, say) are read and dropped.
std::optional<Clock::time_point> closed_at(RawClient& c, Ms bound) {
  const auto r = c.read_until_close(bound);
  if (r.end == ReadEnd::timeout) return std::nullopt;
  return Clock::now();
}

TEST(HttpServer, SlowlorisIsCutAtTheHeaderTimeoutWhileOthersAreServed) {
  ServerOptions o;
  o.header_timeout = 300ms;
  o.timer_granularity = 20ms;
  Served s(std::move(o));
  std::atomic<int> sent{0};
  std::atomic<bool> cut{false};
  Clock::duration held{};
  std::thread slow([&] {
    RawClient c = RawClient::connect(s.address());
    const std::string head = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    const auto first = Clock::now();
    for (int i = 0; i < 100; ++i) {  // 10 s at most
      const char byte = i < static_cast<int>(head.size()) ? head[static_cast<std::size_t>(i)] : 'a';
      if (!c.send(std::string_view(&byte, 1), 1s)) break;
      sent.fetch_add(1);
      // One byte every 100 ms; anything the server sends meanwhile ends it.
      pollfd p{c.fd(), POLLIN, 0};
      if (::poll(&p, 1, 100) == 1) {
        if (c.wait_closed(2s)) cut.store(true);
        break;
      }
    }
    held = Clock::now() - first;
  });
  ASSERT_TRUE(weft::test::wait_until([&] { return sent.load() >= 2; }));
  // Another client is served while the slow one dribbles.
  EXPECT_EQ(body_of(fetch(s.address(), get_request("/hello"))), "hello\n");
  EXPECT_EQ(body_of(fetch(s.address(), get_request("/p/1"))), "p=1");
  slow.join();
  EXPECT_TRUE(cut.load()) << "the slow client was never cut off";
  EXPECT_GE(held, 300ms);
  EXPECT_LT(held, 2s);
  EXPECT_GE(s.server.stats().timeouts, 1u);
}

TEST(HttpServer, StalledBodyIsCutAtTheBodyIdleTimeout) {
  ServerOptions o;
  o.body_idle_timeout = 300ms;
  o.timer_granularity = 20ms;
  Served s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n0123456789"));
  const auto start = Clock::now();
  const auto at = closed_at(c, 5s);
  ASSERT_TRUE(at) << "a stalled body held the connection";
  EXPECT_GE(*at - start, 280ms);
  EXPECT_LT(*at - start, 2s);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  ServerOptions o;
  o.keep_alive_timeout = 300ms;
  o.timer_granularity = 20ms;
  Served s(std::move(o));
  RawClient c = RawClient::connect(s.address());
  ASSERT_TRUE(c.send(get_request("/hello")));
  ASSERT_TRUE(c.read_response());
  const auto start = Clock::now();
  const auto at = closed_at(c, 5s);
  ASSERT_TRUE(at) << "an idle keep-alive connection stayed open";
  EXPECT_GE(*at - start, 280ms);
  EXPECT_LT(*at - start, 2s);
  // The count drops as the connection's task ends, just after the close.
  EXPECT_TRUE(weft::test::wait_until([&] { return s.server.stats().connections_open == 0; }, 2s));
  EXPECT_GE(s.server.stats().timeouts, 1u);
}

}  // namespace

// weft::http::Server over loopback, seen from a raw client that controls every byte: routing
// (literal > {param} > *, 404, 405 with Allow, HEAD through GET), keep-alive, pipelining,
// request bodies (Content-Length, chunked with trailers, Expect: 100-continue), streamed
// responses (chunked to 1.1, close-delimited to 1.0), handler errors and header injection,
// Connection: close and keep_alive_requests, configured limits, the header / body / keep-alive
// timeouts, static files (types, sizes, index, every path escape, HEAD, If-Modified-Since) and
// graceful shutdown (1,000 requests in flight, idle connections, a handler that never ends),
// and protocol edge cases (no body for 204/304/HEAD, 100-continue corners, 1,000 pipelined
// requests, timeouts around a working handler or a reader that stopped, FIFOs, a taken port).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <weft/event.hpp>
#include <weft/http/server.hpp>
#include <weft/wait_for.hpp>

#include "http_server_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using weft::Task;
using weft::http::Handler;
using weft::http::ServerOptions;
using weft::http::ServerRequest;
using weft::http::ServerResponse;
using weft::test::http::Clock;
using weft::test::http::fetch;
using weft::test::http::get_request;
using weft::test::http::Ms;
using weft::test::http::RawClient;
using weft::test::http::RawResponse;
using weft::test::http::ReadEnd;
using weft::test::http::TempDir;
using weft::test::http::TestServer;

// Handlers forward to coroutines that take what they need by value, so no coroutine frame
// points into a handler's closure.
Task<ServerResponse> reply(std::string body, int status = 200) {
  co_return ServerResponse::text(status, std::move(body));
}

// The body back, with what the request said about its framing.
Task<ServerResponse> echo(ServerRequest& request) {
  ServerResponse r =
      ServerResponse::text(200, std::string(request.body()), "application/octet-stream");
  if (auto t = request.request().trailers.find("X-Trailer")) r.header("X-Got-Trailer", *t);
  r.header("X-Was-Chunked", request.request().chunked ? "yes" : "no");
  co_return r;
}

Task<ServerResponse> throws(ServerRequest&) {
  throw std::runtime_error("handler failed on purpose");
  co_return ServerResponse(200);
}

Task<ServerResponse> injects(ServerRequest& request) {
  ServerResponse r = ServerResponse::text(200, "should not be sent");
  if (request.query() == "name")
    r.header("X-Evil\r\nSet-Cookie", "pwned=1");
  else
    r.header("X-Evil", "a\r\nSet-Cookie: pwned=1");
  co_return r;
}

// Framing fields a handler sets are the server's to decide: they must be dropped.
Task<ServerResponse> sets_framing(ServerRequest&) {
  ServerResponse r = ServerResponse::text(200, "framed by the server");
  r.header("Content-Length", "999");
  r.header("Transfer-Encoding", "chunked");
  r.header("Connection", "close");
  r.header("X-Kept", "yes");
  co_return r;
}

Task<ServerResponse> streamed(ServerRequest&) {
  co_return ServerResponse::stream(
      200,
      [n = 0]() mutable -> Task<std::optional<std::string>> {
        const int i = n++;
        if (i == 4) co_return std::nullopt;
        co_await weft::sleep(1ms);            // each part its own write
        if (i == 1) co_return std::string();  // skipped: an empty chunk would end the body
        co_return "part " + std::to_string(i) + "\n";
      },
      "text/plain");
}

void add_routes(weft::http::Server& s) {
  s.route("GET", "/hello", [](ServerRequest&) { return reply("hello\n"); });
  s.route("POST", "/hello", [](ServerRequest&) { return reply("posted\n"); });
  s.route("GET", "/users/{id}",
          [](ServerRequest& r) { return reply("user " + std::string(r.param("id"))); });
  s.route("GET", "/users/me", [](ServerRequest&) { return reply("me"); });
  s.route("GET", "/users/{id}/posts/{post}", [](ServerRequest& r) {
    return reply(std::string(r.param("id")) + "/" + std::string(r.param("post")) + "?" +
                 std::string(r.query()));
  });
  s.route("GET", "/files/*",
          [](ServerRequest& r) { return reply("rest=" + std::string(r.param("*"))); });
  s.route("GET", "/p/{n}",
          [](ServerRequest& r) { return reply("p=" + std::string(r.param("n"))); });
  s.route("POST", "/echo", [](ServerRequest& r) { return echo(r); });
  s.route("GET", "/throw", [](ServerRequest& r) { return throws(r); });
  s.route("GET", "/inject", [](ServerRequest& r) { return injects(r); });
  s.route("GET", "/framing", [](ServerRequest& r) { return sets_framing(r); });
  s.route("GET", "/stream", [](ServerRequest& r) { return streamed(r); });
}

// A server with add_routes() on 2 loops, started.
struct Served {
  explicit Served(ServerOptions options = {}) : server(std::move(options)) {
    add_routes(server.server());
    server.start();
  }
  TestServer server;
  [[nodiscard]] const weft::io::SocketAddress& address() const { return server.address(); }
};

std::string body_of(const std::optional<RawResponse>& r) { return r ? r->body : "<no response>"; }
int status_of(const std::optional<RawResponse>& r) { return r ? r->status : 0; }

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

// ---------------------------------------------------------------------------------------------
// Static files

struct StaticTree {
  TempDir dir{"srv-static"};
  std::filesystem::path root;
  std::string big;
  StaticTree() {
    root = dir.path() / "root";
    dir.write("root/index.html", "<h1>index</h1>");
    dir.write("root/style.css", "body{}");
    dir.write("root/app.js", "let a=1;");
    dir.write("root/img.png", std::string("\x89PNG\r\n\x1a\n", 8));
    dir.write("root/data.json", "{\"a\":1}");
    dir.write("root/readme.txt", "plain text");
    dir.write("root/blob.xyzzy", "unknown");
    dir.write("root/sub/index.html", "<p>sub</p>");
    std::mt19937 rng(12345);
    big.resize(1 << 20);
    for (char& ch : big) ch = static_cast<char>(rng());
    dir.write("root/big.bin", big);
    // Outside the root: reachable only by escaping it.
    dir.write("secret.txt", "TOP-SECRET-CONTENT");
    std::filesystem::create_symlink(dir.path() / "secret.txt", root / "escape_link");
    std::filesystem::create_directories(dir.path() / "outside");
    dir.write("outside/secret.txt", "TOP-SECRET-CONTENT");
    std::filesystem::create_directory_symlink(dir.path() / "outside", root / "outdir");
  }
};

struct StaticServed {
  StaticTree tree;
  TestServer server;
  StaticServed() {
    server.server().static_files("/static", tree.root);
    add_routes(server.server());
    server.start();
  }
};

TEST(HttpServerStatic, ContentTypesFollowTheExtension) {
  StaticServed s;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"index.html", {"text/html"}},
      {"style.css", {"text/css"}},
      {"app.js", {"text/javascript", "application/javascript"}},
      {"img.png", {"image/png"}},
      {"data.json", {"application/json"}},
      {"readme.txt", {"text/plain"}},
      {"blob.xyzzy", {"application/octet-stream"}},
  };
  for (const auto& [file, types] : cases) {
    const auto r = fetch(s.server.address(), get_request("/static/" + file));
    ASSERT_TRUE(r) << file;
    EXPECT_EQ(r->status, 200) << file;
    const std::string type = r->header("Content-Type").value_or("<none>");
    bool ok = false;
    for (const auto& t : types) ok = ok || type.rfind(t, 0) == 0;
    EXPECT_TRUE(ok) << file << ": " << type;
    EXPECT_EQ(r->body.size(), std::filesystem::file_size(s.tree.root / file)) << file;
  }
}

TEST(HttpServerStatic, LargeFileArrivesByteForByte) {
  StaticServed s;
  RawClient c = RawClient::connect(s.server.address());
  ASSERT_TRUE(c.send(get_request("/static/big.bin")));
  const auto r = c.read_response("GET", 20s);
  ASSERT_TRUE(r) << to_string(c.last_end());
  EXPECT_EQ(r->header("Content-Length").value_or(""), std::to_string(1 << 20));
  EXPECT_TRUE(r->body == s.tree.big) << "body differs, " << r->body.size() << " bytes";
  // And again on the same connection (the file body left the connection in a clean state).
  ASSERT_TRUE(c.send(get_request("/static/readme.txt")));
  EXPECT_EQ(body_of(c.read_response()), "plain text");
}

TEST(HttpServerStatic, DirectoryServesIndexHtml) {
  StaticServed s;
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/"))), "<h1>index</h1>");
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/sub/"))), "<p>sub</p>");
}

TEST(HttpServerStatic, MissingFileIs404) {
  StaticServed s;
  EXPECT_EQ(status_of(fetch(s.server.address(), get_request("/static/nope.txt"))), 404);
  EXPECT_EQ(status_of(fetch(s.server.address(), get_request("/static/sub/nope/x"))), 404);
}

TEST(HttpServerStatic, PathEscapesNeverServeOutsideTheRoot) {
  StaticServed s;
  const std::vector<std::string> targets = {
      "/static/../secret.txt",
      "/static/%2e%2e/secret.txt",
      "/static/%2E%2E/secret.txt",
      "/static/.%2e/secret.txt",
      "/static/..%2fsecret.txt",
      "/static/..%2Fsecret.txt",
      "/static/%2e%2e%2fsecret.txt",
      "/static/sub/../../secret.txt",
      "/static/sub/%2e%2e/%2e%2e/secret.txt",
      "/static/sub%2f..%2f..%2fsecret.txt",
      "/static/%252e%252e/secret.txt",
      "/static/..;/secret.txt",
      "/static//etc/passwd",
      "/static/%2fetc/passwd",
      "/static/%2Fetc%2Fpasswd",
      "/static/readme.txt%00",
      "/static/readme.txt%00.html",
      "/static/escape_link",
      "/static/outdir/secret.txt",
      "/static/outdir/",
      "/static/..\\secret.txt",
      "/static/%5c..%5csecret.txt",
      "http://test/static/../secret.txt",
      "http://test/static/%2e%2e/secret.txt",
      "http://test/etc/passwd",
  };
  for (const std::string& target : targets) {
    RawClient c = RawClient::connect(s.server.address());
    ASSERT_TRUE(c.send("GET " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
    const auto all = c.read_until_close(5s);
    EXPECT_EQ(all.bytes.find("TOP-SECRET"), std::string::npos) << target << " served the secret";
    EXPECT_EQ(all.bytes.find("root:"), std::string::npos) << target << " served /etc/passwd";
    const auto parsed = weft::test::http::parse_responses(all.bytes);
    ASSERT_EQ(parsed.responses.size(), 1u) << target << ": " << all.bytes;
    const int st = parsed.responses[0].status;
    EXPECT_TRUE(st == 404 || st == 400) << target << ": " << st;
  }
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/readme.txt"))), "plain text");
}

TEST(HttpServerStatic, HeadHasTheLengthAndNoBody) {
  StaticServed s;
  RawClient c = RawClient::connect(s.server.address());
  ASSERT_TRUE(c.send(get_request("/static/big.bin", {}, "HEAD")));
  const auto r = c.read_response("HEAD");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Length").value_or(""), std::to_string(1 << 20));
  EXPECT_TRUE(r->header("Last-Modified"));
  // A body after the head would break the next response.
  ASSERT_TRUE(c.send(get_request("/static/readme.txt")));
  EXPECT_EQ(body_of(c.read_response()), "plain text");
  EXPECT_EQ(c.read_for(50ms), "");
}

TEST(HttpServerStatic, IfModifiedSinceGives304ForTheSameDateAnd200ForAnOlderOne) {
  StaticServed s;
  RawClient c = RawClient::connect(s.server.address());
  ASSERT_TRUE(c.send(get_request("/static/readme.txt")));
  const auto first = c.read_response();
  ASSERT_TRUE(first);
  const auto modified = first->header("Last-Modified");
  ASSERT_TRUE(modified) << first->describe();
  EXPECT_NE(modified->find("GMT"), std::string::npos) << *modified;  // IMF-fixdate
  ASSERT_TRUE(
      c.send(get_request("/static/readme.txt", "If-Modified-Since: " + *modified + "\r\n")));
  const auto same = c.read_response();
  ASSERT_TRUE(same) << to_string(c.last_end());
  EXPECT_EQ(same->status, 304);
  EXPECT_TRUE(same->body.empty());
  ASSERT_TRUE(c.send(
      get_request("/static/readme.txt", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n")));
  const auto older = c.read_response();
  ASSERT_TRUE(older) << to_string(c.last_end());
  EXPECT_EQ(older->status, 200);
  EXPECT_EQ(older->body, "plain text");
  // A date that is not a date is ignored, not an error.
  ASSERT_TRUE(c.send(get_request("/static/readme.txt", "If-Modified-Since: yesterday\r\n")));
  EXPECT_EQ(status_of(c.read_response()), 200);
}

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

TEST(HttpServerStatic, QueryAndPercentEncodedNamesAreServed) {
  StaticServed s;
  s.tree.dir.write("root/a b.txt", "spaced");
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/readme.txt?v=1"))),
            "plain text");
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/a%20b.txt"))), "spaced");
  const auto post = fetch(s.server.address(), get_request("/static/readme.txt", {}, "POST"));
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST(HttpServerStatic, DirectoryWithoutIndexIs404) {
  StaticServed s;
  std::filesystem::create_directories(s.tree.root / "empty");
  EXPECT_EQ(status_of(fetch(s.server.address(), get_request("/static/empty/"))), 404);
}

// A FIFO under the root: opening it for reading would block until a writer comes. It is not
// a regular file: refused at once, and the loops stay free for other clients.
TEST(HttpServerStatic, FifoIsNotOpened) {
  StaticServed s;
  ASSERT_EQ(::mkfifo((s.tree.root / "pipe").c_str(), 0644), 0);
  RawClient c = RawClient::connect(s.server.address());
  ASSERT_TRUE(c.send(get_request("/static/pipe")));
  const auto r = c.read_response("GET", 3s);
  EXPECT_TRUE(r) << "no answer for a FIFO: " << to_string(c.last_end());
  if (r) EXPECT_EQ(r->status, 404);
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/readme.txt"), "GET", 3s)),
            "plain text");
  // Unblock a server thread stuck in open(), so the test can end either way.
  const int w = ::open((s.tree.root / "pipe").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (w >= 0) ::close(w);
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

// weft::http::Server against hostile and malformed requests (the hostile-input list: the
// refusal table in request_parser.hpp): each case is sent on its own connection to a server
// with 2 loops, and must get exactly one response with the exact status, "Connection: close",
// and the connection closed — nothing after the refused bytes is parsed as a request (the
// smuggling payloads below would reach /smuggled if it were). After every case a good request
// on a new connection is served.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/server.hpp>

#include "http_server_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using weft::Task;
using weft::http::ServerRequest;
using weft::http::ServerResponse;
using weft::test::http::fetch;
using weft::test::http::get_request;
using weft::test::http::parse_responses;
using weft::test::http::RawClient;
using weft::test::http::ReadEnd;
using weft::test::http::TestServer;

struct Case {
  std::string name;
  std::string bytes;
  int status;
};

const std::string kGet = "GET /hello HTTP/1.1\r\n";
const std::string kHost = "Host: t\r\n";
const std::string kPost = "POST /echo HTTP/1.1\r\nHost: t\r\n";
const std::string kChunked = kPost + "Transfer-Encoding: chunked\r\n\r\n";
// What a request smuggler hides behind a framing conflict.
const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n";

std::string many_fields(int n) {
  std::string r = kGet + kHost;
  for (int i = 1; i < n; ++i) r += "X-Field-" + std::to_string(i) + ": v\r\n";
  return r + "\r\n";
}

std::vector<Case> hostile_cases() {
  return {
      // Framing conflicts (request smuggling)
      {"content-length and transfer-encoding",
       kPost + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"transfer-encoding and content-length",
       kPost + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
      {"cl.te smuggling payload",
       kPost + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + kSmuggled, 400},
      {"te.cl smuggling payload",
       kPost + "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n" + kSmuggled,
       400},
      {"two content-lengths, equal", kPost + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       400},
      {"two content-lengths, different",
       kPost + "Content-Length: 3\r\nContent-Length: 40\r\n\r\nabc" + kSmuggled, 400},
      {"content-length list", kPost + "Content-Length: 3, 3\r\n\r\nabc", 400},
      {"content-length not a number", kPost + "Content-Length: abc\r\n\r\n", 400},
      {"content-length negative", kPost + "Content-Length: -1\r\n\r\n", 400},
      {"content-length with plus sign", kPost + "Content-Length: +5\r\n\r\nhello", 400},
      {"content-length with inner space", kPost + "Content-Length: 1 0\r\n\r\n", 400},
      {"content-length hexadecimal", kPost + "Content-Length: 0x10\r\n\r\n", 400},
      {"content-length with fraction", kPost + "Content-Length: 1.5\r\n\r\n", 400},
      {"content-length with trailing garbage", kPost + "Content-Length: 5abc\r\n\r\nhello", 400},
      {"content-length empty", kPost + "Content-Length:\r\n\r\n", 400},
      {"content-length overflowing 64 bits", kPost + "Content-Length: 18446744073709551616\r\n\r\n",
       400},
      {"content-length of 30 digits",
       kPost + "Content-Length: " + std::string(30, '9') + "\r\n\r\n", 400},
      {"space before the colon of content-length", kPost + "Content-Length : 5\r\n\r\nhello", 400},
      // Transfer-Encoding
      {"transfer-encoding gzip", kPost + "Transfer-Encoding: gzip\r\n\r\n", 400},
      {"transfer-encoding chunked, gzip", kPost + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"transfer-encoding identity", kPost + "Transfer-Encoding: identity\r\n\r\n", 400},
      {"transfer-encoding xchunked", kPost + "Transfer-Encoding: xchunked\r\n\r\n", 400},
      {"transfer-encoding empty", kPost + "Transfer-Encoding:\r\n\r\n", 400},
      {"transfer-encoding gzip, chunked (not implemented)",
       kPost + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"transfer-encoding chunked twice in one field",
       kPost + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
      {"transfer-encoding chunked twice in two fields",
       kPost + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"transfer-encoding on http/1.0",
       "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      // Chunks
      {"chunk size overflowing 64 bits", kChunked + "10000000000000000\r\n", 400},
      {"chunk size of 20 hex digits", kChunked + std::string(20, 'f') + "\r\n", 400},
      {"chunk size not hexadecimal", kChunked + "zz\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size empty", kChunked + "\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size negative", kChunked + "-1\r\n", 400},
      {"chunk size with 0x prefix", kChunked + "0x5\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size with trailing garbage", kChunked + "5 x\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk data without its crlf", kChunked + "5\r\nhelloXX0\r\n\r\n", 400},
      {"chunk data followed by a bare lf", kChunked + "5\r\nhello\n0\r\n\r\n", 400},
      {"chunk data longer than its size", kChunked + "3\r\nhello\r\n0\r\n\r\n" + kSmuggled, 400},
      {"chunk size line ending in a bare lf", kChunked + "5\nhello\r\n0\r\n\r\n", 400},
      {"trailer with obs-fold", kChunked + "0\r\nA: b\r\n c\r\n\r\n", 400},
      {"trailer without a colon", kChunked + "0\r\nX\r\n\r\n", 400},
      // Line structure
      {"obs-fold with a space", kGet + kHost + "X: a\r\n b\r\n\r\n", 400},
      {"obs-fold with a tab", kGet + kHost + "X: a\r\n\tb\r\n\r\n", 400},
      {"first field line starts with whitespace", kGet + " " + kHost + "\r\n", 400},
      {"bare cr in the request line", "GET /hello HTTP/1.1\rHost: t\r\n\r\n", 400},
      {"bare lf ending the request line", "GET /hello HTTP/1.1\n" + kHost + "\r\n", 400},
      {"bare lf ending a field line", kGet + "Host: t\n\r\n", 400},
      {"bare lf ending the header section", kGet + "Host: t\r\n\n", 400},
      {"bare cr inside a field value", kGet + kHost + "X: a\rb\r\n\r\n", 400},
      {"cr cr lf ending a field line", kGet + "Host: t\r\r\n\r\n", 400},
      {"only lf line endings", "GET /hello HTTP/1.1\nHost: t\n\n", 400},
      // Field names and values
      {"space before the colon", kGet + "Host : t\r\n\r\n", 400},
      {"tab before the colon", kGet + "Host\t: t\r\n\r\n", 400},
      {"empty field name", kGet + kHost + ": x\r\n\r\n", 400},
      {"field line without a colon", kGet + kHost + "NoColon\r\n\r\n", 400},
      {"invalid character in a field name", kGet + kHost + "X(y): z\r\n\r\n", 400},
      {"non-ascii in a field name", kGet + kHost + "X\xc3\xa9: z\r\n\r\n", 400},
      {"nul in a field value", kGet + kHost + "X: a\0b\r\n\r\n"s, 400},
      {"escape in a field value", kGet + kHost + "X: a\x1b[0m\r\n\r\n", 400},
      {"del in a field value", kGet + kHost + "X: a\x7f\r\n\r\n", 400},
      {"vertical tab in a field value", kGet + kHost + "X: a\vb\r\n\r\n", 400},
      {"missing host on http/1.1", "GET /hello HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
      {"two host fields", kGet + "Host: a\r\nHost: b\r\n\r\n", 400},
      // The request line
      {"nul in the target", "GET /hel\0lo HTTP/1.1\r\n"s + kHost + "\r\n", 400},
      {"control character in the target", "GET /hello\x01 HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"tab in the target", "GET /hel\tlo HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"del in the target", "GET /hello\x7f HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"non-ascii in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"space inside the target", "GET /hel lo HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"fragment in the target", "GET /hello#x HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"two spaces after the method", "GET  /hello HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"space after the version", "GET /hello HTTP/1.1 \r\n" + kHost + "\r\n", 400},
      {"leading space before the method", " GET /hello HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"invalid character in the method", "GE(T /hello HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"nul before the method", "\0GET /hello HTTP/1.1\r\n"s + kHost + "\r\n", 400},
      {"tls client hello on the plain port",
       "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s + std::string(32, '\x42') + "\r\n\r\n", 400},
      {"missing version", "GET /hello\r\n" + kHost + "\r\n", 400},
      {"method only", "GET\r\n" + kHost + "\r\n", 400},
      {"asterisk target outside options", "GET * HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"relative target", "GET hello HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"connect with an origin-form target", "CONNECT /x HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"lowercase http/1.1", "GET /hello http/1.1\r\n" + kHost + "\r\n", 400},
      {"version without minor", "GET /hello HTTP/1\r\n" + kHost + "\r\n", 400},
      {"version with two-digit major", "GET /hello HTTP/11.1\r\n" + kHost + "\r\n", 400},
      {"version with trailing garbage", "GET /hello HTTP/1.1x\r\n" + kHost + "\r\n", 400},
      // Versions
      {"http/2.0", "GET /hello HTTP/2.0\r\n" + kHost + "\r\n", 505},
      {"http/2 connection preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
      {"http/1.2", "GET /hello HTTP/1.2\r\n" + kHost + "\r\n", 505},
      {"http/3.0", "GET /hello HTTP/3.0\r\n" + kHost + "\r\n", 505},
      {"http/0.9 version", "GET /hello HTTP/0.9\r\n\r\n", 505},
      // Limits (the defaults)
      {"request line over 8 KiB",
       "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n" + kHost + "\r\n", 414},
      {"request line over 8 KiB without its end", "GET /" + std::string(8200, 'a'), 414},
      {"101 header fields", many_fields(101), 431},
      {"one field over 32 KiB", kGet + kHost + "X-Big: " + std::string(33 * 1024, 'b') + "\r\n\r\n",
       431},
      {"header section over 32 KiB in 50 fields",
       [] {
         std::string r = kGet + kHost;
         for (int i = 0; i < 50; ++i)
           r += "X-" + std::to_string(i) + ": " + std::string(700, 'v') + "\r\n";
         return r + "\r\n";
       }(),
       431},
      {"header section over 32 KiB without its end",
       kGet + kHost + "X-Big: " + std::string(40000, 'b'), 431},
      {"content-length over 1 MiB", kPost + "Content-Length: 1048577\r\n\r\n", 413},
      {"content-length of 2^64-1", kPost + "Content-Length: 18446744073709551615\r\n\r\n", 413},
      {"one chunk over 1 MiB", kChunked + "100001\r\n", 413},
      {"chunks adding up to over 1 MiB",
       [] {
         std::string r = kChunked;
         for (int i = 0; i < 2; ++i) r += "80000\r\n" + std::string(0x80000, 'c') + "\r\n";
         return r + "1\r\nc\r\n0\r\n\r\n";
       }(),
       413},
      {"chunk size of 2^64-1", kChunked + "ffffffffffffffff\r\n", 413},
      // Chunk extensions
      {"unterminated quoted-string in a chunk extension",
       kChunked + "5;a=\"abc\";b=\"def; ghi\r\nhello\r\n0\r\n\r\n" + kSmuggled, 400},
      {"chunk extensions over 16 KiB in one request",
       [] {
         std::string r = kChunked;
         for (int i = 0; i < 5; ++i) r += "1;" + std::string(4000, 'e') + "\r\nx\r\n";
         return r + "0\r\n\r\n";
       }(),
       400},
      // Host values (RFC 9112 3.2: uri-host [":" port])
      {"host with a space", kGet + "Host: a b\r\n\r\n", 400},
      {"host with a path and query", kGet + "Host: a/b?c\r\n\r\n", 400},
      {"host with markup and quotes", kGet + "Host: <x>\"'\r\n\r\n", 400},
      // Refused when the deciding bytes arrive: no line end, no end of the head follows, so a
      // server that waited for one would answer nothing until its header timeout.
      {"tls client hello on the plain port",
       "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"s + std::string(32, '\x5a'), 400},
      {"nul byte", "\0"s, 400},
      {"nul inside the target", "GET /a\0"s, 400},
      {"content-length overflow before the end of the head",
       kPost + "Content-Length: 99999999999999999999\r\n", 400},
      {"second content-length before the end of the head",
       kPost + "Content-Length: 1\r\nContent-Length: 1\r\n", 400},
      {"invalid host before the end of the head", kGet + "Host: a b\r\n", 400},
      {"unsupported version before the end of the head", "GET / HTTP/5.6\r\n", 505},
  };
}

class HttpServerHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.server().route("GET", "/hello", [](ServerRequest&) -> Task<ServerResponse> {
      co_return ServerResponse::text(200, "hello\n");
    });
    server_.server().route("POST", "/echo", [](ServerRequest& r) { return echo(r); });
    server_.server().route("GET", "/smuggled", [this](ServerRequest&) { return smuggled(this); });
    server_.start();
  }

  static Task<ServerResponse> echo(ServerRequest& r) {
    co_return ServerResponse::text(200, std::string(r.body()));
  }
  static Task<ServerResponse> smuggled(HttpServerHostile* self) {
    self->smuggled_.fetch_add(1);
    co_return ServerResponse::text(200, "smuggled");
  }

  // Sends `pieces` (one write each) on a new connection and checks the one response.
  void expect_refused(const Case& k, const std::vector<std::string_view>& pieces) {
    SCOPED_TRACE(k.name);
    RawClient c = RawClient::connect(server_.address());
    for (std::string_view p : pieces) {
      // A server that refused early may reset before it read everything: stop sending then.
      if (!c.send(p, 5s)) break;
    }
    const auto all = c.read_until_close(5s);
    EXPECT_TRUE(all.end == ReadEnd::closed || all.end == ReadEnd::reset)
        << "the server did not close the connection: " << to_string(all.end);
    const auto parsed = parse_responses(all.bytes);
    ASSERT_EQ(parsed.responses.size(), 1u)
        << "expected exactly one response, got: " << all.bytes.substr(0, 400);
    EXPECT_EQ(parsed.trailing_bytes, 0u) << "bytes after the response";
    EXPECT_EQ(parsed.responses[0].status, k.status) << parsed.responses[0].describe();
    EXPECT_TRUE(parsed.responses[0].connection_close()) << parsed.responses[0].describe();
    EXPECT_EQ(parsed.responses[0].body.find("smuggled"), std::string::npos);
    // The server goes on serving others.
    const auto good = fetch(server_.address(), get_request("/hello"));
    ASSERT_TRUE(good) << "no answer to a good request after the hostile one";
    EXPECT_EQ(good->status, 200);
  }

  TestServer server_;  // 2 loops
  std::atomic<int> smuggled_{0};
};

TEST_F(HttpServerHostile, EachCaseGetsItsExactStatusAndIsClosed) {
  const auto cases = hostile_cases();
  ASSERT_GE(cases.size(), 60u);
  for (const Case& k : cases) expect_refused(k, {k.bytes});
  EXPECT_EQ(smuggled_.load(), 0) << "a smuggled request was served";
  const auto stats = server_.stats();
  EXPECT_EQ(stats.refused, cases.size());
  EXPECT_EQ(stats.requests, cases.size()) << "only the good requests were handled";
  EXPECT_EQ(stats.handler_errors, 0u);
}

// The same bytes in three writes: a refusal does not depend on where reads happen to split.
TEST_F(HttpServerHostile, EachCaseSplitIntoThreeWrites) {
  const auto cases = hostile_cases();
  for (const Case& k : cases) {
    const std::string_view b = k.bytes;
    const std::size_t third = b.size() / 3;
    expect_refused(k, {b.substr(0, third), b.substr(third, third), b.substr(2 * third)});
  }
  EXPECT_EQ(smuggled_.load(), 0);
}

// A refusal in the middle of a pipeline: the good request before it is answered, nothing after
// it is parsed.
TEST_F(HttpServerHostile, PipelineStopsAtTheRefusedRequest) {
  RawClient c = RawClient::connect(server_.address());
  ASSERT_TRUE(
      c.send(get_request("/hello") + "GET /hello HTTP/1.1\r\nHost : t\r\n\r\n" + kSmuggled));
  const auto all = c.read_until_close(5s);
  EXPECT_NE(all.end, ReadEnd::timeout);
  const auto parsed = parse_responses(all.bytes);
  ASSERT_EQ(parsed.responses.size(), 2u) << all.bytes;
  EXPECT_EQ(parsed.responses[0].status, 200);
  EXPECT_EQ(parsed.responses[1].status, 400);
  EXPECT_TRUE(parsed.responses[1].connection_close());
  EXPECT_EQ(smuggled_.load(), 0);
}

// A keep-alive connection that turns hostile after a good request is refused and closed.
TEST_F(HttpServerHostile, RefusalAfterAGoodRequestOnTheSameConnection) {
  RawClient c = RawClient::connect(server_.address());
  ASSERT_TRUE(c.send(get_request("/hello")));
  const auto first = c.read_response();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  ASSERT_TRUE(c.send(kPost + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nab"));
  const auto second = c.read_response();
  ASSERT_TRUE(second) << to_string(c.last_end());
  EXPECT_EQ(second->status, 400);
  EXPECT_TRUE(c.wait_closed(5s));
}

// A client that sends a refused request and goes on writing (an upload over the limit) still
// reads the answer: the server lingers, reading and discarding, instead of resetting at once.
TEST_F(HttpServerHostile, OversizedUploadStillSeesThe413) {
  RawClient c = RawClient::connect(server_.address());
  ASSERT_TRUE(c.send(kPost + "Content-Length: 4000000\r\n\r\n"));
  const std::string chunk(64 * 1024, 'u');
  for (int i = 0; i < 30; ++i) {
    if (!c.send(chunk, 2s)) break;
  }
  const auto r = c.read_response("POST", 5s);
  ASSERT_TRUE(r) << "the 413 was lost: " << to_string(c.last_end());
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(r->connection_close());
}

}  // namespace

// weft::http::RequestParser and hostile input: the list of refusals with the exact status of
// each, whatever way the bytes are split; refusals at the first impossible byte; a good request
// after an error.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/request_parser.hpp>

#include "http_request_parsing.hpp"

namespace {

using namespace std::string_literals;
using weft::http::Limits;
using weft::http::ParseStatus;
using weft::http::Request;
using weft::http::RequestParser;
using weft::http::Version;
using namespace weft::test::request_parsing;

// ---------------------------------------------------------------------------------------------
// Hostile inputs: each refused with its exact status, whatever way the bytes are split.

struct Hostile {
  const char* name;
  std::string bytes;
  int status;
};

std::vector<Hostile> hostile_cases() {
  const std::string post = "POST / HTTP/1.1\r\n" + kHost;
  const std::string chunked = post + "Transfer-Encoding: chunked\r\n\r\n";
  return {
      // Framing conflicts (request smuggling).
      {"content-length and transfer-encoding",
       post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"transfer-encoding before content-length",
       post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400},
      {"two content-lengths, equal", post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       400},
      {"two content-lengths, different",
       post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
      {"content-length list in one field", post + "Content-Length: 3, 3\r\n\r\nabc", 400},
      {"content-length not a number", post + "Content-Length: abc\r\n\r\n", 400},
      {"content-length negative", post + "Content-Length: -1\r\n\r\n", 400},
      {"content-length with plus sign", post + "Content-Length: +5\r\n\r\nhello", 400},
      {"content-length overflowing 64 bits", post + "Content-Length: 18446744073709551616\r\n\r\n",
       400},
      {"content-length of 30 digits",
       post + "Content-Length: 123456789012345678901234567890\r\n\r\n", 400},
      {"content-length empty", post + "Content-Length:\r\n\r\n", 400},
      {"content-length hexadecimal", post + "Content-Length: 0x10\r\n\r\n", 400},
      {"content-length with inner space", post + "Content-Length: 1 0\r\n\r\n", 400},
      {"content-length with trailing garbage", post + "Content-Length: 5abc\r\n\r\nhello", 400},
      {"content-length with fraction", post + "Content-Length: 1.5\r\n\r\n", 400},
      // Transfer-Encoding.
      {"transfer-encoding gzip only", post + "Transfer-Encoding: gzip\r\n\r\n", 400},
      {"transfer-encoding chunked then gzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n",
       400},
      {"transfer-encoding identity", post + "Transfer-Encoding: identity\r\n\r\n", 400},
      {"transfer-encoding gzip then chunked (not implemented)",
       post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"transfer-encoding unknown then chunked (not implemented)",
       post + "Transfer-Encoding: eee, chunked\r\n\r\n0\r\n\r\n", 501},
      {"transfer-encoding chunked twice in one field",
       post + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400},
      {"transfer-encoding chunked twice in two fields",
       post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"transfer-encoding empty", post + "Transfer-Encoding:\r\n\r\n", 400},
      {"transfer-encoding chunked with a parameter",
       post + "Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n", 400},
      {"transfer-encoding not a token", post + "Transfer-Encoding: chun\"ked\r\n\r\n", 400},
      {"transfer-encoding on http/1.0",
       "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      // Chunked framing.
      {"chunk size overflowing 64 bits", chunked + "10000000000000000\r\n", 400},
      {"chunk size of 20 f digits", chunked + "ffffffffffffffffffff\r\n", 400},
      {"chunk size not hexadecimal", chunked + "zz\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size empty", chunked + "\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size negative", chunked + "-1\r\n", 400},
      {"chunk size with 0x prefix", chunked + "0x5\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size with trailing garbage", chunked + "5 x\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk data without its crlf", chunked + "5\r\nhelloXX0\r\n\r\n", 400},
      {"chunk data followed by lf only", chunked + "5\r\nhello\n0\r\n\r\n", 400},
      {"chunk data followed by cr and not lf", chunked + "5\r\nhello\rX0\r\n\r\n", 400},
      {"chunk data longer than its size", chunked + "3\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk size line ending in bare lf", chunked + "5\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension with a control character", chunked + "5;a=\x01\r\nhello\r\n0\r\n\r\n", 400},
      {"last chunk followed by a bare lf", chunked + "0\r\n\n", 400},
      {"chunk extension with an unterminated quoted-string",
       chunked + "5;a=\"abc\";b=\"def; ghi\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension whose closing quote is escaped",
       chunked + "5;a=\"abc\\\"\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension with bytes after its quoted value",
       chunked + "5;a=\"abc\"x\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension without a name", chunked + "5;\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension of only a value", chunked + "5;=x\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension with '=' and no value", chunked + "5;a=\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension value not a token", chunked + "5;a=b/c\r\nhello\r\n0\r\n\r\n", 400},
      {"chunk extension name not a token", chunked + "5;a b\r\nhello\r\n0\r\n\r\n", 400},
      {"whitespace after a chunk size without an extension", chunked + "5 \r\nhello\r\n0\r\n\r\n",
       400},
      {"chunk extensions over the per-message limit",
       [&] {
         std::string s = chunked;
         for (int i = 0; i < 5; ++i) s += "1;" + std::string(4000, 'e') + "\r\nx\r\n";
         return s + "0\r\n\r\n";
       }(),
       400},
      {"trailer line without a colon", chunked + "0\r\nX\r\n\r\n", 400},
      {"trailer with obs-fold", chunked + "0\r\nA: b\r\n c\r\n\r\n", 400},
      {"trailer with whitespace before the colon", chunked + "0\r\nA : b\r\n\r\n", 400},
      // Line structure.
      {"obs-fold with space", "GET / HTTP/1.1\r\n" + kHost + "X: a\r\n b\r\n\r\n", 400},
      {"obs-fold with tab", "GET / HTTP/1.1\r\n" + kHost + "X: a\r\n\tb\r\n\r\n", 400},
      {"first field line starts with whitespace", "GET / HTTP/1.1\r\n " + kHost + "\r\n", 400},
      {"bare cr in the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
      {"bare cr inside the target", "GET /a\rb HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"bare lf ending the request line", "GET / HTTP/1.1\n" + kHost + "\r\n", 400},
      {"bare lf ending a field line", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
      {"bare lf ending the header section", "GET / HTTP/1.1\r\n" + kHost + "\n", 400},
      {"bare cr inside a field value", "GET / HTTP/1.1\r\n" + kHost + "X: a\rb\r\n\r\n", 400},
      {"cr cr lf ending a field line", "GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", 400},
      {"only lf line endings", "GET / HTTP/1.1\nHost: a\n\n", 400},
      // Field lines.
      {"space before the colon", "GET / HTTP/1.1\r\nHost : example.com\r\n\r\n", 400},
      {"tab before the colon", "GET / HTTP/1.1\r\nHost\t: example.com\r\n\r\n", 400},
      {"space before the colon of content-length", post + "Content-Length : 5\r\n\r\nhello", 400},
      {"empty field name", "GET / HTTP/1.1\r\n" + kHost + ": x\r\n\r\n", 400},
      {"field line without a colon", "GET / HTTP/1.1\r\n" + kHost + "NoColon\r\n\r\n", 400},
      {"invalid character in a field name", "GET / HTTP/1.1\r\n" + kHost + "X(y): z\r\n\r\n", 400},
      {"non-ascii in a field name", "GET / HTTP/1.1\r\n" + kHost + "X\xc3\xa9: z\r\n\r\n", 400},
      {"nul in a field value", "GET / HTTP/1.1\r\n" + kHost + "X: a\0b\r\n\r\n"s, 400},
      {"escape character in a field value", "GET / HTTP/1.1\r\n" + kHost + "X: a\x1b[0m\r\n\r\n",
       400},
      {"del in a field value", "GET / HTTP/1.1\r\n" + kHost + "X: a\x7f\r\n\r\n", 400},
      {"vertical tab in a field value", "GET / HTTP/1.1\r\n" + kHost + "X: a\vb\r\n\r\n", 400},
      // Host.
      {"missing host on http/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
      {"two host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
      {"host with a path and query", "GET / HTTP/1.1\r\nHost: a/b?c\r\n\r\n", 400},
      {"host with markup and quotes", "GET / HTTP/1.1\r\nHost: <x>\"'\r\n\r\n", 400},
      {"host with userinfo", "GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400},
      {"host with a port that is not a number", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400},
      {"host with two ports", "GET / HTTP/1.1\r\nHost: a:1:2\r\n\r\n", 400},
      {"host with a bad percent escape", "GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400},
      {"host with an unclosed ip literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
      {"host with bytes after an ip literal", "GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", 400},
      {"host with a backslash", "GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", 400},
      {"host with obs-text", "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", 400},
      // Request line.
      {"nul in the target", "GET /a\0b HTTP/1.1\r\n"s + kHost + "\r\n", 400},
      {"control character in the target", "GET /a\x01 HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"tab in the target", "GET /a\tb HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"del in the target", "GET /a\x7f HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"non-ascii in the target", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"space inside the target", "GET /a b HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"fragment in the target", "GET /a#frag HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"two spaces after the method", "GET  / HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"space after the version", "GET / HTTP/1.1 \r\n" + kHost + "\r\n", 400},
      {"leading space before the method", " GET / HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"invalid character in the method", "GE(T / HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"request line without target or version", "GET\r\n" + kHost + "\r\n", 400},
      {"http/0.9 request line without a version", "GET /\r\n\r\n", 400},
      {"asterisk target outside options", "GET * HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"relative target without a slash", "GET index.html HTTP/1.1\r\n" + kHost + "\r\n", 400},
      {"connect with an origin-form target", "CONNECT /x HTTP/1.1\r\n" + kHost + "\r\n", 400},
      // Versions.
      {"lowercase http version", "GET / http/1.1\r\n" + kHost + "\r\n", 400},
      {"version without minor", "GET / HTTP/1\r\n" + kHost + "\r\n", 400},
      {"version with two-digit major", "GET / HTTP/11.1\r\n" + kHost + "\r\n", 400},
      {"version with trailing garbage", "GET / HTTP/1.1x\r\n" + kHost + "\r\n", 400},
      {"http/2 connection preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
      {"http/2.0 request", "GET / HTTP/2.0\r\n" + kHost + "\r\n", 505},
      {"http/1.2 request", "GET / HTTP/1.2\r\n" + kHost + "\r\n", 505},
      {"http/3.0 request", "GET / HTTP/3.0\r\n" + kHost + "\r\n", 505},
      {"http/0.9 version", "GET / HTTP/0.9\r\n\r\n", 505},
      // Limits (defaults).
      {"request line over the limit", "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n", 414},
      {"request line over the limit without its end", "GET /" + std::string(8200, 'a'), 414},
      {"empty lines before the request line over the limit",
       [] {
         std::string s;
         for (int i = 0; i < 4097; ++i) s += "\r\n";
         return s;
       }(),
       414},
      {"101 header fields",
       "GET / HTTP/1.1\r\n" + kHost +
           [] {
             std::string s;
             for (int i = 0; i < 100; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
             return s;
           }() +
           "\r\n",
       431},
      {"header section over the limit",
       "GET / HTTP/1.1\r\n" + kHost + "X-Big: " + std::string(33 * 1024, 'v') + "\r\n\r\n", 431},
      {"header section over the limit without its end",
       "GET / HTTP/1.1\r\n" + kHost + "X-Big: " + std::string(33 * 1024, 'v'), 431},
      {"content-length over the body limit", post + "Content-Length: 1048577\r\n\r\n", 413},
      {"content-length of 2^64-1", post + "Content-Length: 18446744073709551615\r\n\r\n", 413},
      {"chunk over the body limit", chunked + "100001\r\n", 413},
      {"chunk size of 2^64-1", chunked + "ffffffffffffffff\r\n", 413},
  };
}

TEST(HttpRequestParser, HostileInputsGetTheirExactStatus) {
  const auto cases = hostile_cases();
  EXPECT_GE(cases.size(), 60u);
  for (const Hostile& c : cases) {
    SCOPED_TRACE(c.name);
    RequestParser p;
    const ParseStatus status = p.feed(c.bytes);
    ASSERT_EQ(status, ParseStatus::error)
        << (status == ParseStatus::complete ? "parsed: " + describe(p.request())
                                            : std::string("need more"));
    EXPECT_EQ(p.error().status, c.status) << p.error().reason;
    EXPECT_FALSE(p.error().reason.empty());
    // Nothing after an error is parsed: the parser stays failed.
    EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n" + kHost + "\r\n"), ParseStatus::error);
    EXPECT_EQ(p.next(), ParseStatus::error);
  }
}

TEST(HttpRequestParser, ValidHostValuesAreAccepted) {
  for (const std::string host :
       {"example.com", "example.com:8080", "127.0.0.1:80", "[::1]", "[::1]:8443",
        "[v1.fe80::a+en1]", "xn--caf-dma.example", "a_b-c~d.example", "%65xample.com",
        "sub.example.com:", "h!$&'()*+,;=x"}) {
    SCOPED_TRACE(host);
    RequestParser p;
    ASSERT_EQ(p.feed("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n"), ParseStatus::complete)
        << p.error().reason;
    EXPECT_EQ(p.request().headers.find("host"), host);
  }
  // An empty Host is what a client sends when the target has no authority (RFC 9112 3.2).
  RequestParser p;
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\nHost:\r\n\r\n"), ParseStatus::complete);
  EXPECT_EQ(p.request().headers.find("host"), "");
}

// The parser skips checking a Host equal to the last valid one of the connection: a different
// one on the same connection is checked again.
TEST(HttpRequestParser, EachRequestOfAConnectionHasItsHostChecked) {
  RequestParser p;
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"), ParseStatus::complete);
  ASSERT_EQ(p.next(), ParseStatus::need_more);
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"), ParseStatus::complete);
  ASSERT_EQ(p.next(), ParseStatus::need_more);
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\nHost: b.example:81\r\n\r\n"), ParseStatus::complete);
  ASSERT_EQ(p.next(), ParseStatus::need_more);
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a.example b\r\n\r\n"), ParseStatus::error);
  EXPECT_EQ(p.error().status, 400);
}

TEST(HttpRequestParser, ChunkExtensionsFollowTheirGrammar) {
  RequestParser p;
  // A quoted value with an escaped quote and a ';' inside, a token value, a bare name with
  // whitespace around the ';', an empty quoted value, an escaped backslash.
  ASSERT_EQ(p.feed("POST / HTTP/1.1\r\n" + kHost +
                   "Transfer-Encoding: chunked\r\n\r\n"
                   "5;a=\"x\\\"y; z\";b=token ; c\r\nhello\r\n"
                   "1 ;d = \"\"\r\n!\r\n"
                   "0;e=\"\\\\\"\r\n\r\n"),
            ParseStatus::complete)
      << p.error().reason;
  EXPECT_EQ(p.request().body, "hello!");
}

// Bytes that no request line can start with are refused when they arrive, not when a line end
// or the header timeout comes.
TEST(HttpRequestParser, ARequestLineIsRefusedAtItsFirstImpossibleByte) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tls client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s},
      {"nul byte", "\0"s},
      {"nul in the method", "GE\0"s},
      {"nul in the target", "GET /a\0"s},
      {"a third space", "GET /a HTTP/1.1 "},
      {"lowercase version", "GET / http"},
      {"version with a letter for a digit", "GET / HTTP/x"},
      {"version too long", "GET / HTTP/1.11"},
      {"leading space", " "},
      {"obs-text in the method", "\x80\x81\x82"},
  };
  for (const auto& [name, bytes] : cases) {
    SCOPED_TRACE(name);
    RequestParser p;
    ASSERT_EQ(p.feed(bytes), ParseStatus::error);
    EXPECT_EQ(p.error().status, 400) << p.error().reason;
    // The same verdict when the bytes come one at a time.
    RequestParser bytewise;
    ParseStatus status = ParseStatus::need_more;
    for (char c : bytes) status = bytewise.feed(std::string_view(&c, 1));
    ASSERT_EQ(status, ParseStatus::error);
    EXPECT_EQ(bytewise.error().reason, p.error().reason);
  }
  // Prefixes of valid request lines wait for more.
  for (const std::string prefix : {"G", "GET", "GET ", "GET /a?b=c", "GET / ", "GET / HTTP/1.",
                                   "GET / HTTP/1.1", "GET / HTTP/1.1\r", "\r\n", "\r\nPOST"}) {
    SCOPED_TRACE(prefix);
    RequestParser p;
    EXPECT_EQ(p.feed(prefix), ParseStatus::need_more) << p.error().reason;
  }
}

// A framing field that is already wrong is refused when its line is complete, before the rest
// of the header section arrives.
TEST(HttpRequestParser, ABadFramingFieldIsRefusedBeforeTheHeadEnds) {
  const std::string post = "POST / HTTP/1.1\r\n" + kHost;
  for (const std::string& head :
       {post + "Content-Length: 18446744073709551616\r\n",
        post + "Content-Length: 5\r\nContent-Length: 5\r\n", post + "Content-Length: x\r\n",
        post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n"s, "GET / HTTP/1.1\r\nHost: a b\r\n"s}) {
    SCOPED_TRACE(head);
    RequestParser p;
    ASSERT_EQ(p.feed(head), ParseStatus::error);
    EXPECT_EQ(p.error().status, 400) << p.error().reason;
  }
  // A version no server speaks is known from the request line alone.
  RequestParser p;
  ASSERT_EQ(p.feed("GET / HTTP/5.6\r\n"), ParseStatus::error);
  EXPECT_EQ(p.error().status, 505);
}

TEST(HttpRequestParser, HostileInputsGiveTheSameErrorAtEverySplit) {
  for (const Hostile& c : hostile_cases()) {
    SCOPED_TRACE(c.name);
    // Inputs built to cross a limit are long; every 7th boundary keeps the test quick.
    expect_split_invariant(c.bytes, {}, c.bytes.size() > 2048 ? 7 : 1);
  }
}

TEST(HttpRequestParser, AGoodRequestAfterAnErrorParsesOnAFreshParser) {
  for (const Hostile& c : hostile_cases()) {
    SCOPED_TRACE(c.name);
    RequestParser p;
    ASSERT_EQ(p.feed(c.bytes), ParseStatus::error);
    RequestParser fresh;
    EXPECT_EQ(fresh.feed("GET / HTTP/1.1\r\n" + kHost + "\r\n"), ParseStatus::complete);
  }
}

}  // namespace

// weft::http::RequestParser: valid requests of every shape, the hostile-input list with the exact
// status of each refusal, every limit exactly at and one past it, and split invariance: every
// corpus input fed in two pieces at every byte boundary (and byte by byte) parses identically.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/request_parser.hpp>

namespace {

using namespace std::string_literals;
using weft::http::Limits;
using weft::http::ParseStatus;
using weft::http::Request;
using weft::http::RequestParser;
using weft::http::Version;

// Everything a parse produced, as text, so two parses compare with one EXPECT_EQ.
std::string describe(const Request& r) {
  std::string out = std::string(r.method) + " " + std::string(r.target) +
                    (r.version == Version::http_1_0 ? " 1.0" : " 1.1");
  for (const auto& h : r.headers) out += "\n" + std::string(h.name) + ": " + std::string(h.value);
  out += "\nbody[" + std::string(r.body) + "]";
  for (const auto& h : r.trailers)
    out += "\ntrailer " + std::string(h.name) + ": " + std::string(h.value);
  out += r.keep_alive ? " keep-alive" : " close";
  out += r.chunked ? " chunked" : "";
  out += r.expect_continue ? " expect-continue" : "";
  return out;
}

// Feeds `pieces` in order, taking every complete request (pipelining), and describes all of it:
// the requests, then the final state (an error's status and reason, or what is still buffered).
std::string parse_pieces(const std::vector<std::string_view>& pieces, const Limits& limits = {}) {
  RequestParser parser(limits);
  std::string out;
  for (std::string_view piece : pieces) {
    ParseStatus status = parser.feed(piece);
    while (status == ParseStatus::complete) {
      out += describe(parser.request()) + "\n--\n";
      status = parser.next();
    }
    if (status == ParseStatus::error) {
      return out + "error " + std::to_string(parser.error().status) + " " +
             std::string(parser.error().reason);
    }
  }
  return out + "pending " + std::to_string(parser.buffered());
}

std::string parse_whole(std::string_view bytes, const Limits& limits = {}) {
  return parse_pieces({bytes}, limits);
}

void expect_split_invariant(std::string_view bytes, const Limits& limits = {},
                            std::size_t stride = 1) {
  const std::string whole = parse_whole(bytes, limits);
  for (std::size_t cut = 0; cut <= bytes.size(); cut += stride) {
    ASSERT_EQ(parse_pieces({bytes.substr(0, cut), bytes.substr(cut)}, limits), whole)
        << "split at " << cut;
  }
  std::vector<std::string_view> bytewise;
  for (std::size_t i = 0; i < bytes.size(); ++i) bytewise.push_back(bytes.substr(i, 1));
  ASSERT_EQ(parse_pieces(bytewise, limits), whole) << "byte by byte";
}

const std::string kHost = "Host: example.com\r\n";

// ---------------------------------------------------------------------------------------------
// Valid requests

TEST(HttpRequestParser, SimpleGet) {
  RequestParser p;
  ASSERT_EQ(p.feed("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"),
            ParseStatus::complete);
  const Request& r = p.request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/index.html?q=1");
  EXPECT_EQ(r.version, Version::http_1_1);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].name, "Host");
  EXPECT_EQ(r.headers[1].name, "Accept");
  EXPECT_EQ(r.headers.find("HOST"), "example.com");
  EXPECT_EQ(r.headers.find("accept"), "*/*");
  EXPECT_FALSE(r.headers.find("Content-Length").has_value());
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(r.keep_alive);
  EXPECT_FALSE(r.chunked);
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(HttpRequestParser, PostWithContentLength) {
  RequestParser p;
  ASSERT_EQ(p.feed("POST /submit HTTP/1.1\r\n" + kHost + "Content-Length: 11\r\n\r\nhello world"),
            ParseStatus::complete);
  EXPECT_EQ(p.request().method, "POST");
  EXPECT_EQ(p.request().body, "hello world");
}

TEST(HttpRequestParser, ContentLengthWithLeadingZeros) {
  RequestParser p;
  ASSERT_EQ(p.feed("PUT /x HTTP/1.1\r\n" + kHost + "Content-Length: 003\r\n\r\nabc"),
            ParseStatus::complete);
  EXPECT_EQ(p.request().body, "abc");
}

TEST(HttpRequestParser, ContentLengthZeroHasEmptyBody) {
  RequestParser p;
  ASSERT_EQ(p.feed("POST / HTTP/1.1\r\n" + kHost + "Content-Length: 0\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_TRUE(p.request().body.empty());
}

TEST(HttpRequestParser, BodyWaitsForEveryContentLengthByte) {
  RequestParser p;
  EXPECT_EQ(p.feed("POST / HTTP/1.1\r\n" + kHost + "Content-Length: 5\r\n\r\nhell"),
            ParseStatus::need_more);
  EXPECT_EQ(p.feed("o"), ParseStatus::complete);
  EXPECT_EQ(p.request().body, "hello");
}

TEST(HttpRequestParser, ChunkedWithExtensionsAndTrailers) {
  RequestParser p;
  ASSERT_EQ(p.feed("POST /upload HTTP/1.1\r\n" + kHost +
                   "Transfer-Encoding: chunked\r\n\r\n"
                   "5;name=value\r\nhello\r\n"
                   "1 ; quoted=\"a b\"\r\n \r\n"
                   "A\r\n0123456789\r\n"
                   "0;last\r\n"
                   "Checksum: abc\r\nExpires: never\r\n\r\n"),
            ParseStatus::complete);
  const Request& r = p.request();
  EXPECT_TRUE(r.chunked);
  EXPECT_EQ(r.body, "hello 0123456789");
  ASSERT_EQ(r.trailers.size(), 2u);
  EXPECT_EQ(r.trailers.find("checksum"), "abc");
  EXPECT_EQ(r.trailers.find("EXPIRES"), "never");
  EXPECT_EQ(r.headers.find("Checksum"), std::nullopt);
}

TEST(HttpRequestParser, ChunkedUppercaseHexAndLeadingZeros) {
  RequestParser p;
  ASSERT_EQ(p.feed("POST / HTTP/1.1\r\n" + kHost +
                   "Transfer-Encoding: Chunked\r\n\r\n000B\r\nhello world\r\n0000\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(p.request().body, "hello world");
}

TEST(HttpRequestParser, TransferEncodingAcrossEmptyListElements) {
  RequestParser p;
  ASSERT_EQ(p.feed("POST / HTTP/1.1\r\n" + kHost +
                   "Transfer-Encoding: , chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(p.request().body, "x");
}

TEST(HttpRequestParser, PipelinedThreeRequests) {
  RequestParser p;
  const std::string bytes = "GET /a HTTP/1.1\r\n" + kHost + "\r\n" + "POST /b HTTP/1.1\r\n" +
                            kHost + "Content-Length: 3\r\n\r\nabc" + "PUT /c HTTP/1.1\r\n" + kHost +
                            "Transfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n";
  ASSERT_EQ(p.feed(bytes), ParseStatus::complete);
  EXPECT_EQ(p.request().target, "/a");
  EXPECT_GT(p.buffered(), 0u);
  ASSERT_EQ(p.next(), ParseStatus::complete);
  EXPECT_EQ(p.request().target, "/b");
  EXPECT_EQ(p.request().body, "abc");
  ASSERT_EQ(p.next(), ParseStatus::complete);
  EXPECT_EQ(p.request().target, "/c");
  EXPECT_EQ(p.request().body, "xy");
  EXPECT_EQ(p.buffered(), 0u);
  EXPECT_EQ(p.next(), ParseStatus::need_more);
  EXPECT_TRUE(p.idle());
}

TEST(HttpRequestParser, BytesFedAfterCompleteWaitForNext) {
  RequestParser p;
  ASSERT_EQ(p.feed("GET /a HTTP/1.1\r\n" + kHost + "\r\nGET /b HT"), ParseStatus::complete);
  EXPECT_EQ(p.feed("TP/1.1\r\n" + kHost + "\r\n"), ParseStatus::complete);
  EXPECT_EQ(p.request().target, "/a");  // still the first until next()
  ASSERT_EQ(p.next(), ParseStatus::complete);
  EXPECT_EQ(p.request().target, "/b");
}

TEST(HttpRequestParser, KeepAliveDecisions) {
  struct Case {
    const char* name;
    std::string bytes;
    bool keep_alive;
  };
  const std::vector<Case> cases = {
      {"1.1 default keep-alive", "GET / HTTP/1.1\r\n" + kHost + "\r\n", true},
      {"1.1 Connection: close", "GET / HTTP/1.1\r\n" + kHost + "Connection: close\r\n\r\n", false},
      {"1.1 Connection: CLOSE", "GET / HTTP/1.1\r\n" + kHost + "Connection: CLOSE\r\n\r\n", false},
      {"1.1 close in a list", "GET / HTTP/1.1\r\n" + kHost + "Connection: Upgrade, close\r\n\r\n",
       false},
      {"1.1 close wins over keep-alive",
       "GET / HTTP/1.1\r\n" + kHost + "Connection: keep-alive\r\nConnection: close\r\n\r\n", false},
      {"1.0 default close", "GET / HTTP/1.0\r\n\r\n", false},
      {"1.0 Connection: keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"1.0 Keep-Alive mixed case", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true},
      {"1.0 keep-alive and close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
       false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RequestParser p;
    ASSERT_EQ(p.feed(c.bytes), ParseStatus::complete);
    EXPECT_EQ(p.request().keep_alive, c.keep_alive);
  }
}

TEST(HttpRequestParser, Http10WithoutHostAndWithBody) {
  RequestParser p;
  ASSERT_EQ(p.feed("POST /form HTTP/1.0\r\nContent-Length: 2\r\n\r\nok"), ParseStatus::complete);
  EXPECT_EQ(p.request().version, Version::http_1_0);
  EXPECT_EQ(p.request().body, "ok");
}

TEST(HttpRequestParser, AbsoluteFormTarget) {
  RequestParser p;
  ASSERT_EQ(p.feed("GET http://example.com:8080/path?x=y HTTP/1.1\r\n" + kHost + "\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(p.request().target, "http://example.com:8080/path?x=y");
}

TEST(HttpRequestParser, OptionsAsterisk) {
  RequestParser p;
  ASSERT_EQ(p.feed("OPTIONS * HTTP/1.1\r\n" + kHost + "\r\n"), ParseStatus::complete);
  EXPECT_EQ(p.request().method, "OPTIONS");
  EXPECT_EQ(p.request().target, "*");
}

TEST(HttpRequestParser, ConnectAuthorityForm) {
  RequestParser p;
  ASSERT_EQ(p.feed("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(p.request().target, "example.com:443");
}

TEST(HttpRequestParser, ExtensionMethodIsAToken) {
  RequestParser p;
  ASSERT_EQ(p.feed("PROPFIND /dav HTTP/1.1\r\n" + kHost + "\r\n"), ParseStatus::complete);
  EXPECT_EQ(p.request().method, "PROPFIND");
}

TEST(HttpRequestParser, FieldValuesAreTrimmedAndMayBeEmptyOrObsText) {
  RequestParser p;
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\n" + kHost +
                   "X-Pad: \t  padded value \t \r\nX-Empty:\r\nX-Latin: caf\xe9\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(p.request().headers.find("x-pad"), "padded value");
  EXPECT_EQ(p.request().headers.find("x-empty"), "");
  EXPECT_EQ(p.request().headers.find("x-latin"), "caf\xe9");
}

TEST(HttpRequestParser, RepeatedFieldsStayOrdered) {
  RequestParser p;
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\n" + kHost + "Accept: a\r\nX: 1\r\naccept: b\r\n\r\n"),
            ParseStatus::complete);
  const auto& h = p.request().headers;
  EXPECT_EQ(h.count("ACCEPT"), 2u);
  EXPECT_EQ(h.find("accept"), "a");
  EXPECT_EQ(h[3].value, "b");
}

TEST(HttpRequestParser, EmptyLinesBeforeTheRequestLineAreIgnored) {
  RequestParser p;
  ASSERT_EQ(p.feed("\r\n\r\nGET / HTTP/1.1\r\n" + kHost + "\r\n"), ParseStatus::complete);
  EXPECT_EQ(p.request().method, "GET");
}

TEST(HttpRequestParser, ExpectContinueIsKnownBeforeTheBody) {
  RequestParser p;
  EXPECT_EQ(p.feed("PUT / HTTP/1.1\r\n" + kHost + "Expect: 100-continue\r\nContent-Length: 1\r\n"),
            ParseStatus::need_more);
  EXPECT_FALSE(p.head_parsed());
  EXPECT_EQ(p.feed("\r\n"), ParseStatus::need_more);
  EXPECT_TRUE(p.head_parsed());
  EXPECT_TRUE(p.expects_continue());
  ASSERT_EQ(p.feed("x"), ParseStatus::complete);
  EXPECT_TRUE(p.request().expect_continue);
  EXPECT_EQ(p.next(), ParseStatus::need_more);
  EXPECT_FALSE(p.head_parsed());
  EXPECT_FALSE(p.expects_continue());
}

TEST(HttpRequestParser, ViewsPointIntoTheParsersBuffer) {
  // Zero-copy: after the caller's bytes are gone, the views still read correctly.
  RequestParser p;
  {
    std::string bytes = "GET /zero-copy HTTP/1.1\r\n" + kHost + "\r\n";
    ASSERT_EQ(p.feed(bytes), ParseStatus::complete);
    bytes.assign(bytes.size(), 'X');
  }
  EXPECT_EQ(p.request().target, "/zero-copy");
  EXPECT_EQ(p.request().headers.find("host"), "example.com");
}

TEST(HttpRequestParser, ResetStartsAFreshConnection) {
  RequestParser p;
  ASSERT_EQ(p.feed("BAD\r\n\r\n"), ParseStatus::error);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n" + kHost + "\r\n"), ParseStatus::error);  // stays failed
  p.reset();
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n" + kHost + "\r\n"), ParseStatus::complete);
}

TEST(HttpRequestParser, ShrinkIfIdleReleasesTheBuffer) {
  RequestParser p;
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\n" + kHost + "\r\n"), ParseStatus::complete);
  ASSERT_EQ(p.next(), ParseStatus::need_more);
  p.shrink_if_idle();
  EXPECT_EQ(p.feed("GET /again HTTP/1.1\r\n" + kHost + "\r\n"), ParseStatus::complete);
  EXPECT_EQ(p.request().target, "/again");
}

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

// ---------------------------------------------------------------------------------------------
// Split invariance over the valid corpus.

std::vector<std::string> valid_corpus() {
  return {
      "GET / HTTP/1.1\r\n" + kHost + "\r\n",
      "GET /path?query=1&b=%20 HTTP/1.1\r\n" + kHost +
          "User-Agent: curl/8.0\r\nAccept: */*\r\nX-Empty:\r\nX-Pad:  v  \r\n\r\n",
      "POST /submit HTTP/1.1\r\n" + kHost + "Content-Length: 11\r\n\r\nhello world",
      "POST /c HTTP/1.1\r\n" + kHost +
          "Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\n",
      "GET /a HTTP/1.1\r\n" + kHost + "\r\nPOST /b HTTP/1.1\r\n" + kHost +
          "Content-Length: 3\r\n\r\nabcPUT /c HTTP/1.1\r\n" + kHost +
          "Transfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n",
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "GET http://example.com/x HTTP/1.1\r\n" + kHost + "\r\n",
      "OPTIONS * HTTP/1.1\r\n" + kHost + "\r\n",
      "CONNECT example.com:443 HTTP/1.1\r\n" + kHost + "\r\n",
      "\r\nGET /after-empty-line HTTP/1.1\r\n" + kHost + "Connection: close\r\n\r\n",
      "GET /partial HTTP/1.1\r\n" + kHost + "\r\nGET /second-incomplete HTTP/1.1\r\nHo",
      "POST /empty-chunked HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  };
}

TEST(HttpRequestParser, EveryValidRequestParsesTheSameAtEverySplit) {
  for (const std::string& bytes : valid_corpus()) {
    SCOPED_TRACE(bytes);
    const std::string whole = parse_whole(bytes);
    EXPECT_EQ(whole.find("error"), std::string::npos) << whole;
    expect_split_invariant(bytes);
  }
}

TEST(HttpRequestParser, ThreeWaySplitsOfThePipelinedCorpusParseTheSame) {
  const std::string bytes = valid_corpus()[4];
  const std::string whole = parse_whole(bytes);
  std::string_view view = bytes;
  for (std::size_t a = 0; a <= bytes.size(); a += 3) {
    for (std::size_t b = a; b <= bytes.size(); b += 5) {
      ASSERT_EQ(parse_pieces({view.substr(0, a), view.substr(a, b - a), view.substr(b)}), whole)
          << a << " " << b;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Limits: exactly at each one passes, one byte (or field) past it fails with its status.

// A request line of exactly `size` bytes with its CRLF.
std::string request_line_of(std::size_t size) {
  const std::string head = "GET /";
  const std::string tail = " HTTP/1.1\r\n";
  return head + std::string(size - head.size() - tail.size(), 'a') + tail;
}

// A header section (fields + final CRLF) of exactly `size` bytes with `fields` fields.
std::string header_section_of(std::size_t size, std::size_t fields) {
  std::string s = kHost;
  for (std::size_t i = 1; i + 1 < fields; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
  const std::size_t used = s.size() + std::string("X-Fill: \r\n\r\n").size();
  return s + "X-Fill: " + std::string(size - used, 'f') + "\r\n\r\n";
}

TEST(HttpRequestParser, RequestLineExactlyAtTheLimit) {
  RequestParser p;
  ASSERT_EQ(request_line_of(8192).size(), 8192u);
  EXPECT_EQ(p.feed(request_line_of(8192) + kHost + "\r\n"), ParseStatus::complete);
}

TEST(HttpRequestParser, RequestLineOneByteOverTheLimit) {
  RequestParser p;
  EXPECT_EQ(p.feed(request_line_of(8193) + kHost + "\r\n"), ParseStatus::error);
  EXPECT_EQ(p.error().status, 414);
}

TEST(HttpRequestParser, RequestLineLimitHitsBeforeTheLineEnds) {
  // Refused at byte 8193, with no CRLF anywhere: nothing waits for the rest of the line.
  RequestParser p;
  const std::string line = request_line_of(9000);
  EXPECT_EQ(p.feed(std::string_view(line).substr(0, 8192)), ParseStatus::need_more);
  EXPECT_EQ(p.feed(std::string_view(line).substr(8192, 1)), ParseStatus::error);
  EXPECT_EQ(p.error().status, 414);
}

TEST(HttpRequestParser, HeaderSectionExactlyAtTheLimit) {
  RequestParser p;
  const std::string section = header_section_of(32 * 1024, 3);
  ASSERT_EQ(section.size(), 32u * 1024);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n" + section), ParseStatus::complete);
}

TEST(HttpRequestParser, HeaderSectionOneByteOverTheLimit) {
  RequestParser p;
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n" + header_section_of(32 * 1024 + 1, 3)), ParseStatus::error);
  EXPECT_EQ(p.error().status, 431);
}

TEST(HttpRequestParser, ExactlyTheMaximumNumberOfFields) {
  RequestParser p;
  ASSERT_EQ(p.feed("GET / HTTP/1.1\r\n" + header_section_of(4000, 100)), ParseStatus::complete);
  EXPECT_EQ(p.request().headers.size(), 100u);
}

TEST(HttpRequestParser, OneFieldOverTheMaximum) {
  RequestParser p;
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n" + header_section_of(4000, 101)), ParseStatus::error);
  EXPECT_EQ(p.error().status, 431);
}

TEST(HttpRequestParser, ContentLengthBodyExactlyAtTheLimit) {
  RequestParser p;
  const std::string body(1024 * 1024, 'b');
  ASSERT_EQ(p.feed("POST / HTTP/1.1\r\n" + kHost + "Content-Length: 1048576\r\n\r\n" + body),
            ParseStatus::complete);
  EXPECT_EQ(p.request().body.size(), body.size());
}

TEST(HttpRequestParser, ContentLengthOneByteOverTheLimitIsRefusedBeforeTheBody) {
  RequestParser p;
  EXPECT_EQ(p.feed("POST / HTTP/1.1\r\n" + kHost + "Content-Length: 1048577\r\n\r\n"),
            ParseStatus::error);
  EXPECT_EQ(p.error().status, 413);
}

std::string chunked_body_of(std::size_t total, std::size_t chunk) {
  std::string s;
  char size_hex[32];
  for (std::size_t done = 0; done < total; done += chunk) {
    const std::size_t n = std::min(chunk, total - done);
    std::snprintf(size_hex, sizeof size_hex, "%zx\r\n", n);
    s += size_hex + std::string(n, 'c') + "\r\n";
  }
  return s + "0\r\n\r\n";
}

TEST(HttpRequestParser, ChunkedBodyExactlyAtTheLimit) {
  RequestParser p;
  ASSERT_EQ(p.feed("POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n" +
                   chunked_body_of(1024 * 1024, 100000)),
            ParseStatus::complete);
  EXPECT_EQ(p.request().body, std::string(1024 * 1024, 'c'));
}

TEST(HttpRequestParser, ChunkedBodyOneByteOverTheLimit) {
  RequestParser p;
  EXPECT_EQ(p.feed("POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n" +
                   chunked_body_of(1024 * 1024 + 1, 100000)),
            ParseStatus::error);
  EXPECT_EQ(p.error().status, 413);
}

// The chunk framing of a body is dropped as it is parsed: the buffer holds the decoded body and
// one read, not every wire byte of the message (one-byte chunks cost six wire bytes each).
TEST(HttpRequestParser, ChunkFramingIsReleasedAsTheBodyIsDecoded) {
  constexpr std::size_t kBody = 512 * 1024;
  constexpr std::size_t kRead = 64 * 1024;
  const std::string wire = "POST / HTTP/1.1\r\n" + kHost + "Transfer-Encoding: chunked\r\n\r\n" +
                           chunked_body_of(kBody, 1);
  ASSERT_GT(wire.size(), 5 * kBody);
  RequestParser p;
  std::size_t peak = 0;
  ParseStatus status = ParseStatus::need_more;
  for (std::size_t i = 0; i < wire.size() && status == ParseStatus::need_more; i += kRead) {
    status = p.feed(std::string_view(wire).substr(i, kRead));
    peak = std::max(peak, p.buffer_capacity());
  }
  ASSERT_EQ(status, ParseStatus::complete) << p.error().reason;
  EXPECT_EQ(p.request().body, std::string(kBody, 'c'));
  // A std::string at most doubles past what it holds: body + one read + a line, twice.
  EXPECT_LE(peak, 2 * (kBody + kRead + 4096)) << "the wire was " << wire.size() << " bytes";
}

TEST(HttpRequestParser, ConfiguredSmallLimitsAtAndPastEachOne) {
  const Limits small{.max_request_line = 32,
                     .max_header_section = 64,
                     .max_header_fields = 3,
                     .max_body = 10,
                     .max_chunk_line = 8};
  struct Case {
    const char* name;
    std::string bytes;
    int status;  // 0: complete
  };
  const std::string line32 = "GET /" + std::string(32 - 16, 'a') + " HTTP/1.1\r\n";
  ASSERT_EQ(line32.size(), 32u);
  const std::vector<Case> cases = {
      {"request line at 32", line32 + "Host: h\r\n\r\n", 0},
      {"request line at 33", "GET /" + std::string(17, 'a') + " HTTP/1.1\r\n" + "Host: h\r\n\r\n",
       414},
      {"3 fields", "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", 0},
      {"4 fields", "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431},
      // "Host: h\r\n" (9) + "X: <n>\r\n" (5 + n) + "\r\n" (2) = 16 + n.
      {"section at 63", "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(47, 'x') + "\r\n\r\n", 0},
      {"section at 64", "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(48, 'x') + "\r\n\r\n", 0},
      {"section at 65", "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(49, 'x') + "\r\n\r\n",
       431},
      {"body at 10", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", 0},
      {"body at 11", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n01234567890", 413},
      {"chunks totalling 10",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n",
       0},
      {"chunks totalling 11",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5\r\n01234\r\n6\r\n567890\r\n0\r\n\r\n",
       413},
      {"chunk line at 8",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "1;abcd\r\nx\r\n0\r\n\r\n",
       0},
      {"chunk line at 9",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "1;abcde\r\nx\r\n0\r\n\r\n",
       400},
      {"3 trailers",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
       0},
      {"4 trailers",
       "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
       431},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    RequestParser p(small);
    const ParseStatus status = p.feed(c.bytes);
    if (c.status == 0) {
      EXPECT_EQ(status, ParseStatus::complete) << p.error().reason;
    } else {
      ASSERT_EQ(status, ParseStatus::error);
      EXPECT_EQ(p.error().status, c.status) << p.error().reason;
    }
    expect_split_invariant(c.bytes, small);
  }
}

}  // namespace

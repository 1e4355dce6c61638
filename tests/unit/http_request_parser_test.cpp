// weft::http::RequestParser: valid requests of every shape, and split invariance: every valid
// corpus input fed in two pieces at every byte boundary (and byte by byte, and in three pieces)
// parses identically. Hostile inputs are in http_request_parser_hostile_test.cpp, the limits in
// http_request_parser_limits_test.cpp.

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

}  // namespace

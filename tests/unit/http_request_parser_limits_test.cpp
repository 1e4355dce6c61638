// weft::http::RequestParser's limits: exactly at each one passes, one byte (or field) past it
// fails with its status; chunk framing is released as the body is decoded.

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

// weft::http::ResponseParser: status lines, which responses have a body (HEAD, 1xx, 204, 304),
// Content-Length, chunked and read-until-close bodies, interim responses, keep-alive, strict
// refusals, and the same result at every split.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>
#include <weft/http/response_parser.hpp>

namespace {

using weft::http::Limits;
using weft::http::ParseStatus;
using weft::http::Response;
using weft::http::ResponseParser;
using weft::http::Version;

std::string describe(const Response& r) {
  std::string out = std::to_string(r.status) + " [" + std::string(r.reason) + "]" +
                    (r.version == Version::http_1_0 ? " 1.0" : " 1.1");
  for (const auto& h : r.headers) out += "\n" + std::string(h.name) + ": " + std::string(h.value);
  out += "\nbody[" + std::string(r.body) + "]";
  for (const auto& h : r.trailers)
    out += "\ntrailer " + std::string(h.name) + ": " + std::string(h.value);
  out += r.keep_alive ? " keep-alive" : " close";
  return out;
}

// Feeds the pieces as answers to `methods` in order (one response each), then EOF if `eof`.
std::string parse_pieces(const std::vector<std::string_view>& pieces,
                         const std::vector<std::string>& methods, bool eof) {
  ResponseParser parser;
  std::size_t answered = 0;
  std::string out;
  parser.start(methods.at(0));
  auto drain = [&](ParseStatus status) {
    while (status == ParseStatus::complete) {
      out += describe(parser.response()) + "\n--\n";
      if (++answered == methods.size()) return status;
      parser.start(methods[answered]);
      status = parser.feed("");
    }
    return status;
  };
  ParseStatus status = ParseStatus::need_more;
  for (std::string_view piece : pieces) {
    if (answered == methods.size()) break;
    status = drain(parser.feed(piece));
    if (status == ParseStatus::error) break;
  }
  if (eof && status == ParseStatus::need_more && answered < methods.size()) {
    status = drain(parser.finish());
  }
  if (status == ParseStatus::error) {
    out +=
        "error " + std::to_string(parser.error().status) + " " + std::string(parser.error().reason);
  }
  return out;
}

std::string parse_whole(std::string_view bytes, const std::vector<std::string>& methods,
                        bool eof = false) {
  return parse_pieces({bytes}, methods, eof);
}

void expect_split_invariant(std::string_view bytes, const std::vector<std::string>& methods,
                            bool eof = false) {
  const std::string whole = parse_whole(bytes, methods, eof);
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    ASSERT_EQ(parse_pieces({bytes.substr(0, cut), bytes.substr(cut)}, methods, eof), whole)
        << "split at " << cut;
  }
  std::vector<std::string_view> bytewise;
  for (std::size_t i = 0; i < bytes.size(); ++i) bytewise.push_back(bytes.substr(i, 1));
  ASSERT_EQ(parse_pieces(bytewise, methods, eof), whole) << "byte by byte";
}

TEST(HttpResponseParser, ContentLengthBody) {
  ResponseParser p;
  p.start("GET");
  ASSERT_EQ(p.feed("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"),
            ParseStatus::complete);
  const Response& r = p.response();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.version, Version::http_1_1);
  EXPECT_EQ(r.headers.find("content-type"), "text/plain");
  EXPECT_EQ(r.body, "hello");
  EXPECT_TRUE(r.keep_alive);
}

TEST(HttpResponseParser, ChunkedBodyWithTrailers) {
  ResponseParser p;
  p.start("GET");
  ASSERT_EQ(p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "4;x=y\r\nwiki\r\n5\r\npedia\r\n0\r\nServer-Timing: 12\r\n\r\n"),
            ParseStatus::complete);
  EXPECT_EQ(p.response().body, "wikipedia");
  EXPECT_TRUE(p.response().chunked);
  EXPECT_EQ(p.response().trailers.find("server-timing"), "12");
}

TEST(HttpResponseParser, BodyUntilClose) {
  ResponseParser p;
  p.start("GET");
  EXPECT_EQ(p.feed("HTTP/1.1 200 OK\r\n\r\nstreamed "), ParseStatus::need_more);
  EXPECT_EQ(p.feed("until close"), ParseStatus::need_more);
  ASSERT_EQ(p.finish(), ParseStatus::complete);
  EXPECT_EQ(p.response().body, "streamed until close");
  EXPECT_FALSE(p.response().keep_alive);
}

TEST(HttpResponseParser, TransferEncodingNotEndingInChunkedReadsUntilClose) {
  ResponseParser p;
  p.start("GET");
  EXPECT_EQ(p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw"),
            ParseStatus::need_more);
  ASSERT_EQ(p.finish(), ParseStatus::complete);
  EXPECT_EQ(p.response().body, "raw");
  EXPECT_FALSE(p.response().keep_alive);
}

TEST(HttpResponseParser, HeadResponseHasNoBodyDespiteContentLength) {
  ResponseParser p;
  p.start("HEAD");
  ASSERT_EQ(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"), ParseStatus::complete);
  EXPECT_TRUE(p.response().body.empty());
  EXPECT_EQ(p.response().headers.find("content-length"), "1234");
  EXPECT_TRUE(p.response().keep_alive);
}

TEST(HttpResponseParser, NoContentAndNotModifiedHaveNoBody) {
  for (const char* head : {"HTTP/1.1 204 No Content\r\n\r\n",
                           "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
                           "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"}) {
    SCOPED_TRACE(head);
    ResponseParser p;
    p.start("GET");
    ASSERT_EQ(p.feed(head), ParseStatus::complete);
    EXPECT_TRUE(p.response().body.empty());
    EXPECT_TRUE(p.response().keep_alive);
  }
}

TEST(HttpResponseParser, InterimResponsesAreSkipped) {
  ResponseParser p;
  p.start("POST");
  ASSERT_EQ(p.feed("HTTP/1.1 100 Continue\r\n\r\n"
                   "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
                   "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"),
            ParseStatus::complete);
  EXPECT_EQ(p.response().status, 201);
  EXPECT_EQ(p.response().body, "ok");
  EXPECT_FALSE(p.response().headers.contains("link"));
}

// A server that sends interim heads without end would keep a client reading for ever: past
// Limits::max_interim_responses the response is malformed.
TEST(HttpResponseParser, InterimResponsesAreBounded) {
  const auto interim = [](std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n";
    return s;
  };
  const std::string final_response = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  const Limits limits;
  {
    ResponseParser p;
    p.start("GET");
    ASSERT_EQ(p.feed(interim(limits.max_interim_responses) + final_response),
              ParseStatus::complete);
    EXPECT_EQ(p.response().body, "ok");
  }
  {
    ResponseParser p;
    p.start("GET");
    ASSERT_EQ(p.feed(interim(limits.max_interim_responses + 1) + final_response),
              ParseStatus::error);
    EXPECT_EQ(p.error().status, 400);
  }
  {
    // The count is per response, not per connection.
    ResponseParser p;
    for (int round = 0; round < 3; ++round) {
      p.start("GET");
      ASSERT_EQ(p.feed(interim(limits.max_interim_responses) + final_response),
                ParseStatus::complete);
    }
  }
}

// The chunk framing a server sends is dropped as it is parsed: a body of one-byte chunks with
// long extensions costs the client its decoded size, not its wire size.
TEST(HttpResponseParser, ChunkFramingIsReleasedAsTheBodyIsDecoded) {
  constexpr std::size_t kBody = 256 * 1024;
  constexpr std::size_t kRead = 32 * 1024;
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (std::size_t i = 0; i < kBody; ++i) wire += "1;e=abcdefghijklmnopqrstuvwxyz\r\nc\r\n";
  wire += "0\r\n\r\n";
  ResponseParser p(Limits{.max_body = kBody, .max_chunk_extensions = 64 * kBody});
  p.start("GET");
  std::size_t peak = 0;
  ParseStatus status = ParseStatus::need_more;
  for (std::size_t i = 0; i < wire.size() && status == ParseStatus::need_more; i += kRead) {
    status = p.feed(std::string_view(wire).substr(i, kRead));
    peak = std::max(peak, p.buffer_capacity());
  }
  ASSERT_EQ(status, ParseStatus::complete) << p.error().reason;
  EXPECT_EQ(p.response().body, std::string(kBody, 'c'));
  EXPECT_LE(peak, 2 * (kBody + kRead + 4096)) << "the wire was " << wire.size() << " bytes";
}

// Chunk extensions of one response are bounded like a request's: a server cannot make the
// client parse max_chunk_line bytes per body byte.
TEST(HttpResponseParser, ChunkExtensionsOverTheLimitAreRefused) {
  ResponseParser p;
  p.start("GET");
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) wire += "1;" + std::string(4000, 'e') + "\r\nx\r\n";
  ASSERT_EQ(p.feed(wire), ParseStatus::error);
  EXPECT_EQ(p.error().status, 400);
}

TEST(HttpResponseParser, SwitchingProtocolsCompletesAndLeavesTheRest) {
  ResponseParser p;
  p.start("GET");
  ASSERT_EQ(p.feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\n\r\n\x81\x05hello"),
            ParseStatus::complete);
  EXPECT_EQ(p.response().status, 101);
  EXPECT_TRUE(p.response().body.empty());
  EXPECT_EQ(p.buffered(), 7u);
}

TEST(HttpResponseParser, KeepAliveDecisions) {
  struct Case {
    const char* bytes;
    bool keep_alive;
  };
  for (const Case& c : std::vector<Case>{
           {"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true},
           {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
           {"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false},
           {"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", true},
       }) {
    SCOPED_TRACE(c.bytes);
    ResponseParser p;
    p.start("GET");
    ASSERT_EQ(p.feed(c.bytes), ParseStatus::complete);
    EXPECT_EQ(p.response().keep_alive, c.keep_alive);
  }
}

TEST(HttpResponseParser, StatusLineWithoutReason) {
  for (const char* line : {"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
                           "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n"}) {
    ResponseParser p;
    p.start("GET");
    ASSERT_EQ(p.feed(line), ParseStatus::complete);
    EXPECT_EQ(p.response().status, 200);
    EXPECT_EQ(p.response().reason, "");
  }
}

TEST(HttpResponseParser, ResponsesInARowOnOneConnection) {
  ResponseParser p;
  p.start("GET");
  ASSERT_EQ(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
                   "HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nB"),
            ParseStatus::complete);
  EXPECT_EQ(p.response().body, "A");
  p.start("GET");
  ASSERT_EQ(p.feed(""), ParseStatus::complete);
  EXPECT_EQ(p.response().status, 404);
  EXPECT_EQ(p.response().body, "B");
}

TEST(HttpResponseParser, MalformedResponsesAreRefused) {
  struct Case {
    const char* name;
    std::string bytes;
    int status;
  };
  const std::vector<Case> cases = {
      {"content-length and transfer-encoding",
       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"two content-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
       400},
      {"content-length not a number", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", 400},
      {"content-length invalid even for HEAD", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
       400},
      {"status code of two digits", "HTTP/1.1 20 OK\r\n\r\n", 400},
      {"status code of four digits", "HTTP/1.1 2000 OK\r\n\r\n", 400},
      {"status code 099", "HTTP/1.1 099 Odd\r\n\r\n", 400},
      {"status code 600", "HTTP/1.1 600 Odd\r\n\r\n", 400},
      {"status code not digits", "HTTP/1.1 abc OK\r\n\r\n", 400},
      {"not http", "SSH-2.0-OpenSSH_9.2\r\n\r\n", 400},
      {"http/2 version", "HTTP/2.0 200 OK\r\n\r\n", 505},
      {"bare lf in the status line", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 400},
      {"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", 400},
      {"control character in the reason", "HTTP/1.1 200 O\x01K\r\n\r\n", 400},
      {"chunk size not hexadecimal", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n",
       400},
      {"gzip then chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"content-length over the body limit", "HTTP/1.1 200 OK\r\nContent-Length: 1048577\r\n\r\n",
       413},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ResponseParser p;
    p.start(std::string_view(c.name).find("HEAD") != std::string_view::npos ? "HEAD" : "GET");
    ASSERT_EQ(p.feed(c.bytes), ParseStatus::error);
    EXPECT_EQ(p.error().status, c.status) << p.error().reason;
    expect_split_invariant(c.bytes, {"GET"});
  }
}

TEST(HttpResponseParser, TruncatedResponsesAreErrorsAtEof) {
  for (const char* bytes : {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
                            "HTTP/1.1 200 OK\r\nContent-Le", ""}) {
    SCOPED_TRACE(bytes);
    ResponseParser p;
    p.start("GET");
    EXPECT_EQ(p.feed(bytes), ParseStatus::need_more);
    EXPECT_EQ(p.finish(), ParseStatus::error);
    EXPECT_EQ(p.error().status, 400);
  }
}

TEST(HttpResponseParser, UntilCloseBodyOverTheLimit) {
  ResponseParser p(Limits{.max_body = 8});
  p.start("GET");
  EXPECT_EQ(p.feed("HTTP/1.1 200 OK\r\n\r\n12345678"), ParseStatus::need_more);
  EXPECT_EQ(p.feed("9"), ParseStatus::error);
  EXPECT_EQ(p.error().status, 413);
}

TEST(HttpResponseParser, EveryResponseParsesTheSameAtEverySplit) {
  struct Case {
    std::string bytes;
    std::vector<std::string> methods;
    bool eof;
  };
  const std::vector<Case> corpus = {
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", {"GET"}, false},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;e\r\nabc\r\n0\r\nT: 1\r\n\r\n",
       {"GET"},
       false},
      {"HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil the end", {"GET"}, true},
      {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
       {"POST"},
       false},
      {"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
       "HTTP/1.1 204 No Content\r\n\r\n"
       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
       {"HEAD", "DELETE", "GET"},
       false},
  };
  for (const Case& c : corpus) {
    SCOPED_TRACE(c.bytes);
    const std::string whole = parse_whole(c.bytes, c.methods, c.eof);
    EXPECT_EQ(whole.find("error"), std::string::npos) << whole;
    expect_split_invariant(c.bytes, c.methods, c.eof);
  }
}

}  // namespace

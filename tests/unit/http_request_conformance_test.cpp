// weft::http::RequestParser against a table of request conformance cases. The cases were
// written after reading llhttp's request fixtures (methods, targets, versions, Content-Length,
// Transfer-Encoding, chunk sizes and extensions, field lines, pipelining, Connection, the end of
// input) as the source of the idea; the table, its names and its bytes are this project's own.
//
// Each case gives the bytes, weft's verdict (accepted, with what must come out of it; refused,
// with the status request_parser.hpp documents; or still incomplete) and what llhttp's strict
// mode answers for the same bytes. Every case is fed whole and then byte by byte, and both runs
// must give the same verdict, the same requests and the same error.
//
// The rule the table keeps: whatever llhttp's strict mode refuses, weft refuses too (checked per
// case below). Where weft is stricter than llhttp (llhttp accepts, weft refuses), the case says
// why in `stricter`. Two kinds of llhttp refusal are not HTTP syntax and are kept apart:
//   - unknown methods: llhttp knows a fixed list of methods; RFC 9110 9.1 makes any token a
//     method, weft accepts it and leaves the answer (404/405) to the router;
//   - bytes after a request that ends the connection (Connection: close, or HTTP/1.0 without
//     keep-alive): the parser delivers that request with keep_alive false, and the server
//     closes the connection without reading further (http_server_conformance_test.cpp).
//
// Many request bytes carry a "Host: h" the matching llhttp fixture does not have, since weft
// refuses HTTP/1.1 without Host (RFC 9112 3.2); the missing Host has cases of its own.

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/request_parser.hpp>

#include "http_conformance_cases.hpp"

namespace {

using namespace weft::test::conformance;
using weft::http::ParseStatus;
using weft::http::Request;
using weft::http::RequestParser;

// --- running a case --------------------------------------------------------------------------

const char* name(ParseStatus s) {
  switch (s) {
    case ParseStatus::need_more:
      return "need_more";
    case ParseStatus::complete:
      return "complete";
    case ParseStatus::error:
      return "error";
  }
  return "?";
}

struct Seen {
  std::string method, target, body;
  bool keep_alive = false;
  bool expect_continue = false;
  std::size_t trailers = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Outcome {
  std::vector<Seen> requests;
  ParseStatus end = ParseStatus::need_more;
  int status = 0;
  std::string reason;
  std::size_t buffered = 0;
  bool expects_continue = false;

  [[nodiscard]] std::string describe() const {
    std::string out;
    for (const Seen& s : requests) {
      out += s.method + " " + s.target + " body[" + s.body + "]";
      for (const auto& [field, value] : s.headers) out += " " + field + ":" + value;
      out += s.keep_alive ? " keep-alive" : " close";
      out += s.expect_continue ? " expect-continue" : "";
      out += " trailers=" + std::to_string(s.trailers) + "\n";
    }
    out += name(end);
    if (end == ParseStatus::error) out += " " + std::to_string(status) + " " + reason;
    // After an error nothing more is read, so what was buffered then depends on the split.
    if (end != ParseStatus::error) out += " buffered=" + std::to_string(buffered);
    return out + (expects_continue ? " expects-continue" : "");
  }
};

Seen copy(const Request& r) {
  Seen s{std::string(r.method),
         std::string(r.target),
         std::string(r.body),
         r.keep_alive,
         r.expect_continue,
         r.trailers.size(),
         {}};
  for (const auto& h : r.headers) s.headers.emplace_back(h.name, h.value);
  return s;
}

Outcome run(const std::vector<std::string_view>& pieces, bool first_only) {
  RequestParser parser;
  Outcome out;
  ParseStatus status = ParseStatus::need_more;
  for (std::string_view piece : pieces) {
    status = parser.feed(piece);
    // With first_only the completed request stays, and later bytes are only buffered.
    while (!first_only && status == ParseStatus::complete) {
      out.requests.push_back(copy(parser.request()));
      status = parser.next();
    }
    if (status == ParseStatus::error) break;
  }
  if (first_only && status == ParseStatus::complete) out.requests.push_back(copy(parser.request()));
  out.end = status;
  if (status == ParseStatus::error) {
    out.status = parser.error().status;
    out.reason = std::string(parser.error().reason);
  }
  out.buffered = parser.buffered();
  out.expects_continue = parser.expects_continue();
  return out;
}

class HttpRequestConformance : public ::testing::TestWithParam<Case> {};

TEST_P(HttpRequestConformance, GivesTheSameDocumentedVerdictWholeAndByteByByte) {
  const Case& c = GetParam();
  const Outcome whole = run({c.bytes}, c.first_only);
  std::vector<std::string_view> bytewise;
  const std::string_view bytes = c.bytes;
  for (std::size_t i = 0; i < bytes.size(); ++i) bytewise.push_back(bytes.substr(i, 1));
  const Outcome split = run(bytewise, c.first_only);
  EXPECT_EQ(split.describe(), whole.describe()) << "fed byte by byte vs whole";

  const std::string got = whole.describe();
  switch (c.weft) {
    case Verdict::accepted:
      // first_only leaves the request complete; otherwise every byte was consumed.
      EXPECT_STREQ(name(whole.end),
                   name(c.first_only ? ParseStatus::complete : ParseStatus::need_more))
          << got;
      EXPECT_EQ(whole.requests.size(), c.requests) << got;
      if (!c.first_only && !c.buffered) {
        EXPECT_EQ(whole.buffered, 0u) << got;
      }
      break;
    case Verdict::refused:
      ASSERT_STREQ(name(whole.end), "error") << got;
      EXPECT_EQ(whole.status, c.status) << got;
      EXPECT_EQ(whole.requests.size(), c.requests) << got;
      break;
    case Verdict::incomplete:
      EXPECT_STREQ(name(whole.end), "need_more") << got;
      EXPECT_EQ(whole.requests.size(), c.requests) << got;
      break;
  }
  // The rule: what llhttp's strict mode refuses, weft refuses.
  if (c.llhttp == Llhttp::rejects || c.llhttp == Llhttp::lenient_only) {
    EXPECT_STREQ(name(whole.end), "error") << "llhttp (strict) refuses this; weft must too\n"
                                           << got;
  }

  if (c.buffered) {
    EXPECT_EQ(whole.buffered, *c.buffered) << got;
  }
  if (c.expect_continue && c.weft == Verdict::incomplete) {
    EXPECT_EQ(whole.expects_continue, *c.expect_continue) << got;
  }
  if (whole.requests.empty()) return;
  const Seen& first = whole.requests.front();
  if (c.method) {
    EXPECT_EQ(first.method, *c.method);
  }
  if (c.target) {
    EXPECT_EQ(first.target, *c.target);
  }
  if (c.body) {
    EXPECT_EQ(first.body, *c.body);
  }
  if (c.keep_alive) {
    EXPECT_EQ(first.keep_alive, *c.keep_alive);
  }
  if (c.expect_continue && c.weft != Verdict::incomplete) {
    EXPECT_EQ(first.expect_continue, *c.expect_continue);
  }
  if (c.trailers) {
    EXPECT_EQ(first.trailers, *c.trailers);
  }
  if (c.header) {
    bool found = false;
    for (const auto& [field, value] : first.headers) {
      if (weft::http::iequals(field, c.header->first)) {
        EXPECT_EQ(value, c.header->second) << field;
        found = true;
        break;
      }
    }
    EXPECT_TRUE(found) << c.header->first << " missing\n" << got;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, HttpRequestConformance, ::testing::ValuesIn(all_cases()),
                         case_name);

}  // namespace

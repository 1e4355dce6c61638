#pragma once

// What weft::http::RequestParser's tests share: a parse described as text (so two parses compare
// with one EXPECT_EQ), feeding a request in pieces, and the check that every split of the bytes
// parses the same as the whole.

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/request_parser.hpp>

namespace weft::test::request_parsing {

using weft::http::Limits;
using weft::http::ParseStatus;
using weft::http::Request;
using weft::http::RequestParser;
using weft::http::Version;

// Everything a parse produced, as text, so two parses compare with one EXPECT_EQ.
inline std::string describe(const Request& r) {
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
inline std::string parse_pieces(const std::vector<std::string_view>& pieces,
                                const Limits& limits = {}) {
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

inline std::string parse_whole(std::string_view bytes, const Limits& limits = {}) {
  return parse_pieces({bytes}, limits);
}

inline void expect_split_invariant(std::string_view bytes, const Limits& limits = {},
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

inline const std::string kHost = "Host: example.com\r\n";

}  // namespace weft::test::request_parsing

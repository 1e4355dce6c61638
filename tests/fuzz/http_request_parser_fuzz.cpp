// libFuzzer target for the HTTP/1.1 parsers. Beyond "does not crash" (ASan/UBSan), it checks
// the parsers' promises on every input:
//   - incremental: the input fed whole and fed in pieces (sizes drawn from the input) gives
//     the same requests and the same error;
//   - limits: nothing accepted exceeds them (fields, body); errors carry a listed status;
//   - lookups: every header name is found again by the case-insensitive find().
// Views are read while the parser lives (describe_*), so ASan sees any that dangle.
// The first input byte picks the limits (defaults or tiny ones, so limit paths are reached) and
// the split sizes; the rest is the byte stream. The response parser gets the same stream.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/request_parser.hpp>
#include <weft/http/response_parser.hpp>

namespace {

using weft::http::Limits;
using weft::http::ParseStatus;

void check(bool ok) {
  if (!ok) std::abort();
}

std::string describe_request(const weft::http::Request& r, const Limits& limits) {
  check(r.headers.size() <= limits.max_header_fields);
  check(r.trailers.size() <= limits.max_header_fields);
  check(r.body.size() <= limits.max_body);
  std::string out(r.method);
  out += ' ';
  out += r.target;
  out += r.version == weft::http::Version::http_1_0 ? "/1.0" : "/1.1";
  for (const auto& h : r.headers) {
    check(r.headers.find(h.name).has_value());
    out.append(h.name).append(":").append(h.value).append("\n");
  }
  out.append("[").append(r.body).append("]");
  for (const auto& h : r.trailers) out.append(h.name).append(":").append(h.value).append("\n");
  out += r.keep_alive ? 'k' : 'c';
  return out;
}

std::string run_requests(const std::vector<std::string_view>& pieces, const Limits& limits) {
  weft::http::RequestParser parser(limits);
  std::string out;
  for (std::string_view piece : pieces) {
    ParseStatus status = parser.feed(piece);
    while (status == ParseStatus::complete) {
      out += describe_request(parser.request(), limits);
      out += "\n--\n";
      status = parser.next();
    }
    if (status == ParseStatus::error) {
      const int code = parser.error().status;
      check(code == 400 || code == 413 || code == 414 || code == 431 || code == 501 || code == 505);
      return out + "error " + std::to_string(code) + std::string(parser.error().reason);
    }
  }
  return out + "pending " + std::to_string(parser.buffered());
}

std::string run_responses(const std::vector<std::string_view>& pieces, const Limits& limits,
                          bool head) {
  weft::http::ResponseParser parser(limits);
  parser.start(head ? "HEAD" : "GET");
  std::string out;
  ParseStatus status = ParseStatus::need_more;
  for (std::string_view piece : pieces) {
    status = parser.feed(piece);
    // Bounded: each round consumes at least one response's bytes or stops.
    while (status == ParseStatus::complete) {
      const auto& r = parser.response();
      check(r.body.size() <= limits.max_body);
      out += std::to_string(r.status) + std::string(r.body) + "\n";
      parser.start(head ? "HEAD" : "GET");
      status = parser.feed("");
    }
    if (status == ParseStatus::error) break;
  }
  if (status == ParseStatus::need_more) status = parser.finish();
  if (status == ParseStatus::complete) out += std::string(parser.response().body);
  if (status == ParseStatus::error) out += "error " + std::to_string(parser.error().status);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  Limits limits;
  if (control & 1) {
    limits = Limits{.max_request_line = 64,
                    .max_header_section = 128,
                    .max_header_fields = 4,
                    .max_body = 32,
                    .max_chunk_line = 16};
  }

  // Pieces whose sizes cycle through a pattern chosen by the control byte (1..8 bytes, or
  // halves), so splits land everywhere across runs.
  std::vector<std::string_view> pieces;
  const std::size_t stride = 1 + ((control >> 1) & 7);
  if (control & 0x10) {
    pieces = {input.substr(0, input.size() / 2), input.substr(input.size() / 2)};
  } else {
    for (std::size_t i = 0, n = 0; i < input.size(); i += n) {
      n = 1 + (stride + i) % (stride + 1);
      pieces.push_back(input.substr(i, n));
    }
  }

  check(run_requests({input}, limits) == run_requests(pieces, limits));
  const bool head = (control & 0x20) != 0;
  check(run_responses({input}, limits, head) == run_responses(pieces, limits, head));
  return 0;
}

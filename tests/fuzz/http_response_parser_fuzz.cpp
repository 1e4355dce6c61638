// libFuzzer target for weft::http::ResponseParser, the client side. On every input it checks:
//   - split invariance: the bytes fed whole and fed in pieces (sizes drawn from the input) give
//     the same responses, in the same order, and the same final verdict;
//   - bodies: never over Limits::max_body, and empty where the response can have none (the
//     answer to HEAD, 1xx, 204, 304);
//   - a status code of three digits, and errors with a listed status;
//   - no crash or undefined behaviour (ASan/UBSan); views are read while the parser lives.
// The first input byte picks the limits, the request method the responses answer (GET, HEAD,
// POST) and the piece sizes; the second whether finish() (the server closing) ends the input.
// Up to kMaxResponses responses are read from one input (keep-alive, pipelined answers).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/response_parser.hpp>

namespace {

using weft::http::Limits;
using weft::http::ParseStatus;

constexpr std::size_t kMaxResponses = 16;

void check(bool ok) {
  if (!ok) std::abort();
}

std::string_view pick_method(std::uint8_t choice) {
  switch ((choice >> 1) & 3) {
    case 1:
      return "HEAD";
    case 2:
      return "POST";
    default:
      return "GET";
  }
}

std::string describe(const weft::http::Response& r, const Limits& limits, bool head) {
  check(r.status >= 100 && r.status <= 999);
  check(r.body.size() <= limits.max_body);
  check(r.headers.size() <= limits.max_header_fields);
  check(r.trailers.size() <= limits.max_header_fields);
  const bool bodiless = head || r.status < 200 || r.status == 204 || r.status == 304;
  if (bodiless) check(r.body.empty() && !r.chunked);
  std::string out = std::to_string(r.status) + " " + std::string(r.reason);
  out += r.version == weft::http::Version::http_1_0 ? " 1.0" : " 1.1";
  for (const auto& h : r.headers) out.append("\n").append(h.name).append(":").append(h.value);
  out.append("\n[").append(r.body).append("]");
  for (const auto& t : r.trailers) out.append("\nt ").append(t.name).append(":").append(t.value);
  out += r.chunked ? " chunked" : "";
  out += r.keep_alive ? " keep-alive" : " close";
  return out + "\n--\n";
}

std::string run(const std::vector<std::string_view>& pieces, const Limits& limits,
                std::string_view method, bool close_at_end) {
  weft::http::ResponseParser parser(limits);
  const bool head = method == "HEAD";
  parser.start(method);
  std::string out;
  std::size_t responses = 0;
  ParseStatus status = ParseStatus::need_more;
  for (std::string_view piece : pieces) {
    status = parser.feed(piece);
    while (status == ParseStatus::complete) {
      out += describe(parser.response(), limits, head);
      // Stop at the cap before looking at the bytes after it, whatever the split fed so far.
      if (++responses == kMaxResponses) return out + "enough";
      parser.start(method);
      status = parser.feed("");
    }
    if (status == ParseStatus::error) break;
  }
  if (status == ParseStatus::need_more && close_at_end) {
    status = parser.finish();
    if (status == ParseStatus::complete) out += describe(parser.response(), limits, head);
  }
  if (status == ParseStatus::error) {
    const int code = parser.error().status;
    check(code == 400 || code == 413 || code == 414 || code == 431 || code == 501 || code == 505);
    out += "error " + std::to_string(code) + " " + std::string(parser.error().reason);
  } else if (status == ParseStatus::need_more) {
    out += "need_more";
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t control = data[0];
  const bool close_at_end = (data[1] & 1) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  Limits limits;
  if (control & 1) {
    limits = Limits{.max_request_line = 64,
                    .max_header_section = 128,
                    .max_header_fields = 4,
                    .max_body = 32,
                    .max_chunk_line = 16};
  }
  const std::string_view method = pick_method(control);

  // Byte by byte, halves, or sizes cycling through a pattern of 1..8 bytes.
  std::vector<std::string_view> pieces;
  const std::size_t stride = 1 + ((control >> 3) & 7);
  switch (control >> 6) {
    case 0:
      for (std::size_t i = 0; i < input.size(); ++i) pieces.push_back(input.substr(i, 1));
      break;
    case 1:
      pieces = {input.substr(0, input.size() / 2), input.substr(input.size() / 2)};
      break;
    default:
      for (std::size_t i = 0, n = 0; i < input.size(); i += n) {
        n = 1 + (stride + i) % (stride + 1);
        pieces.push_back(input.substr(i, n));
      }
      break;
  }

  check(run({input}, limits, method, close_at_end) == run(pieces, limits, method, close_at_end));
  return 0;
}

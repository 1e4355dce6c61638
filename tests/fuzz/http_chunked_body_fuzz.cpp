// libFuzzer target for the chunked body decoder, driven through weft::http::RequestParser: a
// fixed request head with "Transfer-Encoding: chunked" followed by the fuzz bytes as the body
// (chunk-size lines, extensions, data, trailers). It checks, on every input:
//   - split invariance: the stream fed whole and fed in pieces (sizes drawn from the input)
//     gives the same verdict, the same error status and reason, the same decoded body and the
//     same trailers;
//   - the decoded body never exceeds Limits::max_body, and an error carries a listed status;
//   - memory: what the parser holds on the heap after each feed() (ASan's count of allocated
//     bytes) stays within a bound. Two bounds are checked. The loose one holds today: never
//     more than the bytes fed so far (twice, for std::string's growth) plus the field vectors.
//     The tight one, tight_bound(), is a function of the limits and of the largest piece only,
//     whatever the wire bytes of the body: what the reader promises by erasing the chunk
//     framing it has consumed (a reader that kept it would break the bound within seconds
//     on one-byte chunks with long extensions).
// The first bytes of the input choose the limits, the piece sizes and how many times the body
// bytes are repeated (so that a short input can be a long stream of small chunks).

#include <sanitizer/allocator_interface.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/request_parser.hpp>

namespace {

using weft::http::Limits;
using weft::http::ParseStatus;

constexpr std::string_view kHead =
    "POST /upload HTTP/1.1\r\nHost: fuzz\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::size_t kHeaderBytes = 6;      // control, repeat, four piece sizes
constexpr std::size_t kMaxStream = 1 << 20;  // repeated bodies are cut here

void check(bool ok) {
  if (!ok) std::abort();
}

Limits pick_limits(std::uint8_t choice) {
  switch (choice & 3) {
    case 1:  // tiny: every limit is reachable with a short input
      return Limits{.max_request_line = 128,
                    .max_header_section = 128,
                    .max_header_fields = 4,
                    .max_body = 32,
                    .max_chunk_line = 16};
    case 2:  // long chunk lines, small body: where chunk framing outweighs the body
      return Limits{.max_request_line = 256,
                    .max_header_section = 512,
                    .max_header_fields = 8,
                    .max_body = 256,
                    .max_chunk_line = 512};
    case 3:  // a larger body against short lines
      return Limits{.max_request_line = 256,
                    .max_header_section = 256,
                    .max_header_fields = 8,
                    .max_body = 4096,
                    .max_chunk_line = 32};
    default:
      return Limits{};
  }
}

std::size_t heap_bytes() { return __sanitizer_get_current_allocated_bytes(); }

// The heap a parser may hold once consumed chunk framing is erased: the head and the trailers
// (each within its limit), the decoded body, one unfinished chunk line, the last piece; twice
// over for the buffer's growth; plus the field vectors and some slack for the allocator.
std::size_t tight_bound(const Limits& l, std::size_t largest_piece) {
  const std::size_t bytes =
      l.max_request_line + 2 * l.max_header_section + l.max_body + l.max_chunk_line + largest_piece;
  const std::size_t fields = 4 * (l.max_header_fields + 1) * 64;
  return 2 * bytes + fields + 4096;
}

struct Run {
  std::string outcome;
  std::size_t peak_heap = 0;  // above what was allocated before the parser existed
  std::size_t peak_fed = 0;   // stream bytes fed when that peak was seen
};

Run run(const std::vector<std::string_view>& pieces, const Limits& limits,
        std::size_t largest_piece) {
  Run out;
  const std::size_t baseline = heap_bytes();
  {
    weft::http::RequestParser parser(limits);
    ParseStatus status = ParseStatus::need_more;
    std::size_t fed = 0;
    for (std::string_view piece : pieces) {
      status = parser.feed(piece);
      fed += piece.size();
      const std::size_t now = heap_bytes();
      const std::size_t held = now > baseline ? now - baseline : 0;
      if (held > out.peak_heap) {
        out.peak_heap = held;
        out.peak_fed = fed;
      }
      // Loose: never more than the bytes fed (twice, for growth) and the field vectors.
      check(held <= 2 * fed + tight_bound(limits, 0));
      check(held <= tight_bound(limits, largest_piece));
      if (status != ParseStatus::need_more) break;
    }
    if (status == ParseStatus::complete) {
      const auto& r = parser.request();
      check(r.chunked);
      check(r.body.size() <= limits.max_body);
      check(r.trailers.size() <= limits.max_header_fields);
      out.outcome = "complete [" + std::string(r.body) + "]";
      for (const auto& t : r.trailers) {
        out.outcome.append(t.name).append(":").append(t.value).append("\n");
      }
    } else if (status == ParseStatus::error) {
      const int code = parser.error().status;
      // The head is fixed and valid: only the body can be refused, as malformed, too large or
      // with too many or too long trailers.
      check(code == 400 || code == 413 || code == 431);
      out.outcome = "error " + std::to_string(code) + " " + std::string(parser.error().reason);
    } else {
      check(parser.head_parsed());
      out.outcome = "need_more";
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < kHeaderBytes) return 0;
  const std::uint8_t control = data[0];
  const std::size_t repeat = 1 + (data[1] & 63);
  const std::uint8_t* sizes = data + 2;
  const std::string_view body(reinterpret_cast<const char*>(data + kHeaderBytes),
                              size - kHeaderBytes);
  const Limits limits = pick_limits(control);

  std::string stream(kHead);
  for (std::size_t i = 0; i < repeat && stream.size() < kMaxStream; ++i) stream.append(body);

  // Pieces: byte by byte, or sizes cycling through the four size bytes (1..64 each).
  std::vector<std::string_view> pieces;
  std::size_t largest = 0;
  const std::string_view all = stream;
  for (std::size_t at = 0, k = 0; at < all.size(); ++k) {
    const std::size_t n = (control & 4) ? 1 : 1 + (sizes[k % 4] & 63);
    pieces.push_back(all.substr(at, n));
    largest = std::max(largest, pieces.back().size());
    at += pieces.back().size();
  }

  const Run whole = run({all}, limits, all.size());
  const Run split = run(pieces, limits, largest);
  check(whole.outcome == split.outcome);
  return 0;
}

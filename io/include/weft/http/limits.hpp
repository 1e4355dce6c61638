#pragma once

// weft::http::Limits: how much of a message a parser accepts before refusing it. The parsers
// check every limit as the bytes arrive, so a peer that exceeds one is refused at the first byte
// past it: the parser never waits for, or keeps, the rest of an oversized line, header section
// or body (a Content-Length over max_body is refused before the first body byte).

#include <cstddef>

namespace weft::http {

struct Limits {
  // The request line (or a response's status line), counting its CRLF and any empty lines
  // before it. Over it: 414. 8 KiB: RELIABILITY.md, the figure most servers use.
  std::size_t max_request_line = 8 * 1024;
  // The header section after the request line: every field line with its CRLF plus the final
  // CRLF. Trailers get a budget of the same size of their own. Over it: 431.
  std::size_t max_header_section = 32 * 1024;
  // Field lines in the header section (and, separately, in the trailers). Over it: 431.
  std::size_t max_header_fields = 100;
  // The body after chunked decoding. Over it: 413 (a Content-Length over it is refused before
  // any body byte is read).
  std::size_t max_body = 1024 * 1024;
  // One chunk-size line with its extensions. Over it: 400. A guess: real extensions are short.
  std::size_t max_chunk_line = 4 * 1024;
};

}  // namespace weft::http

#pragma once

/// @file
/// weft::http::Limits: how much of a message a parser accepts before refusing it. The parsers
/// check every limit as the bytes arrive, so a peer that exceeds one is refused at the first byte
/// past it: the parser never waits for, or keeps, the rest of an oversized line, header section
/// or body (a Content-Length over max_body is refused before the first body byte).

#include <cstddef>

namespace weft::http {

/// Bounds a parser enforces on a message; past one, parsing fails with ParseError::status set.
struct Limits {
  /// The request line (or a response's status line), counting its CRLF and any empty lines
  /// before it. Over it: 414. 8 KiB: the figure most servers use.
  std::size_t max_request_line = 8 * 1024;
  /// The header section after the request line: every field line with its CRLF plus the final
  /// CRLF. Trailers get a budget of the same size of their own. Over it: 431.
  std::size_t max_header_section = 32 * 1024;
  /// Field lines in the header section (and, separately, in the trailers). Over it: 431.
  std::size_t max_header_fields = 100;
  /// The body after chunked decoding. Over it: 413 (a Content-Length over it is refused before
  /// any body byte is read).
  std::size_t max_body = 1024 * 1024;
  /// One chunk-size line with its extensions. Over it: 400. A guess: real extensions are short.
  std::size_t max_chunk_line = 4 * 1024;
  /// Chunk extensions of one message, all chunk lines together (the bytes after each chunk
  /// size). Over it: 400. Extensions carry nothing weft uses, and without this bound a body of
  /// one-byte chunks could cost max_chunk_line wire bytes per body byte: 4 GiB of parsing for a
  /// 1 MiB body. Bodies of many small chunks without extensions cost at most a few wire bytes
  /// per body byte, and the parser keeps none of them once parsed.
  std::size_t max_chunk_extensions = 16 * 1024;
  /// Interim (1xx) responses before the final one, in the response parser only. Over it: the
  /// response is malformed (400). A server sends one or two (100 Continue, 103 Early Hints);
  /// without a bound, a hostile one could keep a client reading interim heads forever.
  std::size_t max_interim_responses = 16;
};

}  // namespace weft::http

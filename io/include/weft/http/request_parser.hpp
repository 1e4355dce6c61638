#pragma once

/// @file
/// weft::http::RequestParser: a strict, incremental HTTP/1.1 request parser for servers.
///
///   weft::http::RequestParser parser;           // Limits{} by default
///   for (;;) {
///     auto n = co_await stream.read_some(buf);  // read only while need_more
///     switch (parser.feed({buf, n})) {
///       case ParseStatus::need_more: continue;
///       case ParseStatus::error: answer(parser.error().status); close(); break;
///       case ParseStatus::complete:
///         handle(parser.request());
///         parser.next();  // pipelined bytes already fed start the next request
///     }
///   }
///
/// Ownership: the parser copies fed bytes into its own buffer, and Request's string_views
/// (method, target, headers, body) point into it: they stay valid until the next call to next()
/// or reset() (bytes fed while a request is complete are kept aside, so a server may read ahead
/// while a handler still looks at the request). Nothing is copied per field, and chunked bodies
/// are decoded in place.
/// Memory: the buffer holds one message's head and decoded body plus what was fed beyond it;
/// chunk framing is dropped as it is parsed, so a server that reads only while feed() says
/// need_more keeps it within the Limits plus one read, whatever the chunking.
///
/// Strictness (RFC 9112, and the hostile inputs below) and the status of each refusal:
///   400  malformed request line or field line; bare CR or LF; obs-fold; whitespace before a
///        colon; control characters in the target or a field value; missing or repeated Host on
///        HTTP/1.1; Content-Length and Transfer-Encoding together; two Content-Length fields
///        (even with equal values: a list or repeat is what smuggling attacks rely on);
///        Content-Length not 1*DIGIT or over 2^64-1; Transfer-Encoding whose last coding is not
///        chunked, or chunked twice; Transfer-Encoding on HTTP/1.0; a bad or 64-bit-overflowing
///        chunk size; chunk data not followed by CRLF; a chunk extension off its grammar
///        (`;name[=token or "quoted-string"]`, an unterminated quote included) or chunk
///        extensions over Limits::max_chunk_extensions in one message; a Host value that is
///        not uri-host[:port].
///        Each is refused at the first byte that decides it: a request line at the first byte
///        no request line can have there (a TLS ClientHello or a NUL gets its 400 at once,
///        without waiting for a line end), a framing field (a second Host or Content-Length, a
///        bad Content-Length, Content-Length beside Transfer-Encoding) as soon as its line is
///        complete.
///   413  body (Content-Length or decoded chunks) over Limits::max_body.
///   414  request line over Limits::max_request_line.
///   431  header section over Limits::max_header_section or more than max_header_fields fields.
///   501  Transfer-Encoding with a coding weft does not decode before the final chunked
///        ("gzip, chunked"): well-formed, but not implemented.
///   505  a well-formed version other than 1.0 and 1.1 ("HTTP/2.0", also the HTTP/2 preface).
/// After an error the parser stays failed; the connection must be closed.

#include <cstddef>
#include <string_view>
#include <weft/http/detail/message_reader.hpp>
#include <weft/http/limits.hpp>
#include <weft/http/message.hpp>

#include "weft/io_export.hpp"

namespace weft::http {

/// An incremental HTTP/1.1 request parser for servers; see this file's description.
class WEFT_IO_API RequestParser {
 public:
  /// A parser enforcing `limits`.
  explicit RequestParser(const Limits& limits = {});

  /// Adds bytes and parses as far as they go. Once complete, further bytes are only buffered
  /// (for the next request) until next().
  ParseStatus feed(std::string_view bytes);
  /// As feed(bytes), for `size` bytes at `data`.
  ParseStatus feed(const void* data, std::size_t size) {
    return feed(std::string_view(static_cast<const char*>(data), size));
  }
  /// Drops the completed request and parses the next one from the bytes already fed.
  ParseStatus next();
  /// Back to a fresh connection's state; buffered bytes are dropped.
  void reset();
  /// Frees the buffer when no byte of a next request is buffered (idle keep-alive connections).
  void shrink_if_idle() { reader_.shrink_if_idle(); }

  /// Where parsing stands.
  [[nodiscard]] ParseStatus status() const noexcept { return status_; }
  /// Valid while status() is complete.
  [[nodiscard]] const Request& request() const noexcept { return request_; }
  /// Valid while status() is error.
  [[nodiscard]] const ParseError& error() const noexcept { return reader_.error(); }
  /// Bytes fed but not part of the current request (the start of pipelined ones).
  [[nodiscard]] std::size_t buffered() const noexcept { return reader_.buffered(); }
  /// The memory the parser's buffer holds: the head and decoded body of the current request
  /// plus at most one unfinished line and the last bytes fed (see Memory above).
  [[nodiscard]] std::size_t buffer_capacity() const noexcept { return reader_.capacity(); }
  /// The header section of the current request is parsed and its body is still arriving. With
  /// expects_continue(), a server answers "100 Continue" now (RFC 9110 10.1.1), since the
  /// client may hold the body back until it does.
  [[nodiscard]] bool head_parsed() const noexcept { return head_parsed_; }
  /// The current request said "Expect: 100-continue" (see head_parsed).
  [[nodiscard]] bool expects_continue() const noexcept { return expect_continue_; }
  /// No byte of a request is pending: a clean point for a keep-alive connection to close.
  [[nodiscard]] bool idle() const noexcept { return reader_.between_messages(); }

 private:
  ParseStatus run();
  /// The one-pass path for a request line that arrived whole; true when it took the line (and
  /// checked it: the reader may have failed).
  bool take_simple_request_line();
  bool on_request_line();
  /// The checks after the split and the version's syntax, shared by both paths; false after
  /// fail().
  bool check_request_line(std::size_t method_end, std::size_t target_end, int version);
  /// The request target's form against the method (RFC 9112 3.2); false after fail().
  bool check_target_form(std::string_view method, std::string_view target);
  bool on_head();
  void build_request();
  /// The start line's bytes so far, checked from line_checked_ on: nullptr while they can still
  /// begin a valid request line, else the reason for refusing them (400).
  const char* check_line_prefix(std::string_view line) noexcept;
  void reset_line_prefix() noexcept {
    line_phase_ = LinePhase::method;
    line_checked_ = phase_bytes_ = 0;
  }

  detail::MessageReader reader_;
  ParseStatus status_ = ParseStatus::need_more;
  Request request_;
  int version_ = 11;
  /// The method and the target within the request line, set by on_request_line().
  std::size_t method_end_ = 0;
  std::size_t target_begin_ = 0;
  std::size_t target_end_ = 0;
  bool head_parsed_ = false;
  bool chunked_ = false;
  bool expect_continue_ = false;
  /// check_line_prefix's progress through the current start line.
  enum class LinePhase : unsigned char { method, target, version };
  LinePhase line_phase_ = LinePhase::method;
  std::size_t line_checked_ = 0;  // bytes of the line checked so far
  std::size_t phase_bytes_ = 0;   // of those, in the current phase
};

}  // namespace weft::http

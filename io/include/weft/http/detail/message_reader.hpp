#pragma once

// weft::http::detail::MessageReader: the part of HTTP/1.1 message framing that requests and
// responses share. It owns the byte buffer and finds, strictly, the start line, the field lines,
// and the body (by length, chunked, or until the connection closes); the request and response
// parsers interpret the start line and the fields and choose the body framing.
//
// Incremental by construction: every check runs byte by byte in stream order from a cursor that
// survives between append() calls, and nothing depends on where one append ended. So any split
// of the same bytes yields the same events, the same error and the same message.
//
// Positions are offsets into the buffer, never pointers: appending may reallocate it. The
// parsers turn them into string_views only once a message is complete.
//
// Chunked bodies are decoded in place: chunk data is moved down over the chunk framing before
// it (the write cursor never passes the read cursor), so the body is one contiguous range of
// the buffer and decoding allocates nothing.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/limits.hpp>
#include <weft/http/message.hpp>

namespace weft::http::detail {

struct Range {
  std::size_t begin = 0;
  std::size_t end = 0;
};

struct FieldRange {
  Range name;
  Range value;
};

enum class BodyFraming { none, length, chunked, until_close };

class MessageReader {
 public:
  enum class Event {
    need_more,         // every buffered byte is consumed or waits for the rest of its line
    start_line,        // start_line() holds the first line; the parser checks it (or fail()s)
    head_complete,     // fields() holds the header; the parser calls begin_body() (or fail()s)
    message_complete,  // body() and trailers() are final; end() is where the next one starts
    error,
  };

  // `start_line_status`: the error status for an over-long start line (414 for requests).
  MessageReader(const Limits& limits, int start_line_status);

  void append(std::string_view bytes);
  [[nodiscard]] Event advance();
  // The peer closed the connection: an until-close body ends here; anything else is truncated.
  [[nodiscard]] Event finish_input();

  void begin_body(BodyFraming framing, std::uint64_t length = 0);
  void fail(int status, std::string_view reason) noexcept;

  // Forgets the finished message's bytes and starts on the next (pipelined) one.
  void start_next();
  // Drops everything, including buffered bytes.
  void reset();
  // Releases memory when no byte is buffered (an idle keep-alive connection).
  void shrink_if_idle();

  [[nodiscard]] std::string_view view(Range r) const noexcept {
    return std::string_view(buffer_).substr(r.begin, r.end - r.begin);
  }
  [[nodiscard]] Range start_line() const noexcept { return start_line_; }
  [[nodiscard]] const std::vector<FieldRange>& fields() const noexcept { return fields_; }
  [[nodiscard]] const std::vector<FieldRange>& trailers() const noexcept { return trailers_; }
  [[nodiscard]] Range body() const noexcept { return {body_begin_, body_end_}; }
  [[nodiscard]] const ParseError& error() const noexcept { return error_; }
  [[nodiscard]] bool failed() const noexcept { return state_ == State::failed; }
  [[nodiscard]] bool complete() const noexcept { return state_ == State::done; }
  // No byte of a new message has arrived yet (a clean place for the peer to close).
  [[nodiscard]] bool between_messages() const noexcept {
    return state_ == State::start_line && buffer_.size() == message_begin_;
  }
  [[nodiscard]] std::size_t buffered() const noexcept {
    return buffer_.size() - pos_ + pending_.size();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return buffer_.capacity(); }

 private:
  enum class State {
    start_line,
    fields,
    body_length,
    chunk_size,
    chunk_data,
    chunk_data_crlf,
    trailers,
    until_close,
    done,
    failed,
  };
  enum class LineScan { found, need_more, bare_cr, bare_lf, too_long };

  // Looks for the CRLF ending the line at pos_; the line with its CRLF may take at most
  // `limit` bytes counted from `origin`.
  LineScan scan_line(std::size_t origin, std::size_t limit, std::size_t& content_end);
  // Field line or trailer line; returns false after fail().
  bool take_field_line(std::vector<FieldRange>& into, Range line);
  bool take_chunk_size(Range line);
  void move_chunk_data();

  const Limits limits_;
  const int start_line_status_;
  std::string buffer_;
  std::string pending_;  // fed while a finished message is still being looked at
  State state_ = State::start_line;
  std::size_t message_begin_ = 0;
  std::size_t pos_ = 0;   // next unconsumed byte
  std::size_t scan_ = 0;  // how far the current line has been checked (>= pos_)
  std::size_t section_begin_ = 0;
  Range start_line_;
  std::vector<FieldRange> fields_;
  std::vector<FieldRange> trailers_;
  std::size_t body_begin_ = 0;
  std::size_t body_end_ = 0;         // == write cursor while decoding chunks
  std::uint64_t remaining_ = 0;      // of the Content-Length or of the current chunk
  std::uint64_t chunked_total_ = 0;  // decoded so far, against max_body
  ParseError error_;
};

// Byte classes from RFC 9110 5.6.2 / 5.5, shared by both parsers.
[[nodiscard]] constexpr bool is_tchar(unsigned char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}
[[nodiscard]] constexpr bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
// A field value may hold visible ASCII, SP, HTAB and obs-text (0x80-0xFF); never a control.
[[nodiscard]] constexpr bool is_field_value_char(unsigned char c) noexcept {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}
[[nodiscard]] bool is_token(std::string_view s) noexcept;
// 1*DIGIT without sign or overflow; false otherwise.
[[nodiscard]] bool parse_decimal(std::string_view s, std::uint64_t& out) noexcept;
// "HTTP/x.y": 0 for malformed, else 10 * x + y.
[[nodiscard]] int parse_version(std::string_view s) noexcept;

// What every Transfer-Encoding field of a message, taken as one list, asks for.
enum class TransferEncoding {
  absent,
  chunked,              // exactly one coding, chunked
  chunked_after_other,  // "gzip, chunked": framing understood, content coding not
  not_chunked_last,     // "gzip" or "chunked, gzip": framing unknown (RFC 9112 6.3)
  chunked_twice,        // RFC 9112 7: chunked is applied at most once
  malformed,            // empty list, not a token, parameters on chunked
};
[[nodiscard]] TransferEncoding classify_transfer_encoding(const MessageReader& reader) noexcept;

enum class ContentLength { absent, valid, repeated, invalid };
[[nodiscard]] ContentLength classify_content_length(const MessageReader& reader,
                                                    std::uint64_t& value) noexcept;
// How many fields are called `name`, and the value of the last one.
[[nodiscard]] std::size_t count_fields(const MessageReader& reader, std::string_view name,
                                       std::string_view* value = nullptr) noexcept;
// Connection: close / keep-alive tokens, applied to the version's default.
[[nodiscard]] bool decide_keep_alive(const MessageReader& reader, int version) noexcept;

}  // namespace weft::http::detail

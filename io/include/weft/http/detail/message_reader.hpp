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
// the buffer and decoding allocates nothing. The framing bytes so passed over (chunk-size
// lines, extensions, CRLFs) are erased from the buffer whenever advance() has consumed all it
// can, so a message holds its decoded body, its head, and at most one unfinished chunk line
// plus what the last append() brought: the wire bytes a body costs (one-byte chunks with long
// extensions) never accumulate. The erase moves only that unfinished tail, so it costs no more
// than the bytes it follows.
//
// Speed without a second grammar: a line that is already complete when it is first looked at
// takes one pass that finds its end and checks its bytes together (take_simple_field_lines,
// take_simple_start_line, and the request parser's take_simple_request_line through
// unscanned_start_line() and take_start_line()). Such a pass accepts a line only when it is
// complete, within its limit and passes every check of the careful path; anything else (part of
// a line, any refusal, any limit) goes to the careful path from the line's first byte, which
// decides alone. Both paths record the same line and the same field, so which one ran cannot
// show, and the careful path's order of checks (line end first, then content) is the only one
// that picks an error. A one-pass scan runs only on a line nothing of which has been scanned
// yet (scan_ == pos_), so a line that arrives in pieces costs it a few passes over the first
// piece, not one per piece (which would be quadratic). The scanning loops need no bound check:
// the byte after the buffered ones is the std::string's NUL terminator, and NUL stops every loop
// (it is in no byte class).
//
// Field names the parsers act on (FieldName) are classified once, as their line is taken, and
// counted, so the parsers look at the framing fields without comparing names again, and a
// message without, say, Transfer-Encoding costs nothing for it.
//
// A field line that no later byte can make acceptable is refused as it is taken, not when the
// header section ends: a second Content-Length or Host, a Content-Length that is not 1*DIGIT
// (or overflows), Content-Length beside Transfer-Encoding, an invalid Host. A peer learns of the
// refusal at once instead of at a timeout, and since the check runs in stream order on each
// line, the verdict is still the same however the bytes were split.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/limits.hpp>
#include <weft/http/message.hpp>

#include "weft/io_export.hpp"

namespace weft::http::detail {

struct Range {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// The header fields whose meaning the parsers act on; every other name is `other`.
enum class FieldName : std::uint8_t {
  other,
  host,
  content_length,
  transfer_encoding,
  connection,
  expect,
};
// One past the last FieldName.
inline constexpr std::size_t kFieldNames = static_cast<std::size_t>(FieldName::expect) + 1;

struct FieldRange {
  Range name;
  Range value;
  FieldName kind = FieldName::other;  // classified in the header section only, not in trailers
};

enum class BodyFraming { none, length, chunked, until_close };

// Which side's messages a reader frames: a request's start line over its limit is a 414 and its
// Host field is checked; a response's start line over its limit is merely malformed (400).
enum class MessageKind : std::uint8_t { request, response };

class WEFT_IO_API MessageReader {
 public:
  enum class Event {
    need_more,         // every buffered byte is consumed or waits for the rest of its line
    start_line,        // start_line() holds the first line; the parser checks it (or fail()s)
    head_complete,     // fields() holds the header; the parser calls begin_body() (or fail()s)
    message_complete,  // body() and trailers() are final; end() is where the next one starts
    error,
  };

  MessageReader(const Limits& limits, MessageKind kind);

  void append(std::string_view bytes);
  [[nodiscard]] Event advance() {
    // Inline, the common steps of a message that arrived whole: the one-pass paths (see the
    // design comment) for the start line and the header section, and the end of a message
    // whose head was all of it. Everything else is advance_states().
    switch (state_) {
      case State::start_line:
        if (scan_ == pos_ && take_simple_start_line()) return Event::start_line;
        break;
      case State::fields:
        if (scan_ == pos_ && take_simple_field_lines(fields_)) return Event::head_complete;
        break;
      case State::done:
        return Event::message_complete;
      default:
        break;
    }
    return advance_states();
  }
  // The peer closed the connection: an until-close body ends here; anything else is truncated.
  [[nodiscard]] Event finish_input();

  void begin_body(BodyFraming framing, std::uint64_t length = 0) {
    body_begin_ = body_end_ = pos_;
    chunked_total_ = 0;
    extension_bytes_ = 0;
    // Inline for the common case, a message without a body.
    if (framing == BodyFraming::none) {
      state_ = State::done;
    } else {
      begin_framed_body(framing, length);
    }
  }
  void fail(int status, std::string_view reason) noexcept;

  // Forgets the finished message's bytes and starts on the next (pipelined) one.
  void start_next();
  // Drops everything, including buffered bytes.
  void reset();
  // Releases memory when no byte is buffered (an idle keep-alive connection).
  void shrink_if_idle();

  // Every Range the reader hands out lies within the buffer, so no bound is checked here.
  [[nodiscard]] std::string_view view(Range r) const noexcept {
    return std::string_view(buffer_.data() + r.begin, r.end - r.begin);
  }
  // For a parser that checks its start line in the pass that finds its end: the bytes from the
  // read position on, when the start line has not been looked at yet (empty otherwise). The
  // buffer's NUL terminator follows them.
  [[nodiscard]] std::string_view unscanned_start_line() const noexcept {
    if (state_ != State::start_line || scan_ != pos_) return {};
    return std::string_view(buffer_.data() + pos_, buffer_.size() - pos_);
  }
  // Takes the first `length` of those bytes as the start line, exactly as scan_line would: the
  // caller has checked that there is at least one and that all are field-value bytes (so none
  // is CR or LF); CRLF must follow them, within the limit. False, with nothing taken, otherwise.
  bool take_start_line(std::size_t length) {
    // What scan_line decides for such a line: found. An empty line is left to it (it skips
    // those).
    const std::size_t cr = pos_ + length;
    const char* const data = buffer_.data();
    if (length == 0 || cr >= buffer_.size() || data[cr] != '\r' || data[cr + 1] != '\n' ||
        cr + 2 > message_begin_ + limits_.max_request_line) {
      return false;
    }
    start_line_ = {pos_, cr};
    pos_ = section_begin_ = scan_ = cr + 2;
    state_ = State::fields;
    return true;
  }
  // Until this message's start line is taken (also after the reader refused it): the bytes
  // buffered from its first one on, up to the start line's limit, so that a parser can refuse
  // a line that no further byte could make valid without waiting for its end. Empty lines
  // before it are not part of it once they are complete (they are skipped). Empty once the
  // start line is taken.
  [[nodiscard]] std::string_view start_line_so_far() const noexcept {
    // A taken start line is never empty, so end == 0 means none is taken.
    if (start_line_.end != 0 || (state_ != State::start_line && state_ != State::failed)) {
      return {};
    }
    const std::size_t limit = message_begin_ + limits_.max_request_line;
    const std::size_t end = buffer_.size() < limit ? buffer_.size() : limit;
    return end > pos_ ? std::string_view(buffer_.data() + pos_, end - pos_) : std::string_view();
  }
  // A refusal the parser found in the start line takes the place of the reader's: the parser's
  // check runs in stream order on the bytes before the line end or the limit, so its verdict
  // is about an earlier byte than the reader's (a bare CR, the limit).
  void refail(int status, std::string_view reason) noexcept { fail(status, reason); }
  // The header section is still arriving: fields() holds the field lines taken so far.
  [[nodiscard]] bool in_header_section() const noexcept { return state_ == State::fields; }
  // Without its CRLF, which follows it in the buffer (so view(start_line()).data()[size] is CR).
  [[nodiscard]] Range start_line() const noexcept { return start_line_; }
  [[nodiscard]] const std::vector<FieldRange>& fields() const noexcept { return fields_; }
  [[nodiscard]] const std::vector<FieldRange>& trailers() const noexcept { return trailers_; }
  // How many header fields (not trailers) have the name `kind`.
  [[nodiscard]] std::size_t field_count(FieldName kind) const noexcept {
    return field_counts_[static_cast<std::size_t>(kind)];
  }
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

  Event advance_states();
  void begin_framed_body(BodyFraming framing, std::uint64_t length);
  // Looks for the CRLF ending the line at pos_; the line with its CRLF may take at most
  // `limit` bytes counted from `origin`.
  LineScan scan_line(std::size_t origin, std::size_t limit, std::size_t& content_end);
  // The one-pass path for the start line at pos_: true when it took it (state fields), false
  // when scan_line must decide.
  bool take_simple_start_line();
  // The one-pass path (see the design comment): records the complete, acceptable field lines
  // from pos_ on and moves pos_ (and scan_) past them. True when it also took the empty line
  // ending the section; false when the careful path must decide on the line at pos_.
  bool take_simple_field_lines(std::vector<FieldRange>& into);
  // Field line or trailer line; returns false after fail().
  bool take_field_line(std::vector<FieldRange>& into, Range line);
  // Records a field line; false after fail() when it is a framing field no later byte could
  // make acceptable (see the design comment).
  bool record_field(std::vector<FieldRange>& into, Range name, Range value);
  bool check_framing_field(FieldName kind, Range value);
  bool take_chunk_size(Range line);
  // The chunk extensions of a chunk-size line, [begin, end) after its digits (RFC 9112 7.1.1);
  // false after fail().
  bool check_chunk_extensions(std::size_t begin, std::size_t end);
  void move_chunk_data();
  // Erases the chunk framing between the decoded body and the read position (see the design
  // comment); called when advance() stops for more bytes inside a chunked body.
  void drop_consumed_framing();

  const Limits limits_;
  const MessageKind kind_;
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
  std::array<std::size_t, kFieldNames> field_counts_{};  // of fields_, by FieldName
  std::size_t body_begin_ = 0;
  std::size_t body_end_ = 0;         // == write cursor while decoding chunks
  std::uint64_t remaining_ = 0;      // of the Content-Length or of the current chunk
  std::uint64_t chunked_total_ = 0;  // decoded so far, against max_body
  std::size_t extension_bytes_ = 0;  // chunk extensions so far, against max_chunk_extensions
  // The last Host value found valid on this connection (requests only); usually short enough
  // for the string's inline storage, so keeping it allocates nothing.
  std::string last_valid_host_;
  ParseError error_;
};

// Byte classes from RFC 9110 5.6.2 / 5.5, shared by both parsers, as one table so that each
// test is a single load in the scanning loops. NUL is in no class (the loops rely on it).
namespace byte_class {
inline constexpr std::uint8_t tchar = 1;
// Visible ASCII, SP, HTAB and obs-text (0x80-0xFF): what a field value may hold; never a
// control, so never CR or LF.
inline constexpr std::uint8_t field_value = 2;
// unreserved and sub-delims (RFC 3986 2.2, 2.3): a reg-name's bytes besides %HH escapes.
inline constexpr std::uint8_t reg_name = 4;
}  // namespace byte_class

[[nodiscard]] constexpr std::array<std::uint8_t, 256> make_byte_classes() noexcept {
  std::array<std::uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    bool tchar = alnum;
    for (const char special : std::string_view("!#$%&'*+-.^_`|~")) tchar = tchar || c == special;
    const bool field_value = c == '\t' || (c >= 0x20 && c != 0x7f);
    bool reg_name = alnum;
    for (const char special : std::string_view("-._~!$&'()*+,;="))
      reg_name = reg_name || c == special;
    table[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(
        (tchar ? byte_class::tchar : 0) | (field_value ? byte_class::field_value : 0) |
        (reg_name ? byte_class::reg_name : 0));
  }
  return table;
}
inline constexpr std::array<std::uint8_t, 256> kByteClasses = make_byte_classes();

[[nodiscard]] constexpr bool is_tchar(unsigned char c) noexcept {
  return (kByteClasses[c] & byte_class::tchar) != 0;
}
[[nodiscard]] constexpr bool is_digit(unsigned char c) noexcept { return c >= '0' && c <= '9'; }
[[nodiscard]] constexpr bool is_field_value_char(unsigned char c) noexcept {
  return (kByteClasses[c] & byte_class::field_value) != 0;
}

// Eight bytes at a time, for the long runs of field-value bytes in lines (where SSE2 is not
// there to take sixteen). A word is loaded in little-endian order (the first byte in memory is
// the least significant), and a mask has bit 7 of each byte set where the byte is flagged.
// less() can also flag bytes above a truly flagged one (its borrow runs upwards), never below
// it; so in a mask, or an OR of masks, the lowest flag is always exact, and first() is the
// index of the first flagged byte in memory order, which is all the scanners use.
namespace word {
inline constexpr std::uint64_t kOnes = 0x0101010101010101;
inline constexpr std::uint64_t kHighBits = 0x8080808080808080;
[[nodiscard]] inline std::uint64_t load(const void* p) noexcept {
  std::uint64_t x = 0;
  std::memcpy(&x, p, sizeof x);
  if constexpr (std::endian::native == std::endian::big) x = __builtin_bswap64(x);
  return x;
}
// Bytes below n (n <= 0x80): the lowest one borrows, and its bit 7 is clear in x.
[[nodiscard]] constexpr std::uint64_t less(std::uint64_t x, std::uint8_t n) noexcept {
  return (x - kOnes * n) & ~x & kHighBits;
}
[[nodiscard]] constexpr std::uint64_t equal(std::uint64_t x, std::uint8_t b) noexcept {
  return less(x ^ (kOnes * b), 1);
}
// Controls and DEL: the bytes that are not field-value bytes, and HTAB, which is one.
[[nodiscard]] constexpr std::uint64_t control(std::uint64_t x) noexcept {
  return less(x, 0x20) | equal(x, 0x7f);
}
[[nodiscard]] inline std::size_t first(std::uint64_t mask) noexcept {
  return static_cast<std::size_t>(std::countr_zero(mask)) / 8;
}
}  // namespace word
[[nodiscard]] WEFT_IO_API bool is_token(std::string_view s) noexcept;
// A Host field value: uri-host [ ":" port ] (RFC 9112 3.2, RFC 3986 3.2.2): a reg-name of
// unreserved, sub-delims and %HH escapes, or an IP literal in brackets; an empty value is valid
// (a request whose target has no authority).
[[nodiscard]] WEFT_IO_API bool is_valid_host(std::string_view value) noexcept;
// 1*DIGIT without sign or overflow; false otherwise.
[[nodiscard]] WEFT_IO_API bool parse_decimal(std::string_view s, std::uint64_t& out) noexcept;
// "HTTP/x.y": 0 for malformed, else 10 * x + y. Inline: it runs once per message.
[[nodiscard]] constexpr int parse_version(std::string_view s) noexcept {
  if (s.size() != 8) return 0;
  if (s == "HTTP/1.1") return 11;  // one 8-byte comparison for nearly every message
  if (s.substr(0, 5) != "HTTP/" || s[6] != '.') return 0;
  if (!is_digit(static_cast<unsigned char>(s[5])) || !is_digit(static_cast<unsigned char>(s[7]))) {
    return 0;
  }
  return (s[5] - '0') * 10 + (s[7] - '0');
}

// What every Transfer-Encoding field of a message, taken as one list, asks for.
enum class TransferEncoding {
  absent,
  chunked,              // exactly one coding, chunked
  chunked_after_other,  // "gzip, chunked": framing understood, content coding not
  not_chunked_last,     // "gzip" or "chunked, gzip": framing unknown (RFC 9112 6.3)
  chunked_twice,        // RFC 9112 7: chunked is applied at most once
  malformed,            // empty list, not a token, parameters on chunked
};
[[nodiscard]] WEFT_IO_API TransferEncoding
classify_transfer_encoding_fields(const MessageReader& reader) noexcept;
// Inline, like the two below: most messages have no such field, and the count says so.
[[nodiscard]] inline TransferEncoding classify_transfer_encoding(
    const MessageReader& reader) noexcept {
  if (reader.field_count(FieldName::transfer_encoding) == 0) return TransferEncoding::absent;
  return classify_transfer_encoding_fields(reader);
}

enum class ContentLength { absent, valid, repeated, invalid };
// The one Content-Length field's value.
[[nodiscard]] WEFT_IO_API ContentLength parse_content_length_field(const MessageReader& reader,
                                                                   std::uint64_t& value) noexcept;
[[nodiscard]] inline ContentLength classify_content_length(const MessageReader& reader,
                                                           std::uint64_t& value) noexcept {
  const std::size_t n = reader.field_count(FieldName::content_length);
  if (n == 0) return ContentLength::absent;
  if (n > 1) return ContentLength::repeated;
  return parse_content_length_field(reader, value);
}

// Connection: close / keep-alive tokens, applied to the version's default.
[[nodiscard]] WEFT_IO_API bool decide_keep_alive_fields(const MessageReader& reader,
                                                        int version) noexcept;
[[nodiscard]] inline bool decide_keep_alive(const MessageReader& reader, int version) noexcept {
  // 1.0 needs an explicit keep-alive (RFC 9112 9.3).
  if (reader.field_count(FieldName::connection) == 0) return version >= 11;
  return decide_keep_alive_fields(reader, version);
}

}  // namespace weft::http::detail

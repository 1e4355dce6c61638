// The shared framing of HTTP/1.1 messages; see the design comment in message_reader.hpp. Chunked
// body decoding is in message_reader_chunked.cpp.

#include <bit>
#include <cstring>
#include <limits>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <weft/http/detail/message_reader.hpp>

#include "message_reader_shared.hpp"

namespace weft::http::detail {

namespace {

// `lower` is a lowercase name of letters and '-', at least 4 long; `name` is a field name of
// the same length, so only tchars. For those, setting bit 0x20 lowercases a letter and leaves
// '-' alone, and no other tchar becomes a letter or '-' by it (0x0D, which would become '-', is
// CR), so this is iequals for them, done with word loads (the last one may overlap the one
// before it; with a constant `lower`, it compiles to two or three comparisons).
bool is_name(const char* name, std::string_view lower) noexcept {
  const std::size_t n = lower.size();
  if (n < 8) {
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    std::uint32_t c = 0;
    std::uint32_t d = 0;
    std::memcpy(&a, name, 4);
    std::memcpy(&b, lower.data(), 4);
    std::memcpy(&c, name + n - 4, 4);
    std::memcpy(&d, lower.data() + n - 4, 4);
    return (a | 0x20202020) == b && (c | 0x20202020) == d;
  }
  constexpr std::uint64_t kLowerBits = 0x2020202020202020;
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    if ((word::load(name + i) | kLowerBits) != word::load(lower.data() + i)) return false;
  }
  return (word::load(name + n - 8) | kLowerBits) == word::load(lower.data() + n - 8);
}

// The lengths of the names are all different, so one comparison decides.
FieldName classify_name(const char* name, std::size_t size) noexcept {
  switch (size) {
    case 4:
      return is_name(name, "host") ? FieldName::host : FieldName::other;
    case 6:
      return is_name(name, "expect") ? FieldName::expect : FieldName::other;
    case 10:
      return is_name(name, "connection") ? FieldName::connection : FieldName::other;
    case 14:
      return is_name(name, "content-length") ? FieldName::content_length : FieldName::other;
    case 17:
      return is_name(name, "transfer-encoding") ? FieldName::transfer_encoding : FieldName::other;
    default:
      return FieldName::other;
  }
}

// The first byte at or after p that is not a field-value byte: CR or LF at a line's end, or a
// stray control. There must be one before `end` or at it (the buffer's NUL terminator).
// Out of line on purpose: inlined, clang keeps an induction variable in the tail loop for each
// later use of the result, and the call is cheaper than that.
[[gnu::noinline]] const char* skip_field_value(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i below_space = _mm_set1_epi8(0x1f);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // min(x, 0x1f) == x exactly for the bytes below 0x20 (unsigned).
    const __m128i controls =
        _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, below_space), x), _mm_cmpeq_epi8(x, del));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(controls));
    if (mask == 0) {
      p += 16;
      continue;
    }
    p += std::countr_zero(mask);
    if (*p != '\t') return p;
    ++p;  // HTAB belongs to the value
  }
#endif
  while (end - p >= 8) {
    const std::uint64_t controls = word::control(word::load(p));
    if (controls == 0) {
      p += 8;
      continue;
    }
    p += word::first(controls);
    if (*p != '\t') return p;
    ++p;  // HTAB belongs to the value
  }
  while (is_field_value_char(static_cast<unsigned char>(*p))) ++p;
  return p;
}

// The first byte at or after p that is not a tchar; the NUL terminator is one. Unrolled by
// hand: p[k + 1] is read only after p[k] was a tchar, so not the terminator.
inline const char* skip_tchars(const char* p) noexcept {
  const auto tchar = [](char c) { return is_tchar(static_cast<unsigned char>(c)); };
  for (;; p += 4) {
    if (!tchar(p[0])) return p;
    if (!tchar(p[1])) return p + 1;
    if (!tchar(p[2])) return p + 2;
    if (!tchar(p[3])) return p + 3;
  }
}

}  // namespace

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

namespace {

// is_valid_host for what the fast path left: IP literals, %HH escapes, and every refusal.
bool is_valid_host_slow(std::string_view value) noexcept {
  const auto is_name_char = [](unsigned char c) {
    return (kByteClasses[c] & byte_class::reg_name) != 0;
  };
  const auto is_hex = [](char c) { return hex_value(c) >= 0; };
  std::size_t i = 0;
  const std::size_t n = value.size();
  if (n > 0 && value[0] == '[') {
    // IP-literal: an IPv6 address or an IPvFuture; their characters (hex digits, ':', '.', and
    // for IPvFuture unreserved and sub-delims) are checked, not their full grammar: what
    // matters here is that nothing outside the brackets' alphabet gets through.
    const std::size_t close = value.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (i = 1; i < close; ++i) {
      const auto c = static_cast<unsigned char>(value[i]);
      if (!is_name_char(c) && c != ':') return false;
    }
    i = close + 1;
  } else {
    while (i < n && value[i] != ':') {
      const auto c = static_cast<unsigned char>(value[i]);
      if (c == '%') {
        if (i + 2 >= n || !is_hex(value[i + 1]) || !is_hex(value[i + 2])) return false;
        i += 3;
        continue;
      }
      if (!is_name_char(c)) return false;
      ++i;
    }
  }
  if (i == n) return true;
  if (value[i] != ':') return false;  // bytes after an IP literal's ']'
  for (++i; i < n; ++i) {
    if (!is_digit(static_cast<unsigned char>(value[i]))) return false;
  }
  return true;
}

}  // namespace

bool is_valid_host(std::string_view value) noexcept {
  // The usual Host, a name or an IPv4 address with an optional port, in one pass over the
  // byte table (a few instructions a byte: it runs for every request); anything else, and
  // every refusal, is decided by the full check.
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const auto* const end = p + value.size();
  while (p != end && (kByteClasses[*p] & byte_class::reg_name) != 0) ++p;
  if (p != end && *p == ':') {
    ++p;
    while (p != end && is_digit(*p)) ++p;
  }
  return p == end || is_valid_host_slow(value);
}

bool parse_decimal(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t value = 0;
  for (char c : s) {
    if (!is_digit(static_cast<unsigned char>(c))) return false;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
  }
  out = value;
  return true;
}

TransferEncoding classify_transfer_encoding_fields(const MessageReader& reader) noexcept {
  std::size_t codings = 0;
  bool last_is_chunked = false;
  bool chunked_seen = false;
  for (const FieldRange& f : reader.fields()) {
    if (f.kind != FieldName::transfer_encoding) continue;
    std::string_view rest = reader.view(f.value);
    for (;;) {
      const auto comma = rest.find(',');
      std::string_view element = rest.substr(0, comma);
      while (!element.empty() && is_ows(element.front())) element.remove_prefix(1);
      while (!element.empty() && is_ows(element.back())) element.remove_suffix(1);
      // RFC 9110 5.6.1: empty list elements are legal and mean nothing.
      if (!element.empty()) {
        const auto semicolon = element.find(';');
        std::string_view name = element.substr(0, semicolon);
        while (!name.empty() && is_ows(name.back())) name.remove_suffix(1);
        if (!is_token(name)) return TransferEncoding::malformed;
        const bool chunked = iequals(name, "chunked");
        if (chunked && semicolon != std::string_view::npos) return TransferEncoding::malformed;
        if (chunked && chunked_seen) return TransferEncoding::chunked_twice;
        chunked_seen = chunked_seen || chunked;
        last_is_chunked = chunked;
        ++codings;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (codings == 0) return TransferEncoding::malformed;
  if (!last_is_chunked) return TransferEncoding::not_chunked_last;
  return codings == 1 ? TransferEncoding::chunked : TransferEncoding::chunked_after_other;
}

ContentLength parse_content_length_field(const MessageReader& reader,
                                         std::uint64_t& value) noexcept {
  for (const FieldRange& f : reader.fields()) {
    if (f.kind != FieldName::content_length) continue;
    return parse_decimal(reader.view(f.value), value) ? ContentLength::valid
                                                      : ContentLength::invalid;
  }
  return ContentLength::absent;  // unreachable: classify_content_length counted one
}

bool decide_keep_alive_fields(const MessageReader& reader, int version) noexcept {
  bool close = false;
  bool keep_alive = false;
  for (const FieldRange& f : reader.fields()) {
    if (f.kind != FieldName::connection) continue;
    std::string_view rest = reader.view(f.value);
    for (;;) {
      const auto comma = rest.find(',');
      std::string_view element = rest.substr(0, comma);
      while (!element.empty() && is_ows(element.front())) element.remove_prefix(1);
      while (!element.empty() && is_ows(element.back())) element.remove_suffix(1);
      close = close || iequals(element, "close");
      keep_alive = keep_alive || iequals(element, "keep-alive");
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  // "close" wins over everything (RFC 9112 9.6); 1.0 needs an explicit keep-alive (9.3).
  if (close) return false;
  return version >= 11 || keep_alive;
}

MessageReader::MessageReader(const Limits& limits, MessageKind kind)
    : limits_(limits), kind_(kind) {}

void MessageReader::append(std::string_view bytes) {
  // After an error nothing more is looked at, so nothing more is kept.
  if (state_ == State::failed) return;
  // The finished message's views point into buffer_; growing it could move them. Bytes of the
  // next message wait aside until start_next().
  if (state_ == State::done) {
    pending_.append(bytes);
    return;
  }
  buffer_.append(bytes);
}

void MessageReader::fail(int status, std::string_view reason) noexcept {
  state_ = State::failed;
  error_ = ParseError{status, reason};
}

MessageReader::LineScan MessageReader::scan_line(std::size_t origin, std::size_t limit,
                                                 std::size_t& content_end) {
  const char* data = buffer_.data();
  const std::size_t size = buffer_.size();
  // Bytes past origin + limit cannot change the outcome: the limit is reached first, whatever
  // they are (the loop may read them, but a line end found there counts as none).
  const std::size_t stop = origin + limit < size ? origin + limit : size;
  std::size_t i = scan_;
  for (;;) {
    // Field-value bytes are all but the controls (CR, LF and NUL among them) and DEL, so this
    // stops at the line end, at the NUL terminator at data[size], or at a stray control, which
    // the line's content checks refuse later, not this scan.
    i = static_cast<std::size_t>(skip_field_value(data + i, data + size) - data);
    if (data[i] == '\r' || data[i] == '\n' || i >= size) break;
    ++i;
  }
  if (i >= stop) {
    scan_ = stop;
    return size > origin + limit ? LineScan::too_long : LineScan::need_more;
  }
  if (data[i] == '\n') return LineScan::bare_lf;
  // data[i] is CR: it must be followed by LF, and the LF must fit in the limit too.
  if (i + 1 == size) {
    scan_ = i;
    return LineScan::need_more;
  }
  if (data[i + 1] != '\n') return LineScan::bare_cr;
  if (i + 2 > origin + limit) return LineScan::too_long;
  content_end = i;
  scan_ = i + 2;
  return LineScan::found;
}

bool MessageReader::take_simple_start_line() {
  const char* const line = buffer_.data() + pos_;
  const char* const end = skip_field_value(line, buffer_.data() + buffer_.size());
  return take_start_line(static_cast<std::size_t>(end - line));
}

bool MessageReader::check_framing_field(FieldName kind, Range value) {
  const std::size_t count = field_counts_[static_cast<std::size_t>(kind)];
  switch (kind) {
    case FieldName::content_length: {
      // RFC 9112 6.3: a list or a repeat is what smuggling relies on, even with equal values.
      if (count > 1) {
        fail(kBadRequest, "more than one Content-Length");
        return false;
      }
      std::uint64_t length = 0;
      if (!parse_decimal(view(value), length)) {
        fail(kBadRequest, "invalid Content-Length");
        return false;
      }
      if (field_counts_[static_cast<std::size_t>(FieldName::transfer_encoding)] != 0) {
        fail(kBadRequest, "Content-Length and Transfer-Encoding");
        return false;
      }
      return true;
    }
    case FieldName::transfer_encoding:
      if (field_counts_[static_cast<std::size_t>(FieldName::content_length)] != 0) {
        fail(kBadRequest, "Content-Length and Transfer-Encoding");
        return false;
      }
      return true;
    case FieldName::host:
      if (kind_ != MessageKind::request) return true;
      if (count > 1) {  // RFC 9112 3.2: MUST answer 400
        fail(kBadRequest, "more than one Host");
        return false;
      }
      {
        // A keep-alive client sends the same Host with every request: the one validated last
        // is not checked again (a comparison instead of a pass over the byte table).
        const std::string_view host = view(value);
        if (host == last_valid_host_) return true;
        if (!is_valid_host(host)) {
          fail(kBadRequest, "invalid Host");
          return false;
        }
        last_valid_host_.assign(host);
      }
      return true;
    default:
      return true;
  }
}

// Inlined: it runs once per field line, from both paths.
[[gnu::always_inline]] inline bool MessageReader::record_field(std::vector<FieldRange>& into,
                                                               Range name, Range value) {
  FieldName kind = FieldName::other;
  if (&into == &fields_) {
    kind = classify_name(buffer_.data() + name.begin, name.end - name.begin);
    ++field_counts_[static_cast<std::size_t>(kind)];
  }
  into.push_back({name, value, kind});
  return kind == FieldName::other || check_framing_field(kind, value);
}

bool MessageReader::take_simple_field_lines(std::vector<FieldRange>& into) {
  const char* const data = buffer_.data();
  const char* const end = data + buffer_.size();
  // The limit of scan_line's test for a found line: its CRLF must end by here.
  const std::size_t section_end = section_begin_ + limits_.max_header_section;
  std::size_t fields = into.size();
  // Each scan stops at the first byte outside its class; the NUL at *end is in none, so none
  // runs past the buffered bytes. pos_ == scan_ between lines.
  for (;;) {
    const char* const line = data + pos_;
    if (line[0] == '\r') {
      // The empty line ending the section, when its LF is here too and within the limit.
      if (line[1] != '\n' || pos_ + 2 > section_end) return false;
      pos_ = scan_ = pos_ + 2;
      return true;
    }
    const char* p = skip_tchars(line);
    if (p == line || *p != ':') return false;  // obs-fold, no colon, space before it, ...
    const char* const colon = p++;
    while (is_ows(*p)) ++p;
    const char* const value = p;
    // Field-value bytes exclude every control, CR and LF included: the scan ends at the line
    // end when the value is acceptable.
    p = skip_field_value(p, end);
    // *p == '\r' means p < end, so p[1] is at most the terminator.
    if (p[0] != '\r' || p[1] != '\n') return false;
    const auto cr = static_cast<std::size_t>(p - data);
    // scan_line's limit test, then take_field_line's field count.
    if (cr + 2 > section_end || fields == limits_.max_header_fields) return false;
    while (p > value && is_ows(p[-1])) --p;
    const bool accepted =
        record_field(into, {pos_, static_cast<std::size_t>(colon - data)},
                     {static_cast<std::size_t>(value - data), static_cast<std::size_t>(p - data)});
    ++fields;
    pos_ = scan_ = cr + 2;
    if (!accepted) return false;  // failed: advance_states() reports it
  }
}

bool MessageReader::take_field_line(std::vector<FieldRange>& into, Range line) {
  const char* data = buffer_.data();
  if (is_ows(data[line.begin])) {
    // obs-fold (RFC 9112 5.2): a server may reject it instead of unfolding; strict means reject.
    fail(kBadRequest, "obs-fold line continuation");
    return false;
  }
  std::size_t i = line.begin;
  while (i < line.end && is_tchar(static_cast<unsigned char>(data[i]))) ++i;
  if (i == line.end) {
    fail(kBadRequest, "field line without a colon");
    return false;
  }
  if (data[i] != ':') {
    // RFC 9112 5.1: whitespace between name and colon MUST be rejected (request smuggling).
    fail(kBadRequest,
         is_ows(data[i]) ? "whitespace before the colon" : "invalid character in a field name");
    return false;
  }
  if (i == line.begin) {
    fail(kBadRequest, "empty field name");
    return false;
  }
  const Range name{line.begin, i};
  std::size_t value_begin = i + 1;
  std::size_t value_end = line.end;
  while (value_begin < value_end && is_ows(data[value_begin])) ++value_begin;
  while (value_end > value_begin && is_ows(data[value_end - 1])) --value_end;
  for (std::size_t j = value_begin; j < value_end; ++j) {
    if (!is_field_value_char(static_cast<unsigned char>(data[j]))) {
      fail(kBadRequest, "control character in a field value");
      return false;
    }
  }
  if (into.size() == limits_.max_header_fields) {
    fail(kFieldsTooLarge, "too many header fields");
    return false;
  }
  return record_field(into, name, {value_begin, value_end});
}

void MessageReader::begin_framed_body(BodyFraming framing, std::uint64_t length) {
  switch (framing) {
    case BodyFraming::none:
      state_ = State::done;
      break;
    case BodyFraming::length:
      if (length > limits_.max_body) {
        fail(kContentTooLarge, "body over the limit");
        return;
      }
      remaining_ = length;
      state_ = State::body_length;
      break;
    case BodyFraming::chunked:
      state_ = State::chunk_size;
      break;
    case BodyFraming::until_close:
      state_ = State::until_close;
      break;
  }
}

MessageReader::Event MessageReader::advance_states() {
  for (;;) {
    switch (state_) {
      case State::start_line: {
        if (scan_ == pos_ && take_simple_start_line()) return Event::start_line;
        std::size_t content_end = 0;
        switch (scan_line(message_begin_, limits_.max_request_line, content_end)) {
          case LineScan::need_more:
            return Event::need_more;
          case LineScan::bare_cr:
            fail(kBadRequest, "bare CR in the start line");
            return Event::error;
          case LineScan::bare_lf:
            fail(kBadRequest, "bare LF in the start line");
            return Event::error;
          case LineScan::too_long:
            fail(kind_ == MessageKind::request ? kUriTooLong : kBadRequest,
                 "start line over the limit");
            return Event::error;
          case LineScan::found:
            break;
        }
        if (content_end == pos_) {
          // RFC 9112 2.2: ignore empty lines before the start line (some clients send a CRLF
          // after a body). They count against the start line's limit, so they cannot go on.
          pos_ = scan_;
          continue;
        }
        start_line_ = {pos_, content_end};
        pos_ = section_begin_ = scan_;
        state_ = State::fields;
        return Event::start_line;
      }
      case State::fields:
      case State::trailers: {
        const bool trailers = state_ == State::trailers;
        std::vector<FieldRange>& into = trailers ? trailers_ : fields_;
        // Also after a line taken carefully, since the next ones may be whole.
        if (scan_ == pos_ && take_simple_field_lines(into)) {
          if (trailers) {
            state_ = State::done;
            return Event::message_complete;
          }
          return Event::head_complete;  // the parser calls begin_body()
        }
        if (state_ == State::failed) return Event::error;  // a framing field it took
        std::size_t content_end = 0;
        switch (scan_line(section_begin_, limits_.max_header_section, content_end)) {
          case LineScan::need_more:
            return Event::need_more;
          case LineScan::bare_cr:
            fail(kBadRequest, "bare CR in a field line");
            return Event::error;
          case LineScan::bare_lf:
            fail(kBadRequest, "bare LF in a field line");
            return Event::error;
          case LineScan::too_long:
            fail(kFieldsTooLarge,
                 trailers ? "trailer section over the limit" : "header section over the limit");
            return Event::error;
          case LineScan::found:
            break;
        }
        const Range line{pos_, content_end};
        pos_ = scan_;
        if (line.begin == line.end) {
          if (trailers) {
            state_ = State::done;
            return Event::message_complete;
          }
          return Event::head_complete;  // the parser calls begin_body()
        }
        if (!take_field_line(into, line)) return Event::error;
        continue;
      }
      case State::body_length: {
        const std::size_t available = buffer_.size() - pos_;
        if (available < remaining_) return Event::need_more;
        pos_ += static_cast<std::size_t>(remaining_);
        body_end_ = pos_;
        state_ = State::done;
        return Event::message_complete;
      }
      case State::chunk_size: {
        std::size_t content_end = 0;
        switch (scan_line(pos_, limits_.max_chunk_line, content_end)) {
          case LineScan::need_more:
            drop_consumed_framing();
            return Event::need_more;
          case LineScan::bare_cr:
          case LineScan::bare_lf:
            fail(kBadRequest, "chunk size line without CRLF");
            return Event::error;
          case LineScan::too_long:
            fail(kBadRequest, "chunk size line over the limit");
            return Event::error;
          case LineScan::found:
            break;
        }
        const Range line{pos_, content_end};
        pos_ = scan_;
        if (!take_chunk_size(line)) return Event::error;
        if (remaining_ == 0) {
          section_begin_ = pos_;
          state_ = State::trailers;
        } else {
          state_ = State::chunk_data;
        }
        continue;
      }
      case State::chunk_data:
        move_chunk_data();
        if (remaining_ != 0) {
          drop_consumed_framing();
          return Event::need_more;
        }
        state_ = State::chunk_data_crlf;
        continue;
      case State::chunk_data_crlf: {
        const std::size_t available = buffer_.size() - pos_;
        if (available >= 1 && buffer_[pos_] != '\r') {
          fail(kBadRequest, "chunk data without its CRLF");
          return Event::error;
        }
        if (available < 2) {
          drop_consumed_framing();
          return Event::need_more;
        }
        if (buffer_[pos_ + 1] != '\n') {
          fail(kBadRequest, "chunk data without its CRLF");
          return Event::error;
        }
        pos_ = scan_ = pos_ + 2;
        state_ = State::chunk_size;
        continue;
      }
      case State::until_close:
        if (buffer_.size() - body_begin_ > limits_.max_body) {
          fail(kContentTooLarge, "body over the limit");
          return Event::error;
        }
        pos_ = body_end_ = buffer_.size();
        return Event::need_more;
      case State::done:
        return Event::message_complete;
      case State::failed:
        return Event::error;
    }
  }
}

MessageReader::Event MessageReader::finish_input() {
  if (state_ == State::until_close) {
    state_ = State::done;
    return Event::message_complete;
  }
  if (state_ == State::done) return Event::message_complete;
  if (state_ != State::failed) fail(kBadRequest, "connection closed inside a message");
  return Event::error;
}

void MessageReader::start_next() {
  if (state_ == State::failed) return;
  if (pos_ == buffer_.size() && pending_.empty()) {
    // The usual case, nothing pipelined. One large body must not pin its buffer for the rest
    // of a keep-alive connection. 64 KiB: a guess, above any ordinary header section plus one
    // read.
    constexpr std::size_t kKeepCapacity = 64 * 1024;
    if (buffer_.capacity() > kKeepCapacity) {
      std::string().swap(buffer_);
    } else {
      buffer_.clear();
    }
  } else {
    buffer_.erase(0, pos_);
    buffer_.append(pending_);
    pending_.clear();
  }
  state_ = State::start_line;
  message_begin_ = pos_ = scan_ = section_begin_ = 0;
  start_line_ = {};
  fields_.clear();
  trailers_.clear();
  field_counts_ = {};
  body_begin_ = body_end_ = 0;
  remaining_ = chunked_total_ = 0;
  extension_bytes_ = 0;
}

void MessageReader::reset() {
  buffer_.clear();
  last_valid_host_.clear();
  pending_.clear();
  state_ = State::start_line;
  message_begin_ = pos_ = scan_ = section_begin_ = 0;
  start_line_ = {};
  fields_.clear();
  trailers_.clear();
  field_counts_ = {};
  body_begin_ = body_end_ = 0;
  remaining_ = chunked_total_ = 0;
  extension_bytes_ = 0;
  error_ = {};
}

void MessageReader::shrink_if_idle() {
  if (!between_messages() || !buffer_.empty()) return;
  std::string().swap(buffer_);
  std::string().swap(pending_);
  std::vector<FieldRange>().swap(fields_);
  std::vector<FieldRange>().swap(trailers_);
}

}  // namespace weft::http::detail

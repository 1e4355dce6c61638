// The shared framing of HTTP/1.1 messages; see the design comment in message_reader.hpp.

#include <cstring>
#include <limits>
#include <weft/http/detail/message_reader.hpp>

namespace weft::http::detail {

namespace {

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr int kBadRequest = 400;
constexpr int kContentTooLarge = 413;
constexpr int kFieldsTooLarge = 431;

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
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

int parse_version(std::string_view s) noexcept {
  if (s.size() != 8 || s.substr(0, 5) != "HTTP/" || s[6] != '.') return 0;
  if (!is_digit(static_cast<unsigned char>(s[5])) || !is_digit(static_cast<unsigned char>(s[7]))) {
    return 0;
  }
  return (s[5] - '0') * 10 + (s[7] - '0');
}

std::size_t count_fields(const MessageReader& reader, std::string_view name,
                         std::string_view* value) noexcept {
  std::size_t n = 0;
  for (const FieldRange& f : reader.fields()) {
    if (!iequals(reader.view(f.name), name)) continue;
    ++n;
    if (value != nullptr) *value = reader.view(f.value);
  }
  return n;
}

TransferEncoding classify_transfer_encoding(const MessageReader& reader) noexcept {
  bool present = false;
  std::size_t codings = 0;
  bool last_is_chunked = false;
  bool chunked_seen = false;
  for (const FieldRange& f : reader.fields()) {
    if (!iequals(reader.view(f.name), "transfer-encoding")) continue;
    present = true;
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
  if (!present) return TransferEncoding::absent;
  if (codings == 0) return TransferEncoding::malformed;
  if (!last_is_chunked) return TransferEncoding::not_chunked_last;
  return codings == 1 ? TransferEncoding::chunked : TransferEncoding::chunked_after_other;
}

ContentLength classify_content_length(const MessageReader& reader, std::uint64_t& value) noexcept {
  std::string_view text;
  const std::size_t n = count_fields(reader, "content-length", &text);
  if (n == 0) return ContentLength::absent;
  if (n > 1) return ContentLength::repeated;
  return parse_decimal(text, value) ? ContentLength::valid : ContentLength::invalid;
}

bool decide_keep_alive(const MessageReader& reader, int version) noexcept {
  bool close = false;
  bool keep_alive = false;
  for (const FieldRange& f : reader.fields()) {
    if (!iequals(reader.view(f.name), "connection")) continue;
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

MessageReader::MessageReader(const Limits& limits, int start_line_status)
    : limits_(limits), start_line_status_(start_line_status) {}

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
  // Bytes past origin + limit are never examined: the limit is reached first, whatever they are.
  const std::size_t stop = origin + limit < size ? origin + limit : size;
  std::size_t i = scan_;
  while (i < stop && data[i] != '\r' && data[i] != '\n') ++i;
  if (i == stop) {
    scan_ = i;
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
  into.push_back({name, {value_begin, value_end}});
  return true;
}

bool MessageReader::take_chunk_size(Range line) {
  const char* data = buffer_.data();
  std::size_t i = line.begin;
  std::uint64_t size = 0;
  for (; i < line.end; ++i) {
    const int digit = hex_value(data[i]);
    if (digit < 0) break;
    if (size > (std::numeric_limits<std::uint64_t>::max() >> 4)) {
      fail(kBadRequest, "chunk size overflows 64 bits");
      return false;
    }
    size = (size << 4) | static_cast<std::uint64_t>(digit);
  }
  if (i == line.begin) {
    fail(kBadRequest, "chunk size is not hexadecimal");
    return false;
  }
  // Extensions (RFC 9112 7.1.1) are ignored; they only have to be free of control characters.
  // BWS before ';' is tolerated because the grammar allows it.
  std::size_t j = i;
  while (j < line.end && is_ows(data[j])) ++j;
  if (j < line.end && data[j] != ';') {
    fail(kBadRequest, "chunk size is not hexadecimal");
    return false;
  }
  for (; j < line.end; ++j) {
    if (!is_field_value_char(static_cast<unsigned char>(data[j]))) {
      fail(kBadRequest, "control character in a chunk extension");
      return false;
    }
  }
  if (size > limits_.max_body - chunked_total_) {
    fail(kContentTooLarge, "body over the limit");
    return false;
  }
  chunked_total_ += size;
  remaining_ = size;
  return true;
}

void MessageReader::move_chunk_data() {
  const std::size_t available = buffer_.size() - pos_;
  const std::size_t take =
      remaining_ < available ? static_cast<std::size_t>(remaining_) : available;
  if (body_end_ != pos_) std::memmove(buffer_.data() + body_end_, buffer_.data() + pos_, take);
  body_end_ += take;
  pos_ += take;
  remaining_ -= take;
}

void MessageReader::begin_body(BodyFraming framing, std::uint64_t length) {
  body_begin_ = body_end_ = pos_;
  chunked_total_ = 0;
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

MessageReader::Event MessageReader::advance() {
  for (;;) {
    switch (state_) {
      case State::start_line: {
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
            fail(start_line_status_, "start line over the limit");
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
        if (!take_field_line(trailers ? trailers_ : fields_, line)) return Event::error;
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
        if (remaining_ != 0) return Event::need_more;
        state_ = State::chunk_data_crlf;
        continue;
      case State::chunk_data_crlf: {
        const std::size_t available = buffer_.size() - pos_;
        if (available >= 1 && buffer_[pos_] != '\r') {
          fail(kBadRequest, "chunk data without its CRLF");
          return Event::error;
        }
        if (available < 2) return Event::need_more;
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
  buffer_.erase(0, pos_);
  buffer_.append(pending_);
  pending_.clear();
  // One large body must not pin its buffer for the rest of a keep-alive connection.
  // 64 KiB: a guess, above any ordinary header section plus one read.
  constexpr std::size_t kKeepCapacity = 64 * 1024;
  if (buffer_.empty() && buffer_.capacity() > kKeepCapacity) std::string().swap(buffer_);
  state_ = State::start_line;
  message_begin_ = pos_ = scan_ = section_begin_ = 0;
  start_line_ = {};
  fields_.clear();
  trailers_.clear();
  body_begin_ = body_end_ = 0;
  remaining_ = chunked_total_ = 0;
}

void MessageReader::reset() {
  buffer_.clear();
  pending_.clear();
  state_ = State::start_line;
  message_begin_ = pos_ = scan_ = section_begin_ = 0;
  start_line_ = {};
  fields_.clear();
  trailers_.clear();
  body_begin_ = body_end_ = 0;
  remaining_ = chunked_total_ = 0;
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

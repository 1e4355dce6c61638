// MessageReader's chunked body decoding: a chunk-size line (its hexadecimal size and its
// extensions, parsed to the letter), the chunk data moved down over the framing in place, and the
// framing dropped as the body is decoded. The states that call these are in message_reader.cpp.

#include <cstdint>
#include <cstring>
#include <limits>
#include <weft/http/detail/message_reader.hpp>

#include "message_reader_shared.hpp"

namespace weft::http::detail {

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
  if (!check_chunk_extensions(i, line.end)) return false;
  if (size > limits_.max_body - chunked_total_) {
    fail(kContentTooLarge, "body over the limit");
    return false;
  }
  chunked_total_ += size;
  remaining_ = size;
  return true;
}

bool MessageReader::check_chunk_extensions(std::size_t begin, std::size_t end) {
  // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ). Extensions
  // carry nothing weft uses, but they are parsed to the letter: a parser that reads them more
  // loosely than the next hop (an unterminated quote that swallows the rest of the line, a
  // stray byte after a value) is where chunked smuggling starts.
  if (begin == end) return true;
  extension_bytes_ += end - begin;
  if (extension_bytes_ > limits_.max_chunk_extensions) {
    fail(kBadRequest, "chunk extensions over the limit");
    return false;
  }
  const char* data = buffer_.data();
  const auto skip_ows = [&](std::size_t j) {
    while (j < end && is_ows(data[j])) ++j;
    return j;
  };
  const auto skip_token = [&](std::size_t j) {
    while (j < end && is_tchar(static_cast<unsigned char>(data[j]))) ++j;
    return j;
  };
  std::size_t j = skip_ows(begin);
  if (j == end || data[j] != ';') {
    // Only whitespace, or a byte after the digits that starts no extension.
    fail(kBadRequest, "chunk size is not hexadecimal");
    return false;
  }
  while (j < end) {
    if (data[j] != ';') {
      fail(kBadRequest, "malformed chunk extension");
      return false;
    }
    j = skip_ows(j + 1);
    const std::size_t name_end = skip_token(j);
    if (name_end == j) {
      fail(kBadRequest, "chunk extension without a name");
      return false;
    }
    j = skip_ows(name_end);
    if (j < end && data[j] == '=') {
      j = skip_ows(j + 1);
      if (j < end && data[j] == '"') {
        // quoted-string: qdtext is HTAB, SP, visible ASCII but '"' and '\', and obs-text;
        // a quoted-pair escapes HTAB, SP, visible ASCII or obs-text. The line ends at its CR,
        // so a quote still open there is unterminated.
        for (++j;; ++j) {
          if (j == end) {
            fail(kBadRequest, "unterminated quoted-string in a chunk extension");
            return false;
          }
          const char c = data[j];
          if (c == '"') break;
          if (c == '\\' && ++j == end) {
            fail(kBadRequest, "unterminated quoted-string in a chunk extension");
            return false;
          }
          if (!is_field_value_char(static_cast<unsigned char>(data[j]))) {
            fail(kBadRequest, "control character in a chunk extension");
            return false;
          }
        }
        ++j;  // the closing quote
      } else {
        const std::size_t value_end = skip_token(j);
        if (value_end == j) {
          fail(kBadRequest, "chunk extension without a value after '='");
          return false;
        }
        j = value_end;
      }
      j = skip_ows(j);
    }
  }
  return true;
}

void MessageReader::drop_consumed_framing() {
  // [body_end_, pos_) is framing already parsed (body_end_ is the decoding write cursor); the
  // bytes from pos_ on are the unfinished chunk line or the start of chunk data. Nothing
  // refers into the erased range: the head and the decoded body lie before it, and the
  // cursors after it move down with the bytes.
  const std::size_t gap = pos_ - body_end_;
  if (gap == 0) return;
  buffer_.erase(body_end_, gap);
  pos_ -= gap;
  scan_ -= gap;
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

}  // namespace weft::http::detail

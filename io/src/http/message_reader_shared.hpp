#pragma once

// What the two halves of MessageReader (message_reader.cpp: start lines, fields, the states;
// message_reader_chunked.cpp: chunked bodies) share: the statuses it refuses a message with,
// optional whitespace and hexadecimal digits.

namespace weft::http::detail {

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }
constexpr int kBadRequest = 400;
constexpr int kUriTooLong = 414;
constexpr int kContentTooLarge = 413;
constexpr int kFieldsTooLarge = 431;

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace weft::http::detail

#pragma once

// Serialising response heads. The server appends each response to one per-connection string
// (pipelined answers go out in one send) — nothing is allocated per response once that
// string has grown to the connection's usual size.

#include <cstdint>
#include <string>
#include <string_view>

#include "weft/http/message.hpp"
#include "weft/http/server_response.hpp"

namespace weft::http::detail {

enum class Framing {
  none,            // 1xx, 204, 304: no body and no length
  content_length,  // Content-Length: `length`
  chunked,         // Transfer-Encoding: chunked
  until_close,     // an HTTP/1.0 client and a streamed body: the close ends it
};

// The Date field's value for now; formatted at most once a second per thread.
[[nodiscard]] std::string_view current_http_date();

// True for statuses that never carry a body (RFC 9110 6.4.1).
[[nodiscard]] constexpr bool status_has_no_body(int status) noexcept {
  return status < 200 || status == 204 || status == 304;
}

// Appends the status line and the fields, ending with the empty line. The handler's fields
// named Content-Length, Transfer-Encoding, Connection, Date and Server are dropped: the
// server writes its own.
void append_head(std::string& out, Version version, const ServerResponse& response, Framing framing,
                 std::uint64_t length, bool keep_alive, std::string_view server_name);

// A refusal: a short text body naming the reason, "Connection: close".
void append_refusal(std::string& out, int status, std::string_view reason,
                    std::string_view server_name);

// One chunk of a chunked body (size line, data, CRLF); nothing for empty data.
void append_chunk(std::string& out, std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace weft::http::detail

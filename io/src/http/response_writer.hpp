#pragma once

// Serialising responses. The server appends each response to one per-connection buffer
// (pipelined answers go out in one send) — nothing is allocated per response once that
// buffer has grown to the connection's usual size.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
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

// The bytes a connection has yet to send. A writer asks for room, writes into it and commits
// what it wrote, so a response head costs one capacity check rather than one per piece (and
// no zero-filling, as growing a std::string would). Cleared, it keeps its capacity.
class OutputBuffer {
 public:
  // Room for `n` more bytes after the buffered ones; returns where it starts. Invalidates
  // what earlier calls returned.
  [[nodiscard]] char* reserve(std::size_t n) {
    if (capacity_ - size_ < n) grow(n);
    return data_.get() + size_;
  }
  // The bytes from the end of the buffered ones up to `end` (within the last reserve()) are
  // buffered too.
  void commit(const char* end) noexcept { size_ = static_cast<std::size_t>(end - data_.get()); }
  void append(std::string_view bytes) {
    char* p = reserve(bytes.size());
    if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
    size_ += bytes.size();
  }
  void clear() noexcept { size_ = 0; }

  [[nodiscard]] std::string_view view() const noexcept { return {data_.get(), size_}; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  void grow(std::size_t n);

  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// True for statuses that never carry a body (RFC 9110 6.4.1).
[[nodiscard]] constexpr bool status_has_no_body(int status) noexcept {
  return status < 200 || status == 204 || status == 304;
}

// The start of a connection's response heads: the status line, Date and Server. The same
// bytes for every response of a second with the same status, so they are formatted once and
// copied.
class HeadStart {
 public:
  // `server_name` (empty: no Server field) must outlive this.
  explicit HeadStart(std::string_view server_name) noexcept : server_name_(server_name) {}

  // "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: weft\r\n", valid until
  // the next call.
  [[nodiscard]] std::string_view get(Version version, int status);

 private:
  void format(std::time_t second, Version version, int status);

  std::string_view server_name_;
  std::time_t second_ = -1;
  int status_ = 0;
  Version version_ = Version::http_1_1;
  std::string text_;
};

// Appends the status line and the fields, ending with the empty line. The handler's fields
// named Content-Length, Transfer-Encoding, Connection, Date and Server are dropped: the
// server writes its own.
void append_head(OutputBuffer& out, HeadStart& start, Version version,
                 const ServerResponse& response, Framing framing, std::uint64_t length,
                 bool keep_alive);

// A refusal: a short text body naming the reason, "Connection: close".
void append_refusal(OutputBuffer& out, int status, std::string_view reason,
                    std::string_view server_name);

// One chunk of a chunked body (size line, data, CRLF); nothing for empty data.
void append_chunk(OutputBuffer& out, std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace weft::http::detail

#include "response_writer.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "http_date.hpp"

namespace weft::http::detail {

namespace {

// Copies a string literal (without its NUL) to `p`; returns the end. Its size is a constant,
// so the copy is a few moves.
template <std::size_t N>
char* put(char* p, const char (&literal)[N]) noexcept {
  std::memcpy(p, literal, N - 1);
  return p + N - 1;
}

// The Date field's value for the second `now`; formatted at most once a second per thread.
// Thread-local and trivially destructible, so reaching it costs no guard.
std::string_view http_date(std::time_t now) noexcept {
  struct Cached {
    std::time_t second = -1;
    char text[kHttpDateSize];
  };
  thread_local Cached cached;
  if (cached.second != now) {
    format_http_date(now, cached.text);
    cached.second = now;
  }
  return {cached.text, kHttpDateSize};
}

char* put(char* p, std::string_view bytes) noexcept {
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  return p + bytes.size();
}

}  // namespace

void OutputBuffer::grow(std::size_t n) {
  // Doubling: appending a burst of responses costs amortised constant time per byte.
  const std::size_t capacity = std::max({capacity_ * 2, size_ + n, std::size_t{256}});
  auto data = std::make_unique<char[]>(capacity);
  if (size_ > 0) std::memcpy(data.get(), data_.get(), size_);
  data_ = std::move(data);
  capacity_ = capacity;
}

std::string_view HeadStart::get(Version version, int status) {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
  if (now.tv_sec != second_ || status != status_ || version != version_)
    format(now.tv_sec, version, status);
  return text_;
}

void HeadStart::format(std::time_t second, Version version, int status) {
  // `status` has three digits: ServerResponse checks it.
  const char digits[3] = {static_cast<char>('0' + status / 100),
                          static_cast<char>('0' + status / 10 % 10),
                          static_cast<char>('0' + status % 10)};
  text_.assign(version == Version::http_1_0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  text_.append(digits, 3).append(" ").append(reason_phrase(status));
  text_.append("\r\nDate: ").append(http_date(second)).append("\r\n");
  if (!server_name_.empty()) text_.append("Server: ").append(server_name_).append("\r\n");
  second_ = second;
  status_ = status;
  version_ = version;
}

void append_head(OutputBuffer& out, HeadStart& start, Version version,
                 const ServerResponse& response, Framing framing, std::uint64_t length,
                 bool keep_alive) {
  const std::string_view first = start.get(version, response.status());
  const std::string_view fields = response.fields();  // "Name: value\r\n" lines, validated
  // Then the framing, the connection and the empty line: at most 64 bytes.
  char* p = out.reserve(first.size() + fields.size() + 64);
  p = put(p, first);
  p = put(p, fields);
  switch (framing) {
    case Framing::none:
    case Framing::until_close:
      break;
    case Framing::content_length:
      p = put(p, "Content-Length: ");
      p = std::to_chars(p, p + 20, length).ptr;  // 20 digits hold any 64-bit value
      p = put(p, "\r\n");
      break;
    case Framing::chunked:
      p = put(p, "Transfer-Encoding: chunked\r\n");
      break;
  }
  // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes unless told.
  if (!keep_alive) {
    p = put(p, "Connection: close\r\n");
  } else if (version == Version::http_1_0) {
    p = put(p, "Connection: keep-alive\r\n");
  }
  p = put(p, "\r\n");
  out.commit(p);
}

void append_refusal(OutputBuffer& out, int status, std::string_view reason,
                    std::string_view server_name) {
  ServerResponse response(status);
  response.header("Content-Type", "text/plain; charset=utf-8");
  const std::size_t body = reason.size() + 1;
  HeadStart start(server_name);
  append_head(out, start, Version::http_1_1, response, Framing::content_length, body, false);
  out.append(reason);
  out.append("\n");
}

void append_chunk(OutputBuffer& out, std::string_view data) {
  if (data.empty()) return;
  // The size in hex (16 digits hold any 64-bit size), CRLF, the data, CRLF.
  char* p = out.reserve(16 + 2 + data.size() + 2);
  p = std::to_chars(p, p + 16, data.size(), 16).ptr;
  p = put(p, "\r\n");
  p = put(p, data);
  p = put(p, "\r\n");
  out.commit(p);
}

}  // namespace weft::http::detail

#include "response_writer.hpp"

#include <charconv>
#include <ctime>

#include "http_date.hpp"

namespace weft::http::detail {

namespace {

void append_number(std::string& out, std::uint64_t value, int base = 10) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, base);
  (void)ec;  // 24 characters hold any 64-bit value
  out.append(buf, end);
}

}  // namespace

std::string_view current_http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local std::string cached;
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  if (ts.tv_sec != cached_second || cached.empty()) {
    cached_second = ts.tv_sec;
    cached = format_http_date(ts.tv_sec);
  }
  return cached;
}

void append_head(std::string& out, Version version, const ServerResponse& response, Framing framing,
                 std::uint64_t length, bool keep_alive, std::string_view server_name) {
  out += version == Version::http_1_0 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(response.status()));
  out += ' ';
  out += reason_phrase(response.status());
  out += "\r\nDate: ";
  out += current_http_date();
  if (!server_name.empty()) {
    out += "\r\nServer: ";
    out += server_name;
  }
  out += "\r\n";
  out += response.fields();  // "Name: value\r\n" lines, validated by header()
  switch (framing) {
    case Framing::none:
    case Framing::until_close:
      break;
    case Framing::content_length:
      out += "Content-Length: ";
      append_number(out, length);
      out += "\r\n";
      break;
    case Framing::chunked:
      out += "Transfer-Encoding: chunked\r\n";
      break;
  }
  // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes unless told.
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (version == Version::http_1_0) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
}

void append_refusal(std::string& out, int status, std::string_view reason,
                    std::string_view server_name) {
  ServerResponse response(status);
  response.header("Content-Type", "text/plain; charset=utf-8");
  const std::size_t body = reason.size() + 1;
  append_head(out, Version::http_1_1, response, Framing::content_length, body, false, server_name);
  out += reason;
  out += '\n';
}

void append_chunk(std::string& out, std::string_view data) {
  if (data.empty()) return;
  append_number(out, data.size(), 16);
  out += "\r\n";
  out += data;
  out += "\r\n";
}

}  // namespace weft::http::detail

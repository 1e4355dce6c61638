#include "http_response_head.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <string>
#include <system_error>

namespace weft::bench {

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

HttpHead parse_http_head(std::string_view head) {
  HttpHead parsed{.header_bytes = head.size()};
  const std::size_t line_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, line_end);
  const bool http_1_0 = status_line.starts_with("HTTP/1.0 ");
  if (!status_line.starts_with("HTTP/1.1 ") && !http_1_0)
    throw std::runtime_error("not an HTTP/1.x response: '" + std::string(status_line) + "'");
  if (status_line.substr(9, 4) != "200 " && status_line.substr(9) != "200")
    throw std::runtime_error("status '" + std::string(status_line) + "', expected 200");
  bool keep_alive = false;
  bool have_length = false;
  std::string_view rest = head.substr(line_end + 2);
  while (!rest.empty()) {
    const std::size_t end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 2);
    if (line.empty()) break;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      throw std::runtime_error("malformed header line '" + std::string(line) + "'");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (equals_ignoring_case(name, "content-length")) {
      const auto [end_of_number, error] =
          std::from_chars(value.data(), value.data() + value.size(), parsed.content_length);
      if (error != std::errc() || end_of_number != value.data() + value.size())
        throw std::runtime_error("malformed Content-Length '" + std::string(value) + "'");
      have_length = true;
    } else if (equals_ignoring_case(name, "transfer-encoding")) {
      throw std::runtime_error("Transfer-Encoding '" + std::string(value) +
                               "' (only Content-Length bodies are expected)");
    } else if (equals_ignoring_case(name, "connection")) {
      std::string_view tokens = value;
      while (!tokens.empty()) {
        const std::size_t comma = tokens.find(',');
        const std::string_view token = trim(tokens.substr(0, comma));
        if (equals_ignoring_case(token, "close")) parsed.close = true;
        if (equals_ignoring_case(token, "keep-alive")) keep_alive = true;
        tokens = comma == std::string_view::npos ? std::string_view() : tokens.substr(comma + 1);
      }
    }
  }
  if (!have_length) throw std::runtime_error("a response without Content-Length");
  // HTTP/1.0 closes unless it says otherwise.
  if (http_1_0 && !keep_alive) parsed.close = true;
  return parsed;
}

}  // namespace weft::bench

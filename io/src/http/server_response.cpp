#include "weft/http/server_response.hpp"

#include <unistd.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "weft/http/message.hpp"

namespace weft::http {

namespace {

bool is_token_char(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

void check_status(int status) {
  if (status < 100 || status > 999)
    throw std::invalid_argument("weft::http::ServerResponse: status " + std::to_string(status) +
                                " is not a three-digit code");
}

}  // namespace

ServerResponse::ServerResponse(int status) : status_(status) { check_status(status); }

ServerResponse::ServerResponse(ServerResponse&& other) noexcept
    : status_(other.status_),
      headers_(std::move(other.headers_)),
      body_(std::move(other.body_)),
      source_(std::move(other.source_)),
      file_(std::exchange(other.file_, FileBody{})) {}

ServerResponse& ServerResponse::operator=(ServerResponse&& other) noexcept {
  if (this != &other) {
    if (file_.fd >= 0) ::close(file_.fd);
    status_ = other.status_;
    headers_ = std::move(other.headers_);
    body_ = std::move(other.body_);
    source_ = std::move(other.source_);
    file_ = std::exchange(other.file_, FileBody{});
  }
  return *this;
}

ServerResponse::~ServerResponse() {
  if (file_.fd >= 0) ::close(file_.fd);
}

void ServerResponse::set_status(int status) {
  check_status(status);
  status_ = status;
}

ServerResponse ServerResponse::text(int status, std::string body, std::string_view content_type) {
  ServerResponse r(status);
  r.body_ = std::move(body);
  r.header("Content-Type", content_type);
  return r;
}

ServerResponse ServerResponse::stream(int status, ChunkSource source,
                                      std::string_view content_type) {
  if (!source) throw std::invalid_argument("weft::http::ServerResponse::stream: empty source");
  ServerResponse r(status);
  r.source_ = std::move(source);
  r.header("Content-Type", content_type);
  return r;
}

ServerResponse ServerResponse::file(int status, int fd, std::uint64_t offset, std::uint64_t size,
                                    std::string_view content_type) {
  ServerResponse r(status);
  r.file_ = FileBody{fd, offset, size};
  r.header("Content-Type", content_type);
  return r;
}

ServerResponse& ServerResponse::header(std::string_view name, std::string_view value) {
  if (name.empty())
    throw std::invalid_argument("weft::http::ServerResponse::header: empty field name");
  for (const char c : name) {
    if (!is_token_char(static_cast<unsigned char>(c)))
      throw std::invalid_argument("weft::http::ServerResponse::header: field name '" +
                                  std::string(name) + "' is not a token");
  }
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    // Visible characters, space and tab (RFC 9110 5.5); anything else could end the line.
    if ((u < 0x20 && u != '\t') || u == 0x7f)
      throw std::invalid_argument("weft::http::ServerResponse::header: the value of '" +
                                  std::string(name) + "' holds a control character");
  }
  headers_.emplace_back(std::string(name), std::string(value));
  return *this;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace weft::http

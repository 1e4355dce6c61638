#include "weft/http/server_response.hpp"

#include <unistd.h>

#include <array>
#include <stdexcept>
#include <string>
#include <utility>

#include "weft/http/message.hpp"

namespace weft::http {

namespace {

// RFC 9110 5.6.2 tchar.
constexpr std::array<bool, 256> kTokenChar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

// What may not appear in a field value: controls other than tab, and DEL (RFC 9110 5.5).
constexpr std::array<bool, 256> kBadValueChar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = c != '\t';
  t[0x7f] = true;
  return t;
}();

bool server_owned(std::string_view name) noexcept {
  // First letter first: most fields a handler sets start with none of c, t, d, s.
  switch (name.empty() ? 0 : name.front() | 0x20) {
    case 'c':
      return iequals(name, "Content-Length") || iequals(name, "Connection");
    case 't':
      return iequals(name, "Transfer-Encoding");
    case 'd':
      return iequals(name, "Date");
    case 's':
      return iequals(name, "Server");
    default:
      return false;
  }
}

// One spare field buffer per thread: a response takes it when made and gives its own back
// when destroyed (possibly on another thread: tasks move; that only changes whose spare it
// becomes). Only modest buffers are kept, so a response with huge fields frees them.
std::string& spare_fields() noexcept {
  thread_local std::string spare;
  return spare;
}

std::string take_spare() noexcept {
  std::string s = std::move(spare_fields());
  s.clear();
  return s;
}

void give_spare(std::string& fields) noexcept {
  constexpr std::size_t kMaxSpare = 1024;
  std::string& spare = spare_fields();
  if (fields.capacity() > spare.capacity() && fields.capacity() <= kMaxSpare) spare.swap(fields);
}

void check_status(int status) {
  if (status < 100 || status > 999)
    throw std::invalid_argument("weft::http::ServerResponse: status " + std::to_string(status) +
                                " is not a three-digit code");
}

}  // namespace

ServerResponse::ServerResponse(int status) : status_(status), fields_(take_spare()) {
  check_status(status);
}

ServerResponse::ServerResponse(ServerResponse&& other) noexcept
    : status_(other.status_),
      fields_(std::move(other.fields_)),
      body_(std::move(other.body_)),
      source_(std::move(other.source_)),
      file_(std::exchange(other.file_, FileBody{})) {}

ServerResponse& ServerResponse::operator=(ServerResponse&& other) noexcept {
  if (this != &other) {
    if (file_.fd >= 0) ::close(file_.fd);
    status_ = other.status_;
    fields_ = std::move(other.fields_);
    body_ = std::move(other.body_);
    source_ = std::move(other.source_);
    file_ = std::exchange(other.file_, FileBody{});
  }
  return *this;
}

ServerResponse::~ServerResponse() {
  if (file_.fd >= 0) ::close(file_.fd);
  give_spare(fields_);
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
    if (!kTokenChar[static_cast<unsigned char>(c)])
      throw std::invalid_argument("weft::http::ServerResponse::header: field name '" +
                                  std::string(name) + "' is not a token");
  }
  for (const char c : value) {
    if (kBadValueChar[static_cast<unsigned char>(c)])
      throw std::invalid_argument("weft::http::ServerResponse::header: the value of '" +
                                  std::string(name) + "' holds a control character");
  }
  if (server_owned(name)) return *this;
  fields_.append(name).append(": ").append(value).append("\r\n");
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

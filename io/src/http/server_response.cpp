#include "weft/http/server_response.hpp"

#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>
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

// One spare field buffer per thread: the first header() of a response takes it and the
// response gives its own back when destroyed (possibly on another thread: tasks move; that
// only changes whose spare it becomes). Only modest buffers are kept, so a response with huge
// fields frees them.
std::unique_ptr<std::string>& spare_fields() noexcept {
  thread_local std::unique_ptr<std::string> spare;
  return spare;
}

constexpr std::size_t kMaxSpare = 1024;

// A default Content-Type, as the line header() would have made of it: a response with the
// default type refers to this constant instead of validating and copying it.
constexpr char kTextPlain[] = "text/plain; charset=utf-8";
constexpr std::string_view kTextPlainLine = "Content-Type: text/plain; charset=utf-8\r\n";
constexpr char kOctetStream[] = "application/octet-stream";
constexpr std::string_view kOctetStreamLine = "Content-Type: application/octet-stream\r\n";

// Equality with a constant: its size is known, so the comparison is inlined.
template <std::size_t N>
bool equals(std::string_view s, const char (&constant)[N]) noexcept {
  return s.size() == N - 1 && std::memcmp(s.data(), constant, N - 1) == 0;
}

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (const char c : s) {
    if (!kTokenChar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

bool is_field_value(std::string_view s) noexcept {
  for (const char c : s) {
    if (kBadValueChar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

}  // namespace

const ServerResponse::FileBody ServerResponse::kNoFile{};

void ServerResponse::throw_bad_status(int status) {
  throw std::invalid_argument("weft::http::ServerResponse: status " + std::to_string(status) +
                              " is not a three-digit code");
}

void ServerResponse::recycle_fields() noexcept {
  std::unique_ptr<std::string>& spare = spare_fields();
  if (fields_->capacity() <= kMaxSpare && (!spare || spare->capacity() < fields_->capacity()))
    spare = std::move(fields_);
  fields_.reset();
}

ServerResponse::Extra::~Extra() {
  if (file.fd >= 0) ::close(file.fd);
}

ServerResponse::Extra& ServerResponse::extra() {
  if (!extra_) extra_ = std::make_unique<Extra>();
  return *extra_;
}

ServerResponse::ChunkSource& ServerResponse::source() { return extra().source; }

void ServerResponse::set_status(int status) {
  if (status < 100 || status > 999) throw_bad_status(status);
  status_ = status;
}

ServerResponse ServerResponse::text(int status, std::string body, std::string_view content_type) {
  ServerResponse r(status);
  r.body_ = std::move(body);
  if (equals(content_type, kTextPlain)) {
    r.preset_fields_ = kTextPlainLine;
  } else {
    r.header("Content-Type", content_type);
  }
  return r;
}

ServerResponse ServerResponse::stream(int status, ChunkSource source,
                                      std::string_view content_type) {
  if (!source) throw std::invalid_argument("weft::http::ServerResponse::stream: empty source");
  ServerResponse r(status);
  r.extra().source = std::move(source);
  if (equals(content_type, kOctetStream)) {
    r.preset_fields_ = kOctetStreamLine;
  } else {
    r.header("Content-Type", content_type);
  }
  return r;
}

ServerResponse ServerResponse::file(int status, int fd, std::uint64_t offset, std::uint64_t size,
                                    std::string_view content_type) {
  // Owned from here: closed if the status or the content type is refused.
  auto extra = std::make_unique<Extra>();
  extra->file = FileBody{fd, offset, size};
  ServerResponse r(status);
  r.extra_ = std::move(extra);
  r.header("Content-Type", content_type);
  return r;
}

ServerResponse& ServerResponse::header(std::string_view name, std::string_view value) {
  if (!is_token(name)) {
    if (name.empty())
      throw std::invalid_argument("weft::http::ServerResponse::header: empty field name");
    throw std::invalid_argument("weft::http::ServerResponse::header: field name '" +
                                std::string(name) + "' is not a token");
  }
  if (!is_field_value(value))
    throw std::invalid_argument("weft::http::ServerResponse::header: the value of '" +
                                std::string(name) + "' holds a control character");
  if (server_owned(name)) return *this;
  if (!fields_) {
    // The first field: into the spare buffer if there is one, after the preset line if any.
    fields_ = std::move(spare_fields());
    if (!fields_) fields_ = std::make_unique<std::string>();
    fields_->assign(preset_fields_);
    preset_fields_ = {};
  }
  // One resize, then the pieces: "Name: value\r\n".
  std::string& fields = *fields_;
  const std::size_t at = fields.size();
  fields.resize(at + name.size() + value.size() + 4);
  char* p = fields.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  std::memcpy(p, ": ", 2);
  p += 2;
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  p += value.size();
  std::memcpy(p, "\r\n", 2);
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

#pragma once

/// @file
/// What the HTTP/1.1 parsers produce: header lists, requests, responses and parse errors.
///
/// Every std::string_view in these types points into the buffer of the parser that produced
/// them (zero-copy): it stays valid until that parser moves to the next message (next(),
/// start()), is reset, or is destroyed. feed() while a message is complete keeps the new bytes
/// aside and does not move it. Copy what must outlive that.

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "weft/io_export.hpp"

/// HTTP/1.1: the request and response parsers, the server with its router, and the client.
namespace weft::http {

/// One header field of a parsed message, pointing into the parser's buffer.
struct Header {
  /// as received; compare it with iequals
  std::string_view name;
  std::string_view value;  ///< without leading and trailing whitespace
};

/// Header fields in the order they arrived; names compare case-insensitively (RFC 9110 5.1).
/// Repeated names stay separate entries: combining them is the reader's decision.
class WEFT_IO_API Headers {
 public:
  /// Iterates the fields in order.
  using const_iterator = std::vector<Header>::const_iterator;

  /// The value of the first field called `name`.
  [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const noexcept;
  /// How many fields are called `name`.
  [[nodiscard]] std::size_t count(std::string_view name) const noexcept;
  /// True if some field is called `name`.
  [[nodiscard]] bool contains(std::string_view name) const noexcept {
    return find(name).has_value();
  }
  /// True if some field `name` holds `token` in its comma-separated list (case-insensitive),
  /// e.g. has_token("Connection", "close").
  [[nodiscard]] bool has_token(std::string_view name, std::string_view token) const noexcept;

  /// The number of fields.
  [[nodiscard]] std::size_t size() const noexcept { return fields_.size(); }
  /// True when there is no field.
  [[nodiscard]] bool empty() const noexcept { return fields_.empty(); }
  /// The `i`th field (< size()).
  [[nodiscard]] const Header& operator[](std::size_t i) const noexcept { return fields_[i]; }
  /// The first field.
  [[nodiscard]] const_iterator begin() const noexcept { return fields_.begin(); }
  /// Past the last field.
  [[nodiscard]] const_iterator end() const noexcept { return fields_.end(); }

  /// Always inlined: the parsers add every field of every message, and out of line (with
  /// push_back's growth path inlined into it) each call saves and restores six registers.
  [[gnu::always_inline]] void add(std::string_view name, std::string_view value) {
    fields_.push_back({name, value});
  }
  /// Keeps the capacity, so a parser reusing one Headers allocates only for its largest message.
  void clear() noexcept { fields_.clear(); }

 private:
  std::vector<Header> fields_;
};

/// ASCII case-insensitive equality, as HTTP compares names and tokens. Inline: the parsers call
/// it per list element, and most calls end at the length check.
[[nodiscard]] constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

/// The HTTP version of a message: HTTP/1.0 or HTTP/1.1.
enum class Version { http_1_0, http_1_1 };

/// A parsed request; its views point into the RequestParser's buffer, valid until next()
/// or reset().
struct Request {
  std::string_view method;  ///< case-sensitive token, as sent ("GET")
  /// origin-form "/a?b", absolute-form, "*" (OPTIONS), authority (CONNECT)
  std::string_view target;
  /// the version of the request line
  Version version = Version::http_1_1;
  /// the header fields, in order
  Headers headers;
  Headers trailers;       ///< fields after a chunked body; empty otherwise
  std::string_view body;  ///< decoded (chunk framing removed)
  bool chunked = false;   ///< the body arrived with Transfer-Encoding: chunked
  /// HTTP/1.1: true unless "Connection: close"; HTTP/1.0: false unless "Connection: keep-alive".
  bool keep_alive = true;
  bool expect_continue = false;  ///< "Expect: 100-continue": the client waits before the body
};

/// A parsed response; its views point into the ResponseParser's buffer, valid until the next
/// start() or reset().
struct Response {
  /// the version of the status line
  Version version = Version::http_1_1;
  /// the status code
  int status = 0;
  /// the reason phrase, as sent
  std::string_view reason;
  /// the header fields, in order
  Headers headers;
  /// fields after a chunked body; empty otherwise
  Headers trailers;
  /// decoded (chunk framing removed)
  std::string_view body;
  /// the body arrived with Transfer-Encoding: chunked
  bool chunked = false;
  /// False when the server said "Connection: close" (or HTTP/1.0 without keep-alive) or the body
  /// ran until the connection closed.
  bool keep_alive = true;
};

/// Where a parser stands after feed().
enum class ParseStatus {
  need_more,  ///< feed more bytes
  complete,   ///< request()/response() is ready
  error,      ///< error() says why; the connection must be closed
};

/// Why parsing failed.
struct ParseError {
  /// The status a strict server answers: 400, 413, 414, 431, 501, 505. For the response parser
  /// it classifies the fault the same way (400: malformed, 413: body over the limit, ...).
  int status = 0;
  std::string_view reason;  ///< a static string, e.g. "Content-Length and Transfer-Encoding"
};

}  // namespace weft::http

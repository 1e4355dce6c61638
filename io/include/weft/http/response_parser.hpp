#pragma once

/// @file
/// weft::http::ResponseParser: an incremental HTTP/1.1 response parser for clients.
///
///   weft::http::ResponseParser parser;
///   parser.start("GET");                       // the method of the request this answers
///   while (parser.feed(bytes) == ParseStatus::need_more) { ... read more ...;
///     if (eof) { parser.finish(); break; } }  // finish(): the server closed the connection
///   use(parser.response());
///   parser.start("HEAD");                      // next response on a keep-alive connection
///
/// Bodies: HEAD requests and 1xx/204/304 responses have none; otherwise chunked (when it is the
/// last transfer coding), Content-Length, or everything until the server closes. Interim 1xx
/// responses (100 Continue, 103 Early Hints) are skipped, up to Limits::max_interim_responses of
/// them (one more is an error); 101 Switching Protocols completes with no body, and the bytes
/// after it are the new protocol's (buffered()).
/// Strict like the request parser: CL with TE, repeated or malformed CL, bare CR/LF, obs-fold
/// are errors. The string_views in response() live until the next start() or reset().

#include <string>
#include <string_view>
#include <weft/http/detail/message_reader.hpp>
#include <weft/http/limits.hpp>
#include <weft/http/message.hpp>

#include "weft/io_export.hpp"

namespace weft::http {

/// An incremental HTTP/1.1 response parser for clients; see this file's description.
class WEFT_IO_API ResponseParser {
 public:
  /// A parser enforcing `limits`.
  explicit ResponseParser(const Limits& limits = {});

  /// Drops the previous response (keeping pipelined bytes) and expects the answer to a request
  /// with `request_method`.
  void start(std::string_view request_method);
  /// Adds bytes and parses as far as they go.
  ParseStatus feed(std::string_view bytes);
  /// As feed(bytes), for `size` bytes at `data`.
  ParseStatus feed(const void* data, std::size_t size) {
    return feed(std::string_view(static_cast<const char*>(data), size));
  }
  /// The connection ended: completes a read-until-close body; anything else is an error.
  ParseStatus finish();
  /// Back to a fresh connection's state; buffered bytes are dropped.
  void reset();

  /// Where parsing stands.
  [[nodiscard]] ParseStatus status() const noexcept { return status_; }
  /// Valid while status() is complete.
  [[nodiscard]] const Response& response() const noexcept { return response_; }
  /// Valid while status() is error.
  [[nodiscard]] const ParseError& error() const noexcept { return reader_.error(); }
  /// Bytes fed but not part of the current response.
  [[nodiscard]] std::size_t buffered() const noexcept { return reader_.buffered(); }
  /// The memory the parser's buffer holds: the head and decoded body plus at most one
  /// unfinished line and the last bytes fed (chunk framing is dropped as it is parsed).
  [[nodiscard]] std::size_t buffer_capacity() const noexcept { return reader_.capacity(); }

 private:
  ParseStatus run();
  bool on_status_line();
  bool on_head();
  void build_response();

  detail::MessageReader reader_;
  ParseStatus status_ = ParseStatus::need_more;
  Response response_;
  bool head_request_ = false;
  bool until_close_ = false;
  bool started_ = false;
  int version_ = 11;
  int status_code_ = 0;
  std::size_t interim_responses_ = 0;  // 1xx heads skipped before the current response
  std::size_t max_interim_responses_;
};

}  // namespace weft::http

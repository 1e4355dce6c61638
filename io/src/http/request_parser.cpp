// The request side of HTTP/1.1: the request line, what the header fields mean for framing and
// keep-alive, and the strict refusals listed in request_parser.hpp.

#include <weft/http/request_parser.hpp>

namespace weft::http {

namespace {

using detail::BodyFraming;
using detail::ContentLength;
using detail::MessageReader;
using detail::TransferEncoding;

constexpr int kUriTooLong = 414;

// A target byte: visible ASCII only. '#' is refused because a fragment is never part of a
// request target (RFC 9112 3.2); controls, SP and obs-text have no place in a URI.
constexpr bool is_target_char(unsigned char c) noexcept { return c > 0x20 && c < 0x7f && c != '#'; }

bool is_absolute_form(std::string_view target) noexcept {
  // scheme ":" hier-part, scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 3.1).
  const auto colon = target.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  for (std::size_t i = 0; i < colon; ++i) {
    const unsigned char c = static_cast<unsigned char>(target[i]);
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && (i == 0 || !(detail::is_digit(c) || c == '+' || c == '-' || c == '.'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

RequestParser::RequestParser(const Limits& limits) : reader_(limits, kUriTooLong) {}

ParseStatus RequestParser::feed(std::string_view bytes) {
  if (status_ == ParseStatus::error) return status_;
  reader_.append(bytes);
  if (status_ == ParseStatus::complete) return status_;
  return run();
}

ParseStatus RequestParser::next() {
  if (status_ == ParseStatus::error) return status_;
  reader_.start_next();
  head_parsed_ = chunked_ = expect_continue_ = false;
  request_.headers.clear();
  request_.trailers.clear();
  status_ = ParseStatus::need_more;
  return run();
}

void RequestParser::reset() {
  reader_.reset();
  head_parsed_ = chunked_ = expect_continue_ = false;
  request_.headers.clear();
  request_.trailers.clear();
  status_ = ParseStatus::need_more;
}

ParseStatus RequestParser::run() {
  for (;;) {
    switch (reader_.advance()) {
      case MessageReader::Event::need_more:
        return status_ = ParseStatus::need_more;
      case MessageReader::Event::error:
        return status_ = ParseStatus::error;
      case MessageReader::Event::start_line:
        if (!on_request_line()) return status_ = ParseStatus::error;
        break;
      case MessageReader::Event::head_complete:
        if (!on_head()) return status_ = ParseStatus::error;
        break;
      case MessageReader::Event::message_complete:
        build_request();
        return status_ = ParseStatus::complete;
    }
  }
}

bool RequestParser::on_request_line() {
  // request-line = method SP request-target SP HTTP-version, single spaces (RFC 9112 3).
  const std::string_view line = reader_.view(reader_.start_line());
  const auto first_space = line.find(' ');
  if (first_space == std::string_view::npos) {
    reader_.fail(400, "malformed request line");
    return false;
  }
  const std::string_view method = line.substr(0, first_space);
  if (!detail::is_token(method)) {
    reader_.fail(400, "invalid method");
    return false;
  }
  const auto second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) {
    // "GET /" (HTTP/0.9) or a target with no version after it.
    reader_.fail(400, "malformed request line");
    return false;
  }
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (target.empty()) {
    reader_.fail(400, "malformed request line");
    return false;
  }
  for (char c : target) {
    if (!is_target_char(static_cast<unsigned char>(c))) {
      reader_.fail(400, "invalid character in the target");
      return false;
    }
  }
  for (char c : version) {
    if (c == ' ' || c == '\t') {
      reader_.fail(400, "malformed request line");
      return false;
    }
  }
  version_ = detail::parse_version(version);
  if (version_ == 0) {
    reader_.fail(400, "malformed HTTP version");
    return false;
  }
  if (version_ != 10 && version_ != 11) {
    reader_.fail(505, "HTTP version not supported");
    return false;
  }
  // RFC 9112 3.2: asterisk-form only for OPTIONS, authority-form only (and always) for CONNECT.
  if (method == "CONNECT") {
    if (target.find('/') != std::string_view::npos) {
      reader_.fail(400, "CONNECT needs an authority-form target");
      return false;
    }
  } else if (target == "*") {
    if (method != "OPTIONS") {
      reader_.fail(400, "asterisk-form target outside OPTIONS");
      return false;
    }
  } else if (target.front() != '/' && !is_absolute_form(target)) {
    reader_.fail(400, "invalid request target");
    return false;
  }
  return true;
}

bool RequestParser::on_head() {
  head_parsed_ = true;
  for (const auto& f : reader_.fields()) {
    // RFC 9110 10.1.1: an HTTP/1.0 client's expectation is ignored (it cannot read a 100).
    if (version_ == 11 && iequals(reader_.view(f.name), "expect") &&
        iequals(reader_.view(f.value), "100-continue")) {
      expect_continue_ = true;
    }
  }
  const std::size_t hosts = detail::count_fields(reader_, "host");
  if (version_ == 11 && hosts == 0) {
    reader_.fail(400, "missing Host");
    return false;
  }
  if (hosts > 1) {  // RFC 9112 3.2: MUST answer 400
    reader_.fail(400, "more than one Host");
    return false;
  }
  std::uint64_t length = 0;
  const ContentLength content_length = detail::classify_content_length(reader_, length);
  const TransferEncoding transfer_encoding = detail::classify_transfer_encoding(reader_);
  if (transfer_encoding != TransferEncoding::absent) {
    // RFC 9112 6.1: a 1.0 recipient cannot know the framing; 6.3: both together is smuggling.
    if (version_ == 10) {
      reader_.fail(400, "Transfer-Encoding on HTTP/1.0");
      return false;
    }
    if (content_length != ContentLength::absent) {
      reader_.fail(400, "Content-Length and Transfer-Encoding");
      return false;
    }
    switch (transfer_encoding) {
      case TransferEncoding::chunked:
        chunked_ = true;
        reader_.begin_body(BodyFraming::chunked);
        return true;
      case TransferEncoding::chunked_after_other:
        reader_.fail(501, "transfer coding not implemented");
        return false;
      case TransferEncoding::not_chunked_last:
        reader_.fail(400, "Transfer-Encoding does not end with chunked");
        return false;
      case TransferEncoding::chunked_twice:
        reader_.fail(400, "chunked applied twice");
        return false;
      case TransferEncoding::malformed:
      case TransferEncoding::absent:
        reader_.fail(400, "malformed Transfer-Encoding");
        return false;
    }
  }
  switch (content_length) {
    case ContentLength::absent:
      reader_.begin_body(BodyFraming::none);
      break;
    case ContentLength::repeated:
      reader_.fail(400, "more than one Content-Length");
      return false;
    case ContentLength::invalid:
      reader_.fail(400, "invalid Content-Length");
      return false;
    case ContentLength::valid:
      reader_.begin_body(length == 0 ? BodyFraming::none : BodyFraming::length, length);
      break;
  }
  return !reader_.failed();
}

void RequestParser::build_request() {
  const std::string_view line = reader_.view(reader_.start_line());
  const auto first_space = line.find(' ');
  const auto second_space = line.find(' ', first_space + 1);
  request_.method = line.substr(0, first_space);
  request_.target = line.substr(first_space + 1, second_space - first_space - 1);
  request_.version = version_ == 10 ? Version::http_1_0 : Version::http_1_1;
  request_.headers.clear();
  for (const auto& f : reader_.fields()) {
    request_.headers.add(reader_.view(f.name), reader_.view(f.value));
  }
  request_.trailers.clear();
  for (const auto& f : reader_.trailers()) {
    request_.trailers.add(reader_.view(f.name), reader_.view(f.value));
  }
  request_.body = reader_.view(reader_.body());
  request_.chunked = chunked_;
  request_.keep_alive = detail::decide_keep_alive(reader_, version_);
  request_.expect_continue = expect_continue_;
}

}  // namespace weft::http

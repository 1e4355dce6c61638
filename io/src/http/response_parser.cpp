// The response side of HTTP/1.1: status line, interim responses, and which body a response has
// (RFC 9112 6.3, in order: no body by method or status, chunked, Content-Length, until close).

#include <weft/http/response_parser.hpp>

namespace weft::http {

namespace {

using detail::BodyFraming;
using detail::ContentLength;
using detail::MessageReader;
using detail::TransferEncoding;

}  // namespace

ResponseParser::ResponseParser(const Limits& limits)
    : reader_(limits, detail::MessageKind::response),
      max_interim_responses_(limits.max_interim_responses) {}

void ResponseParser::start(std::string_view request_method) {
  if (started_ && status_ != ParseStatus::error) reader_.start_next();
  started_ = true;
  head_request_ = request_method == "HEAD";
  interim_responses_ = 0;
  response_.headers.clear();
  response_.trailers.clear();
  if (status_ != ParseStatus::error) status_ = ParseStatus::need_more;
}

void ResponseParser::reset() {
  reader_.reset();
  started_ = false;
  interim_responses_ = 0;
  response_.headers.clear();
  response_.trailers.clear();
  status_ = ParseStatus::need_more;
}

ParseStatus ResponseParser::feed(std::string_view bytes) {
  if (status_ == ParseStatus::error) return status_;
  reader_.append(bytes);
  if (status_ == ParseStatus::complete) return status_;
  return run();
}

ParseStatus ResponseParser::finish() {
  if (status_ != ParseStatus::need_more) return status_;
  if (reader_.between_messages()) {
    reader_.fail(400, "connection closed before a response");
    return status_ = ParseStatus::error;
  }
  if (reader_.finish_input() == MessageReader::Event::message_complete) {
    build_response();
    return status_ = ParseStatus::complete;
  }
  return status_ = ParseStatus::error;
}

ParseStatus ResponseParser::run() {
  for (;;) {
    switch (reader_.advance()) {
      case MessageReader::Event::need_more:
        return status_ = ParseStatus::need_more;
      case MessageReader::Event::error:
        return status_ = ParseStatus::error;
      case MessageReader::Event::start_line:
        if (!on_status_line()) return status_ = ParseStatus::error;
        break;
      case MessageReader::Event::head_complete:
        if (!on_head()) return status_ = ParseStatus::error;
        break;
      case MessageReader::Event::message_complete:
        if (status_code_ >= 100 && status_code_ < 200 && status_code_ != 101) {
          // Interim response: the final one follows on the same connection. Bounded, or a
          // server could keep the client reading interim heads for ever.
          if (++interim_responses_ > max_interim_responses_) {
            reader_.fail(400, "too many interim (1xx) responses");
            return status_ = ParseStatus::error;
          }
          reader_.start_next();
          break;
        }
        build_response();
        return status_ = ParseStatus::complete;
    }
  }
}

bool ResponseParser::on_status_line() {
  // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4). The SP
  // before an empty reason is often missing in the wild; a client accepts both.
  const std::string_view line = reader_.view(reader_.start_line());
  version_ = detail::parse_version(line.substr(0, 8));
  if (version_ == 0 || line.size() < 12 || line[8] != ' ') {
    reader_.fail(400, "malformed status line");
    return false;
  }
  if (version_ != 10 && version_ != 11) {
    reader_.fail(505, "HTTP version not supported");
    return false;
  }
  const std::string_view code = line.substr(9, 3);
  std::uint64_t value = 0;
  if (!detail::parse_decimal(code, value) || value < 100 || value > 599 ||
      (line.size() > 12 && line[12] != ' ')) {
    reader_.fail(400, "malformed status code");
    return false;
  }
  const std::string_view reason = line.size() > 12 ? line.substr(13) : std::string_view();
  for (char c : reason) {
    if (!detail::is_field_value_char(static_cast<unsigned char>(c))) {
      reader_.fail(400, "control character in the reason phrase");
      return false;
    }
  }
  status_code_ = static_cast<int>(value);
  return true;
}

bool ResponseParser::on_head() {
  until_close_ = false;
  std::uint64_t length = 0;
  const ContentLength content_length = detail::classify_content_length(reader_, length);
  const TransferEncoding transfer_encoding = detail::classify_transfer_encoding(reader_);
  // The framing fields are checked even where they are ignored: a response that carries
  // malformed ones is not one to trust.
  if (content_length == ContentLength::repeated) {
    reader_.fail(400, "more than one Content-Length");
    return false;
  }
  if (content_length == ContentLength::invalid) {
    reader_.fail(400, "invalid Content-Length");
    return false;
  }
  if (transfer_encoding != TransferEncoding::absent && content_length != ContentLength::absent) {
    reader_.fail(400, "Content-Length and Transfer-Encoding");
    return false;
  }
  if (head_request_ || status_code_ < 200 || status_code_ == 204 || status_code_ == 304) {
    reader_.begin_body(BodyFraming::none);
    return true;
  }
  switch (transfer_encoding) {
    case TransferEncoding::absent:
      break;
    case TransferEncoding::chunked:
      reader_.begin_body(BodyFraming::chunked);
      return true;
    case TransferEncoding::not_chunked_last:
      // RFC 9112 6.3 rule 4: the body then runs until the connection closes.
      if (version_ == 10) break;
      until_close_ = true;
      reader_.begin_body(BodyFraming::until_close);
      return true;
    case TransferEncoding::chunked_after_other:
      reader_.fail(501, "transfer coding not implemented");
      return false;
    case TransferEncoding::chunked_twice:
    case TransferEncoding::malformed:
      reader_.fail(400, "malformed Transfer-Encoding");
      return false;
  }
  if (content_length == ContentLength::valid) {
    reader_.begin_body(length == 0 ? BodyFraming::none : BodyFraming::length, length);
    return !reader_.failed();
  }
  until_close_ = true;
  reader_.begin_body(BodyFraming::until_close);
  return true;
}

void ResponseParser::build_response() {
  const std::string_view line = reader_.view(reader_.start_line());
  response_.version = version_ == 10 ? Version::http_1_0 : Version::http_1_1;
  response_.status = status_code_;
  response_.reason = line.size() > 12 ? line.substr(13) : std::string_view();
  response_.headers.clear();
  for (const auto& f : reader_.fields()) {
    response_.headers.add(reader_.view(f.name), reader_.view(f.value));
  }
  response_.trailers.clear();
  for (const auto& f : reader_.trailers()) {
    response_.trailers.add(reader_.view(f.name), reader_.view(f.value));
  }
  response_.body = reader_.view(reader_.body());
  response_.chunked =
      detail::classify_transfer_encoding(reader_) == detail::TransferEncoding::chunked &&
      !head_request_ && status_code_ >= 200 && status_code_ != 204 && status_code_ != 304;
  response_.keep_alive = !until_close_ && detail::decide_keep_alive(reader_, version_);
}

}  // namespace weft::http

// The request side of HTTP/1.1: the request line, what the header fields mean for framing and
// keep-alive, and the strict refusals listed in request_parser.hpp.

#include <cstring>
#include <weft/http/request_parser.hpp>

namespace weft::http {

namespace {

using detail::BodyFraming;
using detail::ContentLength;
using detail::FieldName;
using detail::MessageReader;
using detail::TransferEncoding;

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

// Where split_request_line() stopped: after `method SP request-target SP`, or in one of them.
enum class Split { ok, in_method, in_target };

// Scans `method SP request-target SP` from the first byte of a request line, both parts
// non-empty (RFC 9112 3). method_end and target_end are where each part's loop stopped. The
// loops stop on any byte outside their class; `text` must hold one after what fits (the line's
// CR, or the buffer's NUL terminator), and at least four bytes.
Split split_request_line(const char* text, std::size_t& method_end,
                         std::size_t& target_end) noexcept {
  const auto tchar = [](char c) { return detail::is_tchar(static_cast<unsigned char>(c)); };
  const auto target_char = [](char c) { return is_target_char(static_cast<unsigned char>(c)); };
  // Most requests are GETs: four bytes decide that method without the loop.
  method_end = std::memcmp(text, "GET ", 4) == 0 ? 3 : 0;
  while (tchar(text[method_end])) ++method_end;
  target_end = method_end + 1;
  if (method_end == 0 || text[method_end] != ' ') return Split::in_method;
  while (target_char(text[target_end])) ++target_end;
  // SP is not a target byte, so an empty target stops on it here.
  if (target_end == method_end + 1 || text[target_end] != ' ') return Split::in_target;
  return Split::ok;
}

}  // namespace

RequestParser::RequestParser(const Limits& limits)
    : reader_(limits, detail::MessageKind::request) {}

ParseStatus RequestParser::feed(std::string_view bytes) {
  if (status_ == ParseStatus::error) return status_;
  reader_.append(bytes);
  if (status_ == ParseStatus::complete) return status_;
  return run();
}

ParseStatus RequestParser::next() {
  if (status_ == ParseStatus::error) return status_;
  reader_.start_next();
  reset_line_prefix();
  head_parsed_ = chunked_ = expect_continue_ = false;
  request_.headers.clear();
  request_.trailers.clear();
  status_ = ParseStatus::need_more;
  // Nothing buffered (no pipelining): what run() would find out, without the call.
  if (reader_.buffered() == 0) return status_;
  return run();
}

void RequestParser::reset() {
  reader_.reset();
  reset_line_prefix();
  head_parsed_ = chunked_ = expect_continue_ = false;
  request_.headers.clear();
  request_.trailers.clear();
  status_ = ParseStatus::need_more;
}

ParseStatus RequestParser::run() {
  if (take_simple_request_line() && reader_.failed()) return status_ = ParseStatus::error;
  for (;;) {
    switch (reader_.advance()) {
      case MessageReader::Event::need_more:
        // A start line still arriving is refused at the first byte that no request line can
        // have there (a TLS ClientHello, a NUL), not at the header timeout.
        if (const char* reason = check_line_prefix(reader_.start_line_so_far())) {
          reader_.fail(400, reason);
          return status_ = ParseStatus::error;
        }
        return status_ = ParseStatus::need_more;
      case MessageReader::Event::error:
        // The reader refused the start line at its end or its limit; a byte before that may
        // already have made it invalid, and that earlier verdict is the one any split gives.
        if (const char* reason = check_line_prefix(reader_.start_line_so_far()))
          reader_.refail(400, reason);
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

bool RequestParser::take_simple_request_line() {
  // The request line checked in the pass that finds its end, instead of the reader's scan and
  // then on_request_line(). It takes only a line the careful path takes and splits the same way
  // (method SP target SP HTTP/x.y CRLF: only field-value bytes before the CR, so the reader
  // would end the line there too), then runs the same checks. Anything else, a line still
  // arriving included, is left untouched to the careful path.
  const std::string_view bytes = reader_.unscanned_start_line();
  constexpr std::size_t kShortest = sizeof("M / HTTP/1.1\r\n") - 1;
  if (bytes.size() < kShortest) return false;
  std::size_t method_end = 0;
  std::size_t target_end = 0;
  if (split_request_line(bytes.data(), method_end, target_end) != Split::ok) return false;
  const std::size_t length = target_end + 1 + 8;  // HTTP/x.y
  if (length > bytes.size()) return false;
  const int version = detail::parse_version(std::string_view(bytes.data() + target_end + 1, 8));
  if (version == 0 || !reader_.take_start_line(length)) return false;
  (void)check_request_line(method_end, target_end, version);
  return true;
}

const char* RequestParser::check_line_prefix(std::string_view line) noexcept {
  // A left-to-right automaton over `method SP target SP HTTP/d.d`: its verdict on a byte
  // depends only on the bytes before it, so checking a prefix and later the rest gives what
  // checking the whole gives, whatever the split. It stops at CR or LF: the line's end, which
  // the reader judges. Resumes where the last call stopped (line_checked_), so a line that
  // arrives a byte at a time costs one pass, not one per byte.
  constexpr std::string_view kVersion = "HTTP/0.0";  // '0': any digit
  std::size_t i = line_checked_;
  for (; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c == '\r' || c == '\n') break;
    switch (line_phase_) {
      case LinePhase::method:
        if (detail::is_tchar(c)) {
          ++phase_bytes_;
        } else if (c == ' ' && phase_bytes_ > 0) {
          line_phase_ = LinePhase::target;
          phase_bytes_ = 0;
        } else {
          return "invalid method";
        }
        break;
      case LinePhase::target:
        if (is_target_char(c)) {
          ++phase_bytes_;
        } else if (c == ' ' && phase_bytes_ > 0) {
          line_phase_ = LinePhase::version;
          phase_bytes_ = 0;
        } else {
          return c == ' ' ? "malformed request line" : "invalid character in the target";
        }
        break;
      case LinePhase::version: {
        const bool fits =
            phase_bytes_ < kVersion.size() &&
            (kVersion[phase_bytes_] == '0' ? detail::is_digit(c) : c == kVersion[phase_bytes_]);
        if (!fits) {
          return c == ' ' || c == '\t' ? "malformed request line" : "malformed HTTP version";
        }
        ++phase_bytes_;
        break;
      }
    }
  }
  line_checked_ = i;
  return nullptr;
}

bool RequestParser::on_request_line() {
  // request-line = method SP request-target SP HTTP-version, single spaces (RFC 9112 3). Where
  // the split stops early, the refusal is the one the grammar's first broken rule gives: no SP
  // at all, then the method, then no second SP or an empty target, then the target's bytes,
  // then the version. (The line's CR follows it in the buffer, so the split stops on it at the
  // latest.)
  const std::string_view line = reader_.view(reader_.start_line());
  // First the byte-by-byte verdict that a split arrival gets (see check_line_prefix), then
  // what only a complete line can show.
  if (const char* reason = check_line_prefix(line)) {
    reader_.fail(400, reason);
    return false;
  }
  std::size_t method_end = 0;
  std::size_t target_end = 0;
  switch (split_request_line(line.data(), method_end, target_end)) {
    case Split::ok:
      break;
    case Split::in_method:
      // A byte that is neither a tchar nor the SP ending the method, no SP at all, or an empty
      // method.
      reader_.fail(400, line.find(' ') == std::string_view::npos ? "malformed request line"
                                                                 : "invalid method");
      return false;
    case Split::in_target: {
      // No second SP, an empty target, or a byte that may not be in a target before the SP.
      const bool bad_byte = line.data()[target_end] != ' ' &&
                            line.find(' ', method_end + 1) != std::string_view::npos;
      reader_.fail(400, bad_byte ? "invalid character in the target" : "malformed request line");
      return false;
    }
  }
  const std::string_view version_text = line.substr(target_end + 1);
  const int version = detail::parse_version(version_text);
  if (version == 0) {
    // Whitespace (a third SP, a tab) is a malformed line rather than a malformed version.
    const bool blank = version_text.find_first_of(" \t") != std::string_view::npos;
    reader_.fail(400, blank ? "malformed request line" : "malformed HTTP version");
    return false;
  }
  return check_request_line(method_end, target_end, version);
}

bool RequestParser::check_request_line(std::size_t method_end, std::size_t target_end,
                                       int version) {
  if (version != 10 && version != 11) {
    reader_.fail(505, "HTTP version not supported");
    return false;
  }
  const char* const line = reader_.view(reader_.start_line()).data();
  const std::size_t target_begin = method_end + 1;
  const std::string_view method(line, method_end);
  const std::string_view target(line + target_begin, target_end - target_begin);
  // Origin-form ("/path") with a method other than CONNECT is what nearly every request has,
  // and needs no more checks.
  if ((target.front() != '/' || method == "CONNECT") && !check_target_form(method, target)) {
    return false;
  }
  // Offsets, not views: the buffer may still grow (and move) while the body arrives.
  version_ = version;
  method_end_ = method_end;
  target_begin_ = target_begin;
  target_end_ = target_end;
  return true;
}

bool RequestParser::check_target_form(std::string_view method, std::string_view target) {
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

// on_head() and build_request() are inlined into run(), their one caller: once per message
// each, and for a small request the calls cost more than most of what they do.
[[gnu::always_inline]] inline bool RequestParser::on_head() {
  head_parsed_ = true;
  // RFC 9110 10.1.1: an HTTP/1.0 client's expectation is ignored (it cannot read a 100).
  if (version_ == 11 && reader_.field_count(FieldName::expect) != 0) {
    for (const auto& f : reader_.fields()) {
      if (f.kind == FieldName::expect && iequals(reader_.view(f.value), "100-continue")) {
        expect_continue_ = true;
      }
    }
  }
  // A second Host, an invalid one, a second or invalid Content-Length and Content-Length beside
  // Transfer-Encoding were refused as their lines were taken (message_reader.hpp).
  if (version_ == 11 && reader_.field_count(FieldName::host) == 0) {
    reader_.fail(400, "missing Host");
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

[[gnu::always_inline]] inline void RequestParser::build_request() {
  const char* const line = reader_.view(reader_.start_line()).data();
  request_.method = std::string_view(line, method_end_);
  request_.target = std::string_view(line + target_begin_, target_end_ - target_begin_);
  request_.version = version_ == 10 ? Version::http_1_0 : Version::http_1_1;
  // headers and trailers are empty here: next() and reset() clear them.
  for (const auto& f : reader_.fields()) {
    request_.headers.add(reader_.view(f.name), reader_.view(f.value));
  }
  for (const auto& f : reader_.trailers()) {
    request_.trailers.add(reader_.view(f.name), reader_.view(f.value));
  }
  request_.body = reader_.view(reader_.body());
  request_.chunked = chunked_;
  request_.keep_alive = detail::decide_keep_alive(reader_, version_);
  request_.expect_continue = expect_continue_;
}

}  // namespace weft::http

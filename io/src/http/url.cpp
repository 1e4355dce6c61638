// Strict parsing of absolute http:// URLs and RFC 3986 reference resolution (section 5.2),
// by the component split of RFC 3986 appendix B and the dot-segment removal of 5.2.4.

#include <arpa/inet.h>

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <weft/http/url.hpp>

namespace weft::http {

namespace {

// A URL quoted in an error message: non-printable bytes escaped, very long ones cut, so a
// hostile Location cannot inject lines into a log.
std::string quote(std::string_view text) {
  constexpr std::size_t kMaxQuoted = 256;  // enough to recognise a URL in a log line
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kMaxQuoted; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxQuoted) out += "...";
  out += '"';
  return out;
}

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

// RFC 3986 appendix B: scheme ":" "//" authority path "?" query "#" fragment, each optional
// except the path (possibly empty).
struct Reference {
  std::optional<std::string_view> scheme;
  std::optional<std::string_view> authority;
  std::string_view path;
  std::optional<std::string_view> query;
};

bool is_scheme(std::string_view s) noexcept {
  if (s.empty() || !is_alpha(s.front())) return false;
  for (char c : s) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return true;
}

Reference split(std::string_view text) {
  Reference r;
  if (const auto hash = text.find('#'); hash != std::string_view::npos) text = text.substr(0, hash);
  // A scheme ends at the first ':' that comes before any '/', '?' (and is a valid scheme:
  // otherwise the colon belongs to the path, as in "a b:c", which the byte check refuses).
  if (const auto colon = text.find_first_of(":/?");
      colon != std::string_view::npos && text[colon] == ':' && is_scheme(text.substr(0, colon))) {
    r.scheme = text.substr(0, colon);
    text.remove_prefix(colon + 1);
  }
  if (text.starts_with("//")) {
    text.remove_prefix(2);
    const auto end = text.find_first_of("/?");
    r.authority = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end);
  }
  const auto question = text.find('?');
  r.path = text.substr(0, question);
  if (question != std::string_view::npos) r.query = text.substr(question + 1);
  return r;
}

// RFC 3986 5.2.4.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  const auto drop_last_segment = [&out] {
    const auto slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      drop_last_segment();
    } else if (in == "/..") {
      in = "/";
      drop_last_segment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const auto next = in.find('/', 1);
      out += in.substr(0, next);
      in = next == std::string_view::npos ? std::string_view() : in.substr(next);
    }
  }
  return out;
}

// The byte check runs over the whole text first, so every later step sees visible ASCII only.
void check_bytes(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c > ' ' && c < 0x7f) continue;  // the common case: build no message
    const std::string at = " at offset " + std::to_string(i);
    if (c == ' ') throw InvalidUrl(std::string(text), "space" + at + " (percent-encode it: %20)");
    if (c < 0x20 || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      throw InvalidUrl(std::string(text), std::string("control character ") + code + at);
    }
    if (c >= 0x80) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      throw InvalidUrl(std::string(text),
                       std::string("non-ASCII byte ") + code + at + " (percent-encode it)");
    }
  }
}

void check_escapes(std::string_view part, std::string_view text, const char* where) {
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '%') continue;
    if (i + 2 >= part.size() || !is_hex(part[i + 1]) || !is_hex(part[i + 2]))
      throw InvalidUrl(std::string(text),
                       std::string("'%' not followed by two hex digits in the ") + where);
    i += 2;
  }
}

bool is_host_name_char(char c) noexcept {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

InvalidUrl::InvalidUrl(std::string url, std::string reason)
    : std::runtime_error("weft::http: invalid URL " + quote(url) + ": " + reason),
      url_(std::move(url)),
      reason_(std::move(reason)) {}

Url Url::parse(std::string_view text) {
  const auto fail = [text](std::string reason) -> InvalidUrl {
    return InvalidUrl(std::string(text), std::move(reason));
  };
  if (text.empty()) throw fail("empty URL");
  check_bytes(text);
  const Reference r = split(text);
  if (!r.scheme) throw fail("no scheme (expected http://host/path)");
  Url url;
  url.scheme_ = lowercase(*r.scheme);
  if (url.scheme_ != "http" && url.scheme_ != "https")
    throw fail("unsupported scheme \"" + url.scheme_ + "\" (only http and https)");
  url.port_ = url.default_port();
  if (!r.authority) throw fail("expected \"//\" and a host after \"" + url.scheme_ + ":\"");

  std::string_view authority = *r.authority;
  if (authority.find('@') != std::string_view::npos)
    throw fail("user information (user:password@) is not supported; send an Authorization header");
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) throw fail("'[' without ']' in the host");
    const std::string literal(authority.substr(1, close - 1));
    in6_addr scratch{};
    if (::inet_pton(AF_INET6, literal.c_str(), &scratch) != 1)
      throw fail("invalid IPv6 address [" + literal + "]");
    url.host_ = lowercase(literal);
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw fail("unexpected text after the IPv6 address");
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = authority.find(':');
    const std::string_view name = authority.substr(0, colon);
    if (name.empty()) throw fail("empty host");
    for (char c : name) {
      if (!is_host_name_char(c))
        throw fail(std::string("invalid character '") + c + "' in the host");
    }
    url.host_ = lowercase(name);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (has_port && !port_text.empty()) {
    unsigned long value = 0;
    for (char c : port_text) {
      if (!is_digit(c)) throw fail("invalid port \"" + std::string(port_text) + "\"");
      value = value * 10 + static_cast<unsigned long>(c - '0');
      if (value > 65535) throw fail("port " + std::string(port_text) + " over 65535");
    }
    if (value == 0) throw fail("port 0");
    url.port_ = static_cast<std::uint16_t>(value);
  }

  check_escapes(r.path, text, "path");
  if (r.query) check_escapes(*r.query, text, "query");
  url.target_ = r.path.empty() ? std::string("/") : remove_dot_segments(r.path);
  if (url.target_.empty()) url.target_ = "/";
  if (r.query) {
    url.target_ += '?';
    url.target_ += *r.query;
  }
  return url;
}

Url Url::resolve(std::string_view reference) const {
  check_bytes(reference);
  const Reference r = split(reference);
  // An absolute reference stands alone (its own parse names it in any error).
  if (r.scheme) return parse(reference);
  std::string out = scheme_ + "://";
  if (r.authority) {
    out += *r.authority;
    out += r.path;
    if (r.query) {
      out += '?';
      out += *r.query;
    }
    return parse(out);
  }
  out += authority();
  if (r.path.empty()) {
    out += path();
    if (r.query) {
      out += '?';
      out += *r.query;
    } else if (target_.find('?') != std::string::npos) {
      out += '?';
      out += query();
    }
  } else {
    if (r.path.starts_with('/')) {
      out += r.path;
    } else {
      // Merge (5.2.3): the base path up to its last '/', then the reference's path. The base
      // always has a path starting with '/', so the "empty base path" case cannot arise.
      const std::string_view base = path();
      out += base.substr(0, base.rfind('/') + 1);
      out += r.path;
    }
    if (r.query) {
      out += '?';
      out += *r.query;
    }
  }
  return parse(out);
}

std::string_view Url::path() const noexcept {
  return std::string_view(target_).substr(0, target_.find('?'));
}

std::string_view Url::query() const noexcept {
  const auto question = target_.find('?');
  return question == std::string::npos ? std::string_view()
                                       : std::string_view(target_).substr(question + 1);
}

std::string Url::authority() const {
  std::string out = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  if (port_ != default_port()) out += ":" + std::to_string(port_);
  return out;
}

std::string Url::to_string() const { return scheme_ + "://" + authority() + target_; }

}  // namespace weft::http

// weft::http::Url: what the client sends for a URL (host, port, target, Host header), what it
// refuses and how it says so, and how a Location is resolved (RFC 3986 5.2 and its examples).

#include <gtest/gtest.h>

#include <string>
#include <weft/http/url.hpp>

namespace {

using weft::http::ClientError;
using weft::http::InvalidUrl;
using weft::http::Url;

TEST(Url, ParsesHostPortAndTarget) {
  const Url u = Url::parse("http://example.com:8080/a/b?x=1&y=%20#frag");
  EXPECT_EQ(u.scheme(), "http");
  EXPECT_EQ(u.host(), "example.com");
  EXPECT_EQ(u.port(), 8080);
  EXPECT_EQ(u.target(), "/a/b?x=1&y=%20");  // the fragment is never sent
  EXPECT_EQ(u.path(), "/a/b");
  EXPECT_EQ(u.query(), "x=1&y=%20");
  EXPECT_EQ(u.authority(), "example.com:8080");
  EXPECT_EQ(u.to_string(), "http://example.com:8080/a/b?x=1&y=%20");
}

TEST(Url, DefaultsAndNormalisation) {
  const Url u = Url::parse("HTTP://Example.COM");
  EXPECT_EQ(u.scheme(), "http");
  EXPECT_EQ(u.host(), "example.com");
  EXPECT_EQ(u.port(), 80);
  EXPECT_EQ(u.target(), "/");
  EXPECT_EQ(u.authority(), "example.com");  // Host header: no ":80"
  EXPECT_EQ(Url::parse("http://h:80/x").authority(), "h");
  EXPECT_EQ(Url::parse("http://h:/x").port(), 80);  // an empty port is the default
  EXPECT_EQ(Url::parse("http://h?q=1").target(), "/?q=1");
  EXPECT_EQ(Url::parse("http://h#f").target(), "/");
  EXPECT_EQ(Url::parse("http://h/a/./b/../c/").target(), "/a/c/");
  EXPECT_EQ(Url::parse("http://h/../../x").target(), "/x");
  EXPECT_EQ(Url::parse("http://h/a?b/../c").target(), "/a?b/../c");  // not in the query
  EXPECT_EQ(Url::parse("http://h:65535/").port(), 65535);
  EXPECT_EQ(Url::parse("http://h/p"), Url::parse("http://H:80/p#x"));
}

TEST(Url, IpLiterals) {
  const Url v4 = Url::parse("http://127.0.0.1:9000/x");
  EXPECT_EQ(v4.host(), "127.0.0.1");
  EXPECT_EQ(v4.authority(), "127.0.0.1:9000");
  const Url v6 = Url::parse("http://[::1]:8080/x");
  EXPECT_EQ(v6.host(), "::1");  // without brackets: what resolve() and from_ip() take
  EXPECT_EQ(v6.port(), 8080);
  EXPECT_EQ(v6.authority(), "[::1]:8080");
  EXPECT_EQ(Url::parse("http://[2001:DB8::1]/").authority(), "[2001:db8::1]");
}

// Each refusal says what is wrong, names the URL, and is a ClientError.
void expect_invalid(const std::string& text, const std::string& reason_part) {
  try {
    (void)Url::parse(text);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const InvalidUrl& e) {
    EXPECT_EQ(e.url(), text);
    EXPECT_NE(e.reason().find(reason_part), std::string::npos)
        << "reason for " << text << ": " << e.reason();
    EXPECT_NE(std::string(e.what()).find("invalid URL"), std::string::npos) << e.what();
  }
}

TEST(Url, HttpsHasItsOwnDefaultPortAndOrigin) {
  const Url u = Url::parse("HTTPS://Example.com/a");
  EXPECT_EQ(u.scheme(), "https");
  EXPECT_TRUE(u.is_https());
  EXPECT_EQ(u.port(), 443);
  EXPECT_EQ(u.authority(), "example.com");
  EXPECT_EQ(u.to_string(), "https://example.com/a");
  EXPECT_EQ(Url::parse("https://example.com:80/").authority(), "example.com:80");
  EXPECT_EQ(Url::parse("https://example.com:443/").to_string(), "https://example.com/");
  // The same host and port under another scheme is another origin: a redirect from https to
  // http drops the credentials.
  EXPECT_FALSE(
      Url::parse("https://example.com:8080/").same_origin(Url::parse("http://example.com:8080/")));
}

TEST(Url, RefusesWhatCannotBeSent) {
  expect_invalid("", "empty");
  expect_invalid("example.com/x", "no scheme");
  expect_invalid("/relative", "no scheme");
  expect_invalid("ftp://example.com/", "unsupported scheme");
  expect_invalid("http:example.com", "\"//\"");
  expect_invalid("http://", "empty host");
  expect_invalid("http:///path", "empty host");
  expect_invalid("http://:80/", "empty host");
  expect_invalid("http://user:pw@example.com/", "user information");
  expect_invalid("http://exa mple.com/", "space at offset 10");
  expect_invalid("http://h/a b", "space");
  expect_invalid("http://h/a\tb", "control character 0x09");
  expect_invalid("http://h/a\r\nHost: evil", "control character 0x0d");
  expect_invalid(std::string("http://h/\0x", 11), "control character 0x00");
  expect_invalid("http://h/caf\xc3\xa9", "non-ASCII byte 0xc3");
  expect_invalid("http://h/%zz", "hex digits in the path");
  expect_invalid("http://h/?q=%4", "hex digits in the query");
  expect_invalid("http://h:0/", "port 0");
  expect_invalid("http://h:65536/", "over 65535");
  expect_invalid("http://h:8x/", "invalid port");
  expect_invalid("http://h:-1/", "invalid port");
  expect_invalid("http://ex!ample.com/", "invalid character '!'");
  expect_invalid("http://[::1/", "without ']'");
  expect_invalid("http://[::g]/", "invalid IPv6");
  expect_invalid("http://[::1]x/", "after the IPv6");
}

TEST(Url, ErrorMessagesEscapeTheUrl) {
  try {
    (void)Url::parse("http://h/\r\nX: y");
    ADD_FAILURE() << "accepted";
  } catch (const ClientError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\r'), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_NE(what.find("\\x0d\\x0a"), std::string::npos) << what;
  }
}

// RFC 3986 5.4.1 and 5.4.2, with the base http://a/b/c/d;p?q (fragments are dropped, and
// g:h / unknown schemes are refused by a client that only speaks http).
TEST(Url, ResolvesReferencesAsRfc3986) {
  const Url base = Url::parse("http://a/b/c/d;p?q");
  const auto r = [&base](const char* ref) { return base.resolve(ref).to_string(); };
  EXPECT_EQ(r("g"), "http://a/b/c/g");
  EXPECT_EQ(r("./g"), "http://a/b/c/g");
  EXPECT_EQ(r("g/"), "http://a/b/c/g/");
  EXPECT_EQ(r("/g"), "http://a/g");
  EXPECT_EQ(r("//g"), "http://g/");
  EXPECT_EQ(r("?y"), "http://a/b/c/d;p?y");
  EXPECT_EQ(r("g?y"), "http://a/b/c/g?y");
  EXPECT_EQ(r("#s"), "http://a/b/c/d;p?q");
  EXPECT_EQ(r("g#s"), "http://a/b/c/g");
  EXPECT_EQ(r(";x"), "http://a/b/c/;x");
  EXPECT_EQ(r(""), "http://a/b/c/d;p?q");
  EXPECT_EQ(r("."), "http://a/b/c/");
  EXPECT_EQ(r("./"), "http://a/b/c/");
  EXPECT_EQ(r(".."), "http://a/b/");
  EXPECT_EQ(r("../"), "http://a/b/");
  EXPECT_EQ(r("../g"), "http://a/b/g");
  EXPECT_EQ(r("../.."), "http://a/");
  EXPECT_EQ(r("../../g"), "http://a/g");
  EXPECT_EQ(r("../../../g"), "http://a/g");
  EXPECT_EQ(r("/./g"), "http://a/g");
  EXPECT_EQ(r("/../g"), "http://a/g");
  EXPECT_EQ(r("g."), "http://a/b/c/g.");
  EXPECT_EQ(r("..g"), "http://a/b/c/..g");
  EXPECT_EQ(r("./../g"), "http://a/b/g");
  EXPECT_EQ(r("g/./h"), "http://a/b/c/g/h");
  EXPECT_EQ(r("g/../h"), "http://a/b/c/h");
  EXPECT_EQ(r("g?y/./x"), "http://a/b/c/g?y/./x");
  EXPECT_EQ(r("http://other:81/x"), "http://other:81/x");
  EXPECT_EQ(r("HTTP://A/b"), "http://a/b");
}

TEST(Url, ResolveKeepsPortAndRefusesBadLocations) {
  const Url base = Url::parse("http://[::1]:8080/dir/page");
  EXPECT_EQ(base.resolve("other").to_string(), "http://[::1]:8080/dir/other");
  EXPECT_EQ(base.resolve("//127.0.0.1:9/x").to_string(), "http://127.0.0.1:9/x");
  EXPECT_EQ(base.resolve("https://a/").to_string(), "https://a/");  // to TLS and back
  EXPECT_EQ(Url::parse("https://a/").resolve("http://a/x").to_string(), "http://a/x");
  EXPECT_THROW((void)base.resolve("mailto:x@y"), InvalidUrl);
  EXPECT_THROW((void)base.resolve("/a b"), InvalidUrl);
  EXPECT_THROW((void)base.resolve("//user@h/"), InvalidUrl);
}

TEST(Url, SameOrigin) {
  const Url a = Url::parse("http://h:8080/x");
  EXPECT_TRUE(a.same_origin(Url::parse("http://H:8080/other?q")));
  EXPECT_FALSE(a.same_origin(Url::parse("http://h:8081/x")));
  EXPECT_FALSE(a.same_origin(Url::parse("http://g:8080/x")));
}

}  // namespace

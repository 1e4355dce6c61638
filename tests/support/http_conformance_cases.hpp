#pragma once

// The request conformance table shared by http_request_conformance_test.cpp (the parser) and
// http_server_conformance_test.cpp (a real server). The cases were written after reading
// llhttp's request fixtures (methods, targets, versions, Content-Length, Transfer-Encoding,
// chunk sizes and extensions, field lines, pipelining, Connection, the end of input) as the
// source of the idea; the table, its names and its bytes are this project's own. See the test
// files for the rules the table keeps.

#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <weft/http/request_parser.hpp>

namespace weft::test::conformance {

using namespace std::string_literals;
using weft::http::ParseStatus;
using weft::http::Request;
using weft::http::RequestParser;

enum class Verdict { accepted, refused, incomplete };

// What llhttp's strict (default) mode answers.
enum class Llhttp {
  accepts,
  rejects,
  lenient_only,            // refused in strict mode, accepted only with a lenient flag
  rejects_unknown_method,  // its fixed method table, not HTTP syntax (see the top comment)
  rejects_after_close,     // bytes after a request that ends the connection (ditto)
  no_fixture,              // a case of weft's own in the same area
};

struct Case {
  std::string name;
  Llhttp llhttp = Llhttp::no_fixture;
  Verdict weft = Verdict::accepted;
  std::string bytes;
  int status = 0;  // refused: the status request_parser.hpp documents for it
  // How many requests complete before the end (pipelining); 1 for a plain accepted case.
  std::size_t requests = 0;
  // Take only the first request and leave what follows buffered (CONNECT, Upgrade, and what
  // follows a request that ends the connection).
  bool first_only = false;
  // Checked on the first request when set.
  std::optional<std::string> method, target, body;
  std::optional<bool> keep_alive;
  std::optional<bool> expect_continue;
  std::optional<std::size_t> trailers;
  std::optional<std::pair<std::string, std::string>> header;
  std::optional<std::size_t> buffered;  // bytes buffered at the end
  std::string stricter;                 // llhttp accepts, weft refuses: why

  Case&& m(std::string v) && {
    method = std::move(v);
    return std::move(*this);
  }
  Case&& t(std::string v) && {
    target = std::move(v);
    return std::move(*this);
  }
  Case&& b(std::string v) && {
    body = std::move(v);
    return std::move(*this);
  }
  Case&& n(std::size_t v) && {
    requests = v;
    return std::move(*this);
  }
  Case&& first() && {
    first_only = true;
    return std::move(*this);
  }
  Case&& ka(bool v) && {
    keep_alive = v;
    return std::move(*this);
  }
  Case&& ec(bool v) && {
    expect_continue = v;
    return std::move(*this);
  }
  Case&& tr(std::size_t v) && {
    trailers = v;
    return std::move(*this);
  }
  Case&& hdr(std::string field, std::string value) && {
    header = std::pair{std::move(field), std::move(value)};
    return std::move(*this);
  }
  Case&& buf(std::size_t v) && {
    buffered = v;
    return std::move(*this);
  }
  Case&& because(std::string why) && {
    stricter = std::move(why);
    return std::move(*this);
  }
};

// gtest prints a failing case's parameter with this.
inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }
// A case's test name.
inline std::string case_name(const ::testing::TestParamInfo<Case>& test) { return test.param.name; }

inline Case ok(std::string name, Llhttp llhttp, std::string bytes) {
  Case c;
  c.name = std::move(name);
  c.llhttp = llhttp;
  c.weft = Verdict::accepted;
  c.bytes = std::move(bytes);
  c.requests = 1;
  return c;
}
inline Case bad(std::string name, Llhttp llhttp, int status, std::string bytes) {
  Case c;
  c.name = std::move(name);
  c.llhttp = llhttp;
  c.weft = Verdict::refused;
  c.status = status;
  c.bytes = std::move(bytes);
  return c;
}
inline Case more(std::string name, Llhttp llhttp, std::string bytes) {
  Case c;
  c.name = std::move(name);
  c.llhttp = llhttp;
  c.weft = Verdict::incomplete;
  c.bytes = std::move(bytes);
  return c;
}

inline constexpr auto A = Llhttp::accepts;
inline constexpr auto R = Llhttp::rejects;
inline constexpr auto L = Llhttp::lenient_only;
inline constexpr auto U = Llhttp::rejects_unknown_method;
inline constexpr auto C = Llhttp::rejects_after_close;
inline constexpr auto N = Llhttp::no_fixture;

inline const std::string H = "Host: h\r\n";
inline const std::string TE = "Transfer-Encoding: chunked\r\n";
inline const std::string kChunkedPost = "POST /c HTTP/1.1\r\n" + H + TE + "\r\n";

inline std::vector<Case> method_cases() {
  return {
      ok("ExtensionMethodReport", A, "REPORT /test HTTP/1.1\r\n" + H + "\r\n")
          .m("REPORT")
          .t("/test"),
      ok("ConnectAuthorityFormOnHttp10", A,
         "CONNECT 0-home0.netscape.com:443 HTTP/1.0\r\nUser-agent: Mozilla/1.1N\r\n"
         "Proxy-authorization: basic aGVsbG86d29ybGQ=\r\n\r\nsome data\r\nand yet even more data")
          .m("CONNECT")
          .t("0-home0.netscape.com:443")
          .b("")
          .first()
          .buf(33),
      ok("ConnectUppercaseAuthority", A, "CONNECT HOME0.NETSCAPE.COM:443 HTTP/1.0\r\n\r\n")
          .t("HOME0.NETSCAPE.COM:443"),
      ok("ConnectWithContentLengthBody", A,
         "CONNECT foo.bar.com:443 HTTP/1.0\r\nContent-Length: 10\r\n\r\nblarfcicle")
          .b("blarfcicle"),
      ok("ConnectUnderscoreInHost", A, "CONNECT home_0.netscape.com:443 HTTP/1.0\r\n\r\n")
          .t("home_0.netscape.com:443"),
      bad("AsteriskFormWithMSearch", A, 400,
          "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
          "ST: \"ssdp:all\"\r\n\r\n")
          .because("asterisk-form is for OPTIONS only (RFC 9112 3.2.4)"),
      ok("HyphenatedMethodWithOriginForm", A, "M-SEARCH / HTTP/1.1\r\n" + H + "\r\n").m("M-SEARCH"),
      ok("PatchWithBody", A,
         "PATCH /file.txt HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: application/example"
         "\r\nIf-Match: \"e0023aa4e\"\r\nContent-Length: 10\r\n\r\ncccccccccc")
          .m("PATCH")
          .b("cccccccccc"),
      ok("PurgeMethod", A, "PURGE /file.txt HTTP/1.1\r\nHost: www.example.com\r\n\r\n").m("PURGE"),
      ok("SearchMethod", A, "SEARCH / HTTP/1.1\r\nHost: www.example.com\r\n\r\n").m("SEARCH"),
      ok("LinkMethodWithRepeatedLinkFields", A,
         "LINK /images/my_dog.jpg HTTP/1.1\r\nHost: example.com\r\n"
         "Link: <http://example.com/profiles/joe>; rel=\"tag\"\r\n"
         "Link: <http://example.com/profiles/sally>; rel=\"tag\"\r\n\r\n")
          .m("LINK")
          .hdr("Link", "<http://example.com/profiles/joe>; rel=\"tag\""),
      ok("UnlinkMethod", A, "UNLINK /images/my_dog.jpg HTTP/1.1\r\n" + H + "\r\n").m("UNLINK"),
      ok("SourceMethod", A, "SOURCE /music/sweet/music HTTP/1.1\r\n" + H + "\r\n").m("SOURCE"),
      ok("OptionsWithTabBeforeValue", A,
         "OPTIONS /url HTTP/1.1\r\n" + H + "Header1: Value1\r\nHeader2:\t Value2\r\n\r\n")
          .m("OPTIONS")
          .hdr("Header2", "Value2"),
      ok("HeadMethod", A, "HEAD /url HTTP/1.1\r\n" + H + "\r\n").m("HEAD"),
      ok("UnknownMethodTokenIsAccepted", U, "MKCOLA / HTTP/1.1\r\n" + H + "\r\n").m("MKCOLA"),
      ok("UnknownMethodOnHttp10IsAccepted", U, "ANNOUNCE /music/sweet/music HTTP/1.0\r\n\r\n")
          .m("ANNOUNCE"),
      ok("LowercaseMethodIsKeptAsSent", U, "get / HTTP/1.1\r\n" + H + "\r\n").m("get"),
      bad("ParenthesisInMethod", N, 400, "G(ET / HTTP/1.1\r\n" + H + "\r\n"),
      bad("AtSignInMethod", N, 400, "GE@T / HTTP/1.1\r\n" + H + "\r\n"),
      bad("EmptyMethod", N, 400, " / HTTP/1.1\r\n" + H + "\r\n"),
      bad("TabAfterMethod", N, 400, "GET\t/ HTTP/1.1\r\n" + H + "\r\n"),
      bad("TwoSpacesAfterMethod", N, 400, "GET  / HTTP/1.1\r\n" + H + "\r\n"),
      bad("IceProtocol", R, 400, "GET /music/sweet/music ICE/1.0\r\nHost: example.com\r\n\r\n"),
      bad("ProtocolNameWithExtraLetter", R, 400,
          "GET /music/sweet/music IHTTP/1.0\r\nHost: example.com\r\n\r\n"),
      bad("RtspProtocol", R, 400, "PUT /music/sweet/music RTSP/1.0\r\nHost: example.com\r\n\r\n"),
  };
}

inline std::vector<Case> target_cases() {
  return {
      ok("QuotesAndBackslashesInTarget", A,
         "GET /with_\"lovely\"_quotes?foo=\\\"bar\\\" HTTP/1.1\r\n" + H + "\r\n")
          .t("/with_\"lovely\"_quotes?foo=\\\"bar\\\""),
      ok("QuestionMarkInsideQuery", A, "GET /test.cgi?foo=bar?baz HTTP/1.1\r\n" + H + "\r\n")
          .t("/test.cgi?foo=bar?baz"),
      ok("AbsoluteFormEndedByQuery", A,
         "GET http://hypnotoad.org?hail=all HTTP/1.1\r\n" + H + "\r\n")
          .t("http://hypnotoad.org?hail=all"),
      ok("AbsoluteFormWithPortEndedByQuery", A,
         "GET http://hypnotoad.org:1234?hail=all HTTP/1.1\r\n" + H + "\r\n")
          .t("http://hypnotoad.org:1234?hail=all"),
      ok("VerticalBarInQuery", A, "GET /test.cgi?query=| HTTP/1.1\r\n" + H + "\r\n")
          .t("/test.cgi?query=|"),
      ok("AbsoluteFormWithPortOnly", A, "GET http://hypnotoad.org:1234 HTTP/1.1\r\n" + H + "\r\n")
          .t("http://hypnotoad.org:1234"),
      ok("AbsoluteFormWithUserinfo", A,
         "GET http://a%12:b!&*$@hypnotoad.org:1234/toto HTTP/1.1\r\n" + H + "\r\n")
          .t("http://a%12:b!&*$@hypnotoad.org:1234/toto"),
      bad("Utf8InPath", R, 400,
          "GET /\xce\xb4\xc2\xb6/\xce\xb4t/pope?q=1#narf HTTP/1.1\r\nHost: github.com\r\n\r\n"),
      bad("ObsTextByteInTarget", N, 400, "GET /a\xff HTTP/1.1\r\n" + H + "\r\n"),
      bad("FragmentInTarget", A, 400,
          "GET /forums/1/topics/2375?page=1#posts-17408 HTTP/1.1\r\n" + H + "\r\n")
          .because("a fragment is never part of a request-target (RFC 9112 3.2)"),
      bad("SpaceInsideTarget", R, 400, "GET /foo bar/ HTTP/1.1\r\n" + H + "\r\n"),
      bad("ControlByteInTarget", N, 400,
          "GET /a\x01"
          "b HTTP/1.1\r\n" +
              H + "\r\n"),
      bad("DelInTarget", N, 400, "GET /a\x7f HTTP/1.1\r\n" + H + "\r\n"),
      bad("TabInTarget", N, 400, "GET /a\tb HTTP/1.1\r\n" + H + "\r\n"),
      ok("AsteriskFormWithOptions", N, "OPTIONS * HTTP/1.1\r\n" + H + "\r\n").t("*"),
      bad("AsteriskFormWithGet", N, 400, "GET * HTTP/1.1\r\n" + H + "\r\n"),
      bad("ConnectWithOriginForm", N, 400, "CONNECT /x HTTP/1.1\r\n" + H + "\r\n"),
      bad("TargetWithoutLeadingSlash", N, 400, "GET foo HTTP/1.1\r\n" + H + "\r\n"),
      bad("EmptyTarget", N, 400, "GET  HTTP/1.1\r\n" + H + "\r\n"),
  };
}

inline std::vector<Case> version_cases() {
  return {
      ok("Http10WithoutHost", A, "GET /test HTTP/1.0\r\nUser-Agent: ApacheBench/2.3\r\n\r\n")
          .ka(false),
      bad("UnknownVersion56", R, 505, "GET / HTTP/5.6\r\n" + H + "\r\n"),
      bad("Http20RequestLine", N, 505, "GET / HTTP/2.0\r\n" + H + "\r\n"),
      bad("Http09RequestLine", A, 400, "GET /\r\n\r\n")
          .because("HTTP/0.9 requests (no version) are not HTTP/1.x (RFC 9112 3)"),
      bad("LowercaseHttpName", N, 400, "GET / http/1.1\r\n" + H + "\r\n"),
      bad("TwoDigitMinorVersion", N, 400, "GET / HTTP/1.10\r\n" + H + "\r\n"),
      bad("VersionWithoutMinor", N, 400, "GET / HTTP/1\r\n" + H + "\r\n"),
      bad("SpaceAfterVersion", N, 400, "GET / HTTP/1.1 \r\n" + H + "\r\n"),
  };
}

inline std::vector<Case> content_length_cases() {
  const std::string put = "PUT /url HTTP/1.1\r\n" + H;
  const std::string post = "POST / HTTP/1.1\r\n" + H;
  return {
      ok("ContentLengthWithLeadingZeros", A, put + "Content-Length: 003\r\n\r\nabc").b("abc"),
      ok("ContentLengthFollowedByAnotherField", A,
         put + "Content-Length: 003\r\nOhai: world\r\n\r\nabc")
          .b("abc")
          .hdr("Ohai", "world"),
      bad("ContentLengthOverflow", R, 400, put + "Content-Length: 1000000000000000000000\r\n\r\n"),
      bad("ContentLengthOneOver64Bits", N, 400,
          put + "Content-Length: 18446744073709551616\r\n\r\n"),
      bad("ContentLengthMax64BitsOverMaxBody", N, 413,
          put + "Content-Length: 18446744073709551615\r\n\r\n"),
      bad("ContentLengthOverMaxBody", N, 413, put + "Content-Length: 1048577\r\n\r\n"),
      bad("TwoDifferentContentLengths", R, 400,
          put + "Content-Length: 1\r\nContent-Length: 2\r\n\r\n"),
      bad("TwoEqualContentLengths", N, 400,
          put + "Content-Length: 1\r\nContent-Length: 1\r\n\r\na"),
      bad("ContentLengthWithTransferEncodingIdentity", R, 400,
          put + "Content-Length: 1\r\nTransfer-Encoding: identity\r\n\r\n"),
      bad("ContentLengthWithTransferEncodingChunked", L, 400,
          put + "Content-Length: 1\r\n" + TE + "\r\n0\r\n\r\n"),
      ok("ContentLengthNameInMixedCase", A,
         "GET /get_funky_content_length_body_hello HTTP/1.0\r\nconTENT-Length: 5\r\n\r\nHELLO")
          .b("HELLO"),
      ok("ContentLengthSurroundedBySpaces", A, post + "Content-Length:  3 \r\n\r\nabc").b("abc"),
      bad("ContentLengthWithInnerSpace", R, 400, post + "Content-Length: 4 2\r\n\r\n"),
      bad("ContentLengthTwoNumbers", R, 400, post + "Content-Length: 13 37\r\n\r\n"),
      bad("EmptyContentLength", R, 400, post + "Content-Length:\r\n\r\n"),
      bad("ContentLengthNameWithCrInsteadOfDash", R, 400, put + "Content\rLength: 003\r\n\r\nabc"),
      bad("ContentLengthWithPlusSign", N, 400, post + "Content-Length: +3\r\n\r\nabc"),
      bad("NegativeContentLength", N, 400, post + "Content-Length: -1\r\n\r\n"),
      bad("HexContentLength", N, 400, post + "Content-Length: 0x3\r\n\r\nabc"),
      bad("ContentLengthListOfEqualValues", N, 400, post + "Content-Length: 3, 3\r\n\r\nabc"),
      bad("ContentLengthListOfDifferentValues", N, 400, post + "Content-Length: 3,4\r\n\r\nabc"),
  };
}

inline std::vector<Case> transfer_encoding_cases() {
  const std::string post = "POST /p?q=search HTTP/1.1\r\n" + H + "Accept: */*\r\n";
  const std::string put = "PUT /url HTTP/1.1\r\n" + H;
  const std::string get_close =
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: close \r\n"
      "Transfer-Encoding: chunked \r\n\r\n";
  return {
      bad("EmptyTransferEncodingWithContentLength", R, 400,
          "POST /first HTTP/1.1\r\n" + H + "Transfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello"),
      more("ChunkedHeadWithoutBody", A, put + TE + "\r\n"),
      ok("LowercaseHexChunkSize", A, put + TE + "\r\na\r\n0123456789\r\n0\r\n\r\n").b("0123456789"),
      ok("UppercaseHexChunkSize", A, put + TE + "\r\nA\r\n0123456789\r\n0\r\n\r\n").b("0123456789"),
      ok("ChunkedPost", A, kChunkedPost + "1e\r\nall your base are belong to us\r\n0\r\n\r\n")
          .b("all your base are belong to us"),
      ok("LastChunkWithLeadingZeros", A, kChunkedPost + "5\r\nhello\r\n6\r\n world\r\n000\r\n\r\n")
          .b("hello world"),
      ok("TrailerFields", A,
         kChunkedPost +
             "5\r\nhello\r\n6\r\n world\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\n")
          .b("hello world")
          .tr(2),
      ok("ChunkExtensionsTokens", A,
         kChunkedPost + "5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\r\nhello\r\n"
                        "6;blahblah;blah\r\n world\r\n0\r\n\r\n")
          .b("hello world"),
      bad("ChunkExtensionWithoutSemicolon", R, 400,
          kChunkedPost + "2 erfrferferf\r\naa\r\n0 rrrr\r\n\r\n"),
      bad("SemicolonWithoutChunkExtension", R, 400, kChunkedPost + "2;\r\naa\r\n0\r\n\r\n"),
      ok("QuotedChunkExtensionsWithEscapes", A,
         kChunkedPost + "5;ilovew3=\"I \\\"love\\\"; "
                        "\\\\extensions\\\\\";somuchlove=\"aretheseparametersfor\";"
                        "blah;foo=bar\r\nhello\r\n6;blahblah;blah\r\n world\r\n0\r\n\r\n")
          .b("hello world"),
      bad("UnterminatedQuotedChunkExtension", R, 400,
          kChunkedPost +
              "5;ilovew3=\"abc\";somuchlove=\"def; ghi\r\nhello\r\n6;blahblah;blah\r\n world\r\n"
              "0\r\n\r\n"),
      bad("UnknownTransferCoding", R, 400, put + "Transfer-Encoding: pigeons\r\n\r\n"),
      bad("IdentityTransferCodingWithContentLength", R, 400,
          post + "Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nWorld"),
      bad("IdentityWithContentLengthLenient", L, 400,
          post + "Transfer-Encoding: identity\r\nContent-Length: 1\r\n\r\nWorld"),
      bad("RepeatedEmptyTransferEncodingWithContentLength", R, 400,
          "POST / HTTP/1.1\r\nHost: foo\r\nContent-Length: 10\r\nTransfer-Encoding:\r\n"
          "Transfer-Encoding:\r\nTransfer-Encoding:\r\n\r\n2\r\nAA\r\n0\r\n"),
      bad("ChunkedBeforeAnotherCoding", R, 400,
          post + "Transfer-Encoding: chunked, deflate\r\n\r\nWorld"),
      bad("ChunkedFieldBeforeAnotherCodingField", R, 400,
          post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: deflate\r\n\r\nWorld"),
      bad("DeflateThenChunked", A, 501,
          post + "Transfer-Encoding: deflate, chunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n")
          .because("weft decodes no content coding under chunked: 501, as documented"),
      bad("DeflateFieldThenChunkedField", A, 501,
          post + "Transfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nWorld\r\n"
                 "0\r\n\r\n")
          .because("weft decodes no content coding under chunked: 501, as documented"),
      bad("ChunkedChunkedAsOneToken", R, 400,
          post + "Transfer-Encoding: chunkedchunked\r\n\r\n5\r\nWorld\r\n0\r\n\r\n"),
      bad("MissingLastChunk", R, 400, put + TE + "\r\n3\r\nfoo\r\n\r\n"),
      bad("BareLfInChunkSizeLine", R, 400, put + TE + "\r\n3 \n  \r\nfoo\r\n\r\n"),
      bad("ObsFoldAfterChunkedValue", L, 400,
          put + "Transfer-Encoding: chunked\r\n  abc\r\n\r\n5\r\nWorld\r\n0\r\n\r\n"),
      bad("ChunkSizeEndedByBareCr", R, 400,
          get_close + "5\r\r;ABCD\r\n34\r\nE\r\n0\r\n\r\nGET / HTTP/1.1 \r\nHost: a\r\n"
                      "Content-Length: 5\r\n\r\n0\r\n\r\n"),
      bad("ChunkSizeEndedByBareCrLenient", L, 400,
          get_close + "6\r\r;ABCD\r\n33\r\nE\r\n0\r\n\r\nGET / HTTP/1.1 \r\nHost: a\r\n"
                      "Content-Length: 5\r\n0\r\n\r\n"),
      bad("ChunkDataWithoutCrlf", R, 400, get_close + "5\r\nABCDE0\r\n\r\n"),
      bad("SpaceAfterChunkSize", R, 400, put + TE + "\r\na \r\n0123456789\r\n0\r\n\r\n"),
      bad("ChunkedTwice", N, 400, put + "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"),
      bad("ChunkedOnHttp10", N, 400, "PUT /url HTTP/1.0\r\n" + TE + "\r\n0\r\n\r\n"),
      bad("CodingListWithSpacesEndingInChunked", N, 501,
          put + "Transfer-Encoding:  gzip ,  chunked \r\n\r\n0\r\n\r\n"),
      ok("EmptyListElementBeforeChunked", N,
         put + "Transfer-Encoding: , chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
          .b("x"),
      ok("ChunkedInUppercase", N, put + "Transfer-Encoding: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n")
          .b("x"),
      bad("ParameterOnChunked", N, 400,
          put + "Transfer-Encoding: chunked;q=1\r\n\r\n1\r\nx\r\n0\r\n\r\n"),
  };
}

inline std::vector<Case> chunk_cases() {
  const std::string& p = kChunkedPost;
  return {
      bad("ChunkSizeOver64Bits", N, 400, p + "10000000000000000\r\nx\r\n0\r\n\r\n"),
      bad("ChunkSizeOverMaxBody", N, 413, p + "fffffffffffffff\r\nx\r\n0\r\n\r\n"),
      bad("ChunksAddingUpOverMaxBody", N, 413,
          p + "80000\r\n" + std::string(0x80000, 'a') + "\r\n80001\r\n"),
      ok("ChunkSizeWithLeadingZeros", N, p + "0005\r\nhello\r\n0\r\n\r\n").b("hello"),
      bad("NegativeChunkSize", N, 400, p + "-5\r\nhello\r\n0\r\n\r\n"),
      bad("HexPrefixedChunkSize", N, 400, p + "0x5\r\nhello\r\n0\r\n\r\n"),
      bad("EmptyChunkSize", N, 400, p + "\r\nhello\r\n0\r\n\r\n"),
      bad("ControlByteInChunkExtension", N, 400,
          p + "5;a\x01"
              "b\r\nhello\r\n0\r\n\r\n"),
      bad("NulInChunkExtension", N, 400, p + "5;a\0b\r\nhello\r\n0\r\n\r\n"s),
      ok("SpaceBeforeChunkExtensionSemicolon", N, p + "5 ;a=b\r\nhello\r\n0\r\n\r\n").b("hello"),
      ok("QuotedChunkExtensionHoldingSemicolon", N, p + "5;a=\"x;y\"\r\nhello\r\n0\r\n\r\n")
          .b("hello"),
      bad("ChunkDataLongerThanItsSize", N, 400, p + "5\r\nhelloworld\r\n0\r\n\r\n"),
      bad("ChunkDataEndedByBareLf", N, 400, p + "5\r\nhello\n0\r\n\r\n"),
      bad("ObsFoldInTrailer", N, 400, p + "0\r\nA: b\r\n c\r\n\r\n"),
      bad("SpaceBeforeColonInTrailer", N, 400, p + "0\r\nA : b\r\n\r\n"),
      bad("BareLfInTrailer", N, 400, p + "0\r\nA: b\nC: d\r\n\r\n"),
      more("TrailerSectionNotEnded", N, p + "0\r\nA: b\r\n"),
  };
}

inline std::vector<Case> field_cases() {
  const std::string get = "GET / HTTP/1.1\r\n" + H;
  return {
      ok("LongUserAgentAndHostWithEquals", A,
         "GET /test HTTP/1.1\r\nUser-Agent: curl/7.18.0 (i486-pc-linux-gnu) libcurl/7.18.0 "
         "OpenSSL/0.9.8g zlib/1.2.3.3 libidn/1.1\r\nHost: 0.0.0.0=5000\r\nAccept: */*\r\n\r\n")
          .hdr("Host", "0.0.0.0=5000"),
      ok("BrowserLikeGet", A,
         "GET /favicon.ico HTTP/1.1\r\nHost: 0.0.0.0=5000\r\nUser-Agent: Mozilla/5.0 (X11; U; "
         "Linux i686; en-US; rv:1.9) Gecko/2008061015 Firefox/3.0\r\nAccept: text/html,"
         "application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-us,en;"
         "q=0.5\r\nAccept-Encoding: gzip,deflate\r\nAccept-Charset: ISO-8859-1,utf-8;q=0.7,*;"
         "q=0.7\r\nKeep-Alive: 300\r\nConnection: keep-alive\r\n\r\n")
          .ka(true),
      ok("ValueRightAfterColon", A,
         "GET /dumbpack HTTP/1.1\r\n" + H + "aaaaaaaaaaaaa:++++++++++\r\n\r\n")
          .hdr("aaaaaaaaaaaaa", "++++++++++"),
      ok("NoFieldsOnHttp10", A, "GET /get_no_headers_no_body/world HTTP/1.0\r\n\r\n"),
      ok("LeadingCrlfBeforeRequestLine", A, "\r\nGET /test HTTP/1.1\r\n" + H + "\r\n").t("/test"),
      bad("ObsFoldedValues", A, 400,
          get + "Line1:   abc\r\n\tdef\r\n ghi\r\n\t\tjkl\r\n  mno \r\n\t \tqrs\r\nLine2: \t "
                "line2\t\r\n"
                "Line3:\r\n line3\r\nLine4: \r\n \r\nConnection:\r\n close\r\n\r\n")
          .because("obs-fold is refused (RFC 9112 5.2 allows a server to reject it)"),
      bad("ObsFoldedValuesWithBareLf", R, 400,
          "GET / HTTP/1.1\nLine1:   abc\n\tdef\n ghi\n\nConnection:\n close\n\n"),
      ok("Utf8InValue", A, get + "Test: D\xc3\xbcsseldorf\r\n\r\n")
          .hdr("Test", "D\xc3\xbcsseldorf"),
      ok("Byte255InValue", A,
         get + "Header2: \xff"
               "Value2\r\n\r\n")
          .hdr("Header2",
               "\xff"
               "Value2"),
      bad("ObsFoldedCertificate", A, 400,
          get + "X-SSL-Nonsense:   -----BEGIN CERTIFICATE-----\r\n"
                "\tMIIFbTCCBFWgAwIBAgICH4cwDQYJKoZIhvcNAQEFBQAwcDELMAkGA1UEBhMCVUsx\r\n"
                "\t-----END CERTIFICATE-----\r\n\r\n")
          .because("obs-fold is refused (RFC 9112 5.2 allows a server to reject it)"),
      bad("FieldsSeparatedByBareCr", R, 400, get + "Foo: 1\rBar: 2\r\n\r\n"),
      bad("FieldsSeparatedByBareLf", R, 400,
          "POST / HTTP/1.1\r\nHost: localhost:5000\r\nx:x\nTransfer-Encoding: chunked\r\n\r\n"
          "1\r\nA\r\n0\r\n\r\n"),
      bad("BareCrThenJunkAfterFields", R, 400,
          "GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\n\rZGET /evil: HTTP/1.1\r\nHost: a\r\n"
          "\r\n"),
      bad("EmptyValueEndedByBareCr", R, 400,
          "POST / HTTP/1.1\r\nConnection: Close\r\nHost: localhost:5000\r\nx:\rTransfer-Encoding: "
          "chunked\r\n\r\n1\r\nA\r\n0\r\n\r\n"),
      bad("EmptyValueEndedByBareLf", R, 400,
          "POST / HTTP/1.1\r\nHost: localhost:5000\r\nx:\nTransfer-Encoding: chunked\r\n\r\n"
          "1\r\nA\r\n0\r\n\r\n"),
      bad("AtSignInFieldName", R, 400, get + "Fo@: Failure\r\n\r\n"),
      bad("ControlByteInFieldName", R, 400, get + "Foo\x01test: Bar\r\n\r\n"),
      bad("EmptyFieldName", R, 400, get + ": Bar\r\n\r\n"),
      bad("FieldNameFoldedBeforeColon", R, 400, get + "name\r\n : value\r\n\r\n"),
      bad("BareCrAndEscapeInConnectionName", R, 400,
          "GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection\r\033\065\325eep-Alive\r\n"
          "Accept-Encoding: gzip\r\n\r\n"),
      bad("BareCrAndEscapeInOtherName", R, 400,
          "GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Some-Header\r\033\065\325eep-Alive\r\n"
          "Accept-Encoding: gzip\r\n\r\n"),
      bad("SmuggledRequestAfterBareLf", R, 400,
          "GET / HTTP/1.1\r\nHost: localhost\r\nDummy: x\nContent-Length: 23\r\n\r\n"
          "GET / HTTP/1.1\r\nDummy: GET /admin HTTP/1.1\r\nHost: localhost\r\n\r\n"),
      bad("SpaceBeforeFirstFieldLine", R, 400, "GET / HTTP/1.1\r\n Host: foo\r\n\r\n"),
      bad("OnlyLfLineEnds", R, 400,
          "POST / HTTP/1.1\nTransfer-Encoding: chunked\nTrailer: Baz\nFoo: abc\nBar: def\n\n"
          "1\nA\n1;abc\nB\n0\n\nBaz: ghi\n\n"),
      bad("FieldLineStartingWithSpace", R, 400,
          "POST /hello HTTP/1.1\r\nHost: localhost\r\nFoo: bar\r\n Content-Length: 38\r\n\r\n"
          "GET /bye HTTP/1.1\r\nHost: localhost\r\n\r\n"),
      bad("FormFeedValue", R, 400, "GET /url HTTP/1.1\r\n" + H + "Header1: \f\r\n\r\n"),
      bad("FormFeedInsideValue", R, 400,
          "GET /url HTTP/1.1\r\n" + H + "Header1: hello\fworld\r\n\r\n"),
      bad("SpaceBeforeColon", N, 400, "GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
      bad("TabBeforeColon", N, 400, get + "X-A\t: b\r\n\r\n"),
      bad("NulInValue", N, 400, get + "X-A: a\0b\r\n\r\n"s),
      bad("NulInName", N, 400, get + "X-\0A: b\r\n\r\n"s),
      bad("DelInValue", N, 400,
          get + "X-A: a\x7f"
                "b\r\n\r\n"),
      ok("EmptyValue", N, get + "X-Empty:\r\n\r\n").hdr("X-Empty", ""),
      ok("TabInsideValue", N, get + "X-A: a\tb\r\n\r\n").hdr("X-A", "a\tb"),
      ok("WhitespaceAroundValueIsTrimmed", N, get + "X-A: \t v w \t\r\n\r\n").hdr("X-A", "v w"),
  };
}

inline std::vector<Case> host_cases() {
  return {
      bad("MissingHostOnHttp11", A, 400, "GET /get_no_headers_no_body/world HTTP/1.1\r\n\r\n")
          .because("an HTTP/1.1 request without Host is a 400 (RFC 9112 3.2)"),
      bad("TwoHostFields", A, 400,
          "GET / HTTP/1.1\r\nhost: www.python.org\r\nhost: llhttp.org\r\n\r\n")
          .because("more than one Host is a 400 (RFC 9112 3.2)"),
      ok("EmptyHost", N, "GET / HTTP/1.1\r\nHost:\r\n\r\n").hdr("Host", ""),
      ok("HostWithPort", N, "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"),
      ok("HostIpv6Literal", N, "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
      bad("HostWithSpace", N, 400, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
      bad("HostWithPathAndQuery", N, 400, "GET / HTTP/1.1\r\nHost: a/b?c\r\n\r\n"),
      bad("HostWithBracketsAndQuotes", N, 400, "GET / HTTP/1.1\r\nHost: <x>\"'\r\n\r\n"),
  };
}

inline std::vector<Case> message_cases() {
  return {
      // Pipelining.
      more("ThreePipelinedRequestsLastBodyShort", A,
           "POST /aaa HTTP/1.1\r\n" + H +
               "Content-Length: 3\r\n\r\nAAA\r\n"
               "PUT /bbb HTTP/1.1\r\n" +
               H +
               "Content-Length: 4\r\n\r\nBBBB\r\n"
               "PATCH /ccc HTTP/1.1\r\n" +
               H + "Content-Length: 5\r\n\r\nCCCC")
          .n(2)
          .b("AAA"),
      ok("CrlfBetweenKeepAliveRequests", A,
         "POST / HTTP/1.1\r\nHost: www.example.com\r\nContent-Type: application/x-www-form-"
         "urlencoded\r\nContent-Length: 4\r\n\r\nq=42\r\n\r\nGET / HTTP/1.1\r\n" +
             H + "\r\n")
          .n(2)
          .b("q=42"),
      ok("TwoKeepAliveRequests", A,
         "PUT /url HTTP/1.1\r\n" + H +
             "Connection: keep-alive\r\n\r\n"
             "PUT /url HTTP/1.1\r\n" +
             H + "Connection: keep-alive\r\n\r\n")
          .n(2)
          .ka(true),
      // Connection.
      ok("ConnectionClose", A, "PUT /url HTTP/1.1\r\n" + H + "Connection: close\r\n\r\n").ka(false),
      ok("BytesAfterConnectionClose", C,
         "POST / HTTP/1.1\r\nHost: www.example.com\r\nContent-Length: 4\r\nConnection: close\r\n"
         "\r\nq=42\r\n\r\nGET / HTTP/1.1\r\n")
          .first()
          .b("q=42")
          .ka(false)
          .buf(20),
      ok("BytesAfterHttp10WithoutKeepAlive", C,
         "PUT /url HTTP/1.0\r\n\r\nPUT /url HTTP/1.1\r\n\r\n")
          .first()
          .ka(false)
          .buf(21),
      ok("Http10KeepAlive", N, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").ka(true),
      ok("CloseWinsInTokenList", A,
         "PUT /url HTTP/1.1\r\n" + H +
             "Connection: close, token, upgrade, token, keep-alive\r\n\r\n")
          .ka(false),
      bad("ConnectionTokensObsFolded", A, 400,
          "GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Something,\r\n Upgrade, ,Keep-"
          "Alive\r\nUpgrade: WebSocket\r\n\r\nHot diggity dogg")
          .because("obs-fold is refused (RFC 9112 5.2 allows a server to reject it)"),
      bad("ConnectionTokensObsFoldedAfterComma", A, 400,
          "GET /demo HTTP/1.1\r\n" + H +
              "Connection: keep-alive, \r\n upgrade\r\nUpgrade: "
              "WebSocket\r\n\r\nHot diggity dogg")
          .because("obs-fold is refused (RFC 9112 5.2 allows a server to reject it)"),
      ok("UpgradeWebSocketLeavesFollowingBytes", A,
         "GET /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nSec-WebSocket-Key2: "
         "12998 5 Y3 1  .P00\r\nSec-WebSocket-Protocol: sample\r\nUpgrade: WebSocket\r\n"
         "Sec-WebSocket-Key1: 4 @1  46546xW%0l 1 5\r\nOrigin: http://example.com\r\n\r\n"
         "Hot diggity dogg")
          .first()
          .b("")
          .buf(16)
          .hdr("Upgrade", "WebSocket"),
      ok("UpgradeWithContentLengthBody", A,
         "PUT /url HTTP/1.1\r\n" + H +
             "Connection: upgrade\r\nContent-Length: 4\r\n"
             "Upgrade: ws\r\n\r\nabcdefgh")
          .first()
          .b("abcd")
          .buf(4),
      ok("UpgradePostWithBody", A,
         "POST /demo HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\nUpgrade: HTTP/2.0\r\n"
         "Content-Length: 15\r\n\r\nsweet post bodyHot diggity dogg")
          .first()
          .b("sweet post body")
          .buf(16),
      // Expect.
      more("Expect100ContinueHeadOnly", N,
           "PUT /u HTTP/1.1\r\n" + H + "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
          .ec(true),
      ok("Expect100ContinueWithBody", N,
         "PUT /u HTTP/1.1\r\n" + H + "Expect: 100-Continue\r\nContent-Length: 5\r\n\r\nhello")
          .b("hello")
          .ec(true),
      ok("Expect100ContinueIgnoredOnHttp10", N,
         "PUT /u HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello")
          .ec(false),
      ok("UnknownExpectation", N, "GET / HTTP/1.1\r\n" + H + "Expect: something-else\r\n\r\n")
          .ec(false),
      // End of input.
      ok("CompleteGetLeavesNothingPending", A, "GET / HTTP/1.1\r\n" + H + "\r\n").buf(0),
      more("ContentLengthBodyNotArrived", A,
           "PUT / HTTP/1.1\r\n" + H + "Content-Length: 100\r\n\r\n"),
      more("InputEndsInsideFieldName", A, "PUT / HTTP/1.1\r\n" + H + "Content-Leng"),
  };
}

inline std::vector<Case> all_cases() {
  std::vector<Case> all;
  for (auto part :
       {method_cases(), target_cases(), version_cases(), content_length_cases(),
        transfer_encoding_cases(), chunk_cases(), field_cases(), host_cases(), message_cases()}) {
    for (auto& c : part) all.push_back(std::move(c));
  }
  return all;
}

}  // namespace weft::test::conformance

// weft::http::Server over TLS (listen_tls), against a client that shares no code with weft's
// TLS layer (BlockingTlsClient: OpenSSL on a blocking socket): keep-alive and pipelining,
// plain and TLS listeners side by side, static files read and encrypted in pieces, large and
// streamed bodies, refusals, close_notify at a graceful shutdown; and hostile input on the TLS
// port: a handshake that never starts or drips is cut at the header timeout, garbage, plain
// HTTP and a ClientHello cut short are closed at once, and random bytes on many connections
// leave the server serving and its fds where they were.

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/http/response_parser.hpp>
#include <weft/http/server.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/tls_error.hpp>

#include "blocking_tls_client.hpp"
#include "http_client_servers.hpp"
#include "http_server_test_support.hpp"
#include "required_tool.hpp"
#include "test_certs.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::BlockingTlsClient;
using weft::test::TestCa;
using weft::test::http::add_routes;
using weft::test::http::get_request;
using weft::test::http::Ms;
using weft::test::http::open_fd_count;
using weft::test::http::RawClient;
using weft::test::http::TempDir;
using weft::test::http::TestServer;
using End = BlockingTlsClient::End;

// One CA for the file: the server's leaf is issued for 127.0.0.1.
const TestCa& ca() {
  static const TestCa authority;
  return authority;
}

weft::http::ServerOptions tls_options(weft::http::ServerOptions o = {}) {
  const weft::test::KeyAndCert leaf = ca().issue();
  o.tls = weft::tls::Context::server(
      {.cert_chain_pem = leaf.cert_pem, .key_pem = leaf.key_pem, .alpn = {"http/1.1"}});
  return o;
}

// A server with the shared routes, listening with TLS (and plain too when `plain`).
struct TlsServed {
  explicit TlsServed(weft::http::ServerOptions options = {}, bool plain = false)
      : server(tls_options(std::move(options))) {
    add_routes(server.server());
    server.start(/*tls=*/true, plain);
  }
  TestServer server;
  [[nodiscard]] const weft::io::SocketAddress& tls_address() const { return server.tls_address(); }
};

// Reads until `count` responses (to GETs) have arrived whole, parsing as the bytes come (a
// re-parse of everything per read would be quadratic in the multi-MiB bodies below), or until
// the stream ends: then `error` says how.
struct Responses {
  std::vector<weft::test::http::RawResponse> responses;
  std::string error;
};
Responses read_responses(BlockingTlsClient& client, std::size_t count, End* end = nullptr) {
  Responses out;
  weft::http::ResponseParser parser(weft::test::http::client_limits());
  parser.start("GET");
  std::string chunk;
  End e = End::data;
  while (out.responses.size() < count) {
    chunk.clear();
    e = client.read_some(chunk);
    if (e != End::data) {
      out.error = "the stream ended (" + std::to_string(static_cast<int>(e)) + ") after " +
                  std::to_string(out.responses.size()) + " responses";
      break;
    }
    weft::http::ParseStatus st = parser.feed(chunk);
    while (st == weft::http::ParseStatus::complete) {
      out.responses.push_back(weft::test::http::own(parser.response()));
      parser.start("GET");
      st = parser.feed(std::string_view{});
    }
    if (st == weft::http::ParseStatus::error) {
      out.error = std::string(parser.error().reason);
      break;
    }
  }
  if (end != nullptr) *end = e;
  return out;
}

std::string request(const std::string& target, const std::string& extra = {}) {
  return get_request(target, extra);
}

TEST(HttpServerTls, ServesRequestsOnOneKeptAliveConnection) {
  TlsServed s;
  BlockingTlsClient client(s.tls_address(), ca().cert_pem());
  EXPECT_EQ(client.alpn_protocol(), "http/1.1");
  for (int i = 0; i < 3; ++i) {
    client.write(request("/users/" + std::to_string(i)));
    const auto parsed = read_responses(client, 1);
    ASSERT_EQ(parsed.responses.size(), 1u) << parsed.error;
    EXPECT_EQ(parsed.responses[0].status, 200);
    EXPECT_EQ(parsed.responses[0].body, "user " + std::to_string(i));
    EXPECT_FALSE(parsed.responses[0].connection_close());
  }
  const weft::http::ServerStats stats = s.server.stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.tls_handshake_failures, 0u);
}

TEST(HttpServerTls, PipelinedRequestsAreAnsweredInOrder) {
  TlsServed s;
  BlockingTlsClient client(s.tls_address(), ca().cert_pem());
  client.write(request("/p/1") + request("/p/2") + request("/nope") + request("/p/4"));
  const auto parsed = read_responses(client, 4);
  ASSERT_EQ(parsed.responses.size(), 4u) << parsed.error;
  EXPECT_EQ(parsed.responses[0].body, "p=1");
  EXPECT_EQ(parsed.responses[1].body, "p=2");
  EXPECT_EQ(parsed.responses[2].status, 404);
  EXPECT_EQ(parsed.responses[3].body, "p=4");
}

TEST(HttpServerTls, PlainAndTlsListenersServeTheSameRoutesOnTwoPorts) {
  weft::http::ServerOptions options;
  options.lingering_close = 100ms;  // the plain port's answer to a ClientHello ends sooner
  TlsServed s(options, /*plain=*/true);
  ASSERT_NE(s.server.address().port(), s.tls_address().port());
  auto plain = weft::test::http::fetch(s.server.address(), request("/hello"));
  EXPECT_EQ(weft::test::http::body_of(plain), "hello\n");
  BlockingTlsClient client(s.tls_address(), ca().cert_pem());
  client.write(request("/hello"));
  const auto parsed = read_responses(client, 1);
  ASSERT_EQ(parsed.responses.size(), 1u) << parsed.error;
  EXPECT_EQ(parsed.responses[0].body, "hello\n");
  // TLS bytes on the plain port are a request the parser refuses, not a handshake.
  EXPECT_THROW(BlockingTlsClient(s.server.address(), ca().cert_pem()), std::runtime_error);
}

TEST(HttpServerTls, ListenTlsNeedsAServerContextAndEachGroupListensOnce) {
  weft::RuntimeOptions quiet = weft::test::options(1);
  quiet.stall_threshold = Ms(0);  // loading the system's trust store takes a while
  weft::Runtime runtime(quiet);
  runtime.block_on([]() -> weft::Task<void> {
    const auto any = weft::io::SocketAddress::parse("127.0.0.1:0");
    weft::http::Server no_tls;
    EXPECT_THROW((void)no_tls.listen_tls(any), std::logic_error);
    weft::http::ServerOptions client_context;
    client_context.tls = weft::tls::Context::client();
    weft::http::Server wrong(std::move(client_context));
    EXPECT_THROW((void)wrong.listen_tls(any), std::logic_error);
    weft::http::Server twice(tls_options());
    (void)twice.listen_tls(any);
    EXPECT_THROW((void)twice.listen_tls(any), std::logic_error);
    (void)twice.listen(any);
    EXPECT_THROW((void)twice.listen(any), std::logic_error);
    co_return;
  }());
}

// A file larger than a read piece, with a pattern that shows a misplaced or repeated piece.
std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  std::uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>('a' + (x >> 16) % 26);
  }
  return s;
}

TEST(HttpServerTls, StaticFilesAreReadAndEncryptedInPieces) {
  TempDir dir("tls-static");
  const std::string content = pattern(3 * 1024 * 1024 + 4321);
  (void)dir.write("big.bin", content);
  weft::http::ServerOptions options = tls_options();
  TestServer server(std::move(options));
  server.server().static_files("/static", dir.path());
  server.start(/*tls=*/true, /*plain=*/false);
  BlockingTlsClient client(server.tls_address(), ca().cert_pem());
  client.write(request("/static/big.bin"));
  auto parsed = read_responses(client, 1);
  ASSERT_EQ(parsed.responses.size(), 1u) << parsed.error;
  EXPECT_EQ(parsed.responses[0].status, 200);
  EXPECT_TRUE(parsed.responses[0].body == content) << "the body differs from the file";
  // A range that starts inside a piece and crosses into the next, on the same connection.
  client.write(request("/static/big.bin", "Range: bytes=65000-200000\r\n"));
  parsed = read_responses(client, 1);
  ASSERT_EQ(parsed.responses.size(), 1u) << parsed.error;
  EXPECT_EQ(parsed.responses[0].status, 206);
  EXPECT_TRUE(parsed.responses[0].body == content.substr(65000, 200000 - 65000 + 1));
}

TEST(HttpServerTls, LargeAndStreamedBodiesArriveWhole) {
  weft::http::ServerOptions options = tls_options();
  TestServer server(std::move(options));
  const std::string big = pattern(5 * 1024 * 1024 + 7);
  server.server().route(
      "GET", "/big", [&big](weft::http::ServerRequest&) { return weft::test::http::reply(big); });
  add_routes(server.server());
  server.start(/*tls=*/true, /*plain=*/false);
  BlockingTlsClient client(server.tls_address(), ca().cert_pem());
  // Two large responses in one burst: the second one's writes meet a full socket buffer.
  client.write(request("/big") + request("/big") + request("/stream"));
  const auto parsed = read_responses(client, 3);
  ASSERT_EQ(parsed.responses.size(), 3u) << parsed.error;
  EXPECT_TRUE(parsed.responses[0].body == big);
  EXPECT_TRUE(parsed.responses[1].body == big);
  EXPECT_TRUE(parsed.responses[2].chunked);
  EXPECT_EQ(parsed.responses[2].body, "part 0\npart 2\npart 3\n");
}

TEST(HttpServerTls, ARefusedRequestIsAnsweredThenClosedWithCloseNotify) {
  weft::http::ServerOptions options;
  options.limits.max_header_section = 1024;
  TlsServed s(options);
  BlockingTlsClient client(s.tls_address(), ca().cert_pem());
  client.write(request("/hello", "X-Big: " + std::string(4000, 'x') + "\r\n"));
  End end = End::data;
  const auto parsed = read_responses(client, 1, &end);
  ASSERT_EQ(parsed.responses.size(), 1u) << parsed.error;
  EXPECT_EQ(parsed.responses[0].status, 431);
  EXPECT_TRUE(parsed.responses[0].connection_close());
  std::string rest;
  EXPECT_EQ(client.read_until(rest, [](const std::string&) { return false; }), End::close_notify);
  EXPECT_EQ(s.server.stats().refused, 1u);
}

TEST(HttpServerTls, AGracefulShutdownSendsCloseNotifyToIdleConnections) {
  TlsServed s;
  BlockingTlsClient client(s.tls_address(), ca().cert_pem());
  client.write(request("/hello"));
  ASSERT_EQ(read_responses(client, 1).responses.size(), 1u);
  s.server.begin_stop(5s);
  std::string rest;
  EXPECT_EQ(client.read_until(rest, [](const std::string&) { return false; }), End::close_notify);
  EXPECT_TRUE(rest.empty());
  EXPECT_TRUE(s.server.wait_stopped(weft::test::kDeadline));
}

// --- hostile input on the TLS port ------------------------------------------------------------

// The first flight of a real client: a ClientHello, made with memory BIOs.
std::string client_hello() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, in, out);
  (void)SSL_connect(ssl);  // WANT_READ: the ClientHello is in `out`
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string hello(data, static_cast<std::size_t>(size));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return hello;
}

TEST(HttpServerTls, AHandshakeThatNeverStartsIsCutAtTheHeaderTimeout) {
  weft::http::ServerOptions options;
  options.header_timeout = 300ms;
  TlsServed s(options);
  RawClient silent = RawClient::connect(s.tls_address());
  EXPECT_TRUE(silent.wait_closed());
  EXPECT_EQ(s.server.stats().timeouts, 1u);
  EXPECT_EQ(s.server.stats().tls_handshake_failures, 0u);
}

TEST(HttpServerTls, AClientHelloDrippedAByteAtATimeIsCutAtTheHeaderTimeout) {
  weft::http::ServerOptions options;
  options.header_timeout = 400ms;
  TlsServed s(options);
  const std::string hello = client_hello();
  ASSERT_GT(hello.size(), 100u);
  RawClient slow = RawClient::connect(s.tls_address());
  // 20 ms a byte: the whole hello would take seconds; the handshake's budget is the header
  // timeout, so the server cuts it long before the last byte.
  EXPECT_FALSE(slow.send_slowly(hello, 20ms));
  EXPECT_TRUE(slow.wait_closed());
  EXPECT_EQ(s.server.stats().timeouts, 1u);
}

TEST(HttpServerTls, GarbagePlainHttpAndACutClientHelloAreClosedAtOnce) {
  weft::http::ServerOptions options;
  options.header_timeout = 60s;  // so a close within the test's bound is not the timeout
  TlsServed s(options);
  const std::string hello = client_hello();
  const std::vector<std::string> inputs = {
      std::string(64, '\x17'),  // garbage
      request("/hello"),        // plain HTTP on the TLS port
      // A handshake record whose message is a ServerHello: not what a server accepts first.
      std::string("\x16\x03\x01\x00\x04\x02\x00\x00\x00", 9),
  };
  std::uint64_t expected_failures = 0;
  for (const std::string& input : inputs) {
    RawClient c = RawClient::connect(s.tls_address());
    ASSERT_TRUE(c.send(input));
    EXPECT_TRUE(c.wait_closed(20s)) << "input of " << input.size() << " bytes";
    ++expected_failures;
  }
  // Half a ClientHello, then the client's FIN: nothing more can come.
  RawClient cut = RawClient::connect(s.tls_address());
  ASSERT_TRUE(cut.send(hello.substr(0, hello.size() / 2)));
  cut.shutdown_write();
  EXPECT_TRUE(cut.wait_closed(20s));
  ++expected_failures;
  const weft::http::ServerStats stats = s.server.stats();
  EXPECT_EQ(stats.tls_handshake_failures, expected_failures);
  EXPECT_EQ(stats.timeouts, 0u);
  EXPECT_EQ(stats.requests, 0u);
}

TEST(HttpServerTls, RandomBytesOnManyConnectionsLeaveTheServerServingAndItsFdsFree) {
  weft::http::ServerOptions options;
  options.header_timeout = 2s;
  TlsServed s(options);
  const std::size_t fds_before = open_fd_count();
  const std::uint32_t seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  const std::string hello = client_hello();
  const int connections = static_cast<int>(weft::test::scaled(300, 30));
  for (int i = 0; i < connections; ++i) {
    std::string bytes;
    switch (i % 3) {
      case 0: {  // noise
        bytes.resize(1 + random() % 2000);
        for (char& c : bytes) c = static_cast<char>(random());
        break;
      }
      case 1: {  // a real hello with some bytes flipped
        bytes = hello;
        for (int k = 0; k < 3; ++k)
          bytes[random() % bytes.size()] ^= static_cast<char>(1 + random() % 255);
        break;
      }
      default:  // a real record header, then noise
        bytes = hello.substr(0, 5 + random() % 40);
        for (std::size_t k = 0; k < random() % 100; ++k) bytes += static_cast<char>(random());
    }
    RawClient c = RawClient::connect(s.tls_address());
    (void)c.send(bytes);
    c.shutdown_write();
    EXPECT_TRUE(c.wait_closed(20s)) << "connection " << i;
  }
  // Still serving, to a real client.
  BlockingTlsClient client(s.tls_address(), ca().cert_pem());
  client.write(request("/hello"));
  const auto parsed = read_responses(client, 1);
  ASSERT_EQ(parsed.responses.size(), 1u) << parsed.error;
  EXPECT_EQ(parsed.responses[0].body, "hello\n");
  EXPECT_EQ(s.server.stats().requests, 1u);
  // Every hostile connection was closed by the server: their fds are free again (the one
  // client above is still open on both sides).
  EXPECT_LE(open_fd_count(), fds_before + 2);
}

// --- real clients -----------------------------------------------------------------------------

// A server with the shared routes on TLS, and its CA in a file for the tools.
class RealClients : public ::testing::Test {
 protected:
  RealClients() : dir_("tls-server-clients"), served_() {
    ca_file_ = dir_.write("ca.pem", ca().cert_pem()).string();
    url_ = "https://127.0.0.1:" + std::to_string(served_.tls_address().port());
  }
  TempDir dir_;
  TlsServed served_;
  std::string ca_file_;
  std::string url_;
};

TEST_F(RealClients, CurlVerifiesTheServerAndReusesItsConnection) {
  const std::string curl = weft::test::required_tool("curl", "curl");
  if (curl.empty()) return;
  const auto result = weft::test::http::run_process(
      {curl, "-sS", "--max-time", "20", "--cacert", ca_file_, url_ + "/hello", url_ + "/p/2"}, 30s);
  ASSERT_TRUE(result.ok()) << result.describe();
  EXPECT_EQ(result.out, "hello\np=2");
  const weft::http::ServerStats stats = served_.server.stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.requests, 2u);
}

TEST_F(RealClients, PythonsHttpClientKeepsAliveAndSeesCloseNotifyAtTheEnd) {
  const std::string python = weft::test::required_tool("python3", "python3");
  if (python.empty()) return;
  // suppress_ragged_eofs=False: an end without close_notify raises SSLEOFError, so the last
  // recv returning b"" proves the server sent close_notify.
  const std::string script = R"(
import http.client, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=20)
out = []
for method, path, body in [("GET", "/hello", None), ("POST", "/echo", b"abc"),
                           ("GET", "/stream", None)]:
    conn.request(method, path, body=body)
    r = conn.getresponse()
    out.append("%d %s" % (r.status, r.read().decode().replace("\n", "|")))
print(";".join(out))
conn.close()
import socket
raw = socket.create_connection(("127.0.0.1", port), timeout=20)
s = ctx.wrap_socket(raw, server_hostname="127.0.0.1", suppress_ragged_eofs=False)
s.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n\r\n", 1)[1].decode(), end="")
)";
  const auto result = weft::test::http::run_process(
      {python, "-c", script, std::to_string(served_.tls_address().port()), ca_file_}, 30s);
  ASSERT_TRUE(result.ok()) << result.describe();
  EXPECT_EQ(result.out, "200 hello|;200 abc;200 part 0|part 2|part 3|\nhello\n");
  EXPECT_EQ(served_.server.stats().connections_accepted, 2u);
}

TEST_F(RealClients, OpensslSClientGetsHttp11ByAlpnAndCloseNotifyAtTheEnd) {
  const std::string openssl = weft::test::required_tool("openssl", "openssl");
  if (openssl.empty()) return;
  const std::string request_file =
      dir_.write("request", "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").string();
  // -ign_eof: keep reading after stdin ends, until the server ends the connection. s_client
  // prints "closed" for a close_notify (SSL_ERROR_ZERO_RETURN) and "read:errno=..." for an
  // end without one.
  const auto result = weft::test::http::run_process(
      {"/bin/sh", "-c",
       "exec \"$0\" s_client -connect 127.0.0.1:" + std::to_string(served_.tls_address().port()) +
           " -CAfile \"$1\" -verify_return_error -alpn http/1.1 -ign_eof < \"$2\"",
       openssl, ca_file_, request_file},
      30s);
  ASSERT_TRUE(result.ok()) << result.describe();
  EXPECT_NE(result.out.find("ALPN protocol: http/1.1"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\r\n\r\nhello\n"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("\nclosed\n"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("read:errno"), std::string::npos) << result.out;
}

// wrk, a load generator over TLS: 20 connections for a second, every answer a 200 and no socket
// error, the connections kept alive.
TEST_F(RealClients, WrkLoadsTheServerOverTlsWithoutAnError) {
  const std::string wrk = weft::test::required_tool("wrk", "wrk");
  if (wrk.empty()) return;
  const auto r = weft::test::http::run_process({wrk, "-t1", "-c20", "-d1s", url_ + "/hello"}, 60s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Socket errors"), std::string::npos) << r.out;
  const std::size_t at = r.out.find(" requests in ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::size_t start = r.out.find_last_not_of("0123456789", at - 1) + 1;
  const long requests = std::stol(r.out.substr(start, at - start));
  EXPECT_GT(requests, 100) << r.out;
  const weft::http::ServerStats stats = served_.server.stats();
  EXPECT_GE(stats.requests, static_cast<std::uint64_t>(requests));
  // wrk reconnects after every keep_alive_requests (1000) and stops at the second mark with
  // whatever connections it was opening: those handshakes end with the client gone, at most
  // one per connection.
  EXPECT_LE(stats.tls_handshake_failures, 20u);
  EXPECT_LE(stats.connections_accepted, 20u + stats.requests / 1000 + 20) << r.out;
}

// nginx as the client: a reverse proxy whose upstream is the weft server over TLS, verified
// against the test CA. Three requests through it reach weft over kept-alive upstream
// connections.
TEST_F(RealClients, NginxProxiesToTheServerOverVerifiedTls) {
  std::string error;
  const auto proxy =
      weft::test::NginxTlsProxy::start(served_.tls_address().port(), ca().cert_pem(), error);
  ASSERT_NE(proxy, nullptr) << error;
  const auto address = weft::io::SocketAddress::parse("127.0.0.1:" + std::to_string(proxy->port()));
  const std::vector<std::pair<std::string, std::string>> exchanges = {
      {"/hello", "hello\n"}, {"/p/7", "p=7"}, {"/users/3", "user 3"}};
  for (const auto& [path, body] : exchanges) {
    const auto response = weft::test::http::fetch(address, request(path));
    ASSERT_TRUE(response.has_value()) << path << "; nginx's log:\n" << proxy->error_log();
    EXPECT_EQ(response->status, 200) << response->describe() << "\n" << proxy->error_log();
    EXPECT_EQ(response->body, body);
  }
  const weft::http::ServerStats stats = served_.server.stats();
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.tls_handshake_failures, 0u);
  // keepalive 4 in the upstream block: nginx reuses its TLS connection to weft.
  EXPECT_EQ(stats.connections_accepted, 1u);
}

}  // namespace

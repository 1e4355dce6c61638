// weft::http::Server over TLS (listen_tls), against a client that shares no code with weft's
// TLS layer (BlockingTlsClient: OpenSSL on a blocking socket): keep-alive and pipelining,
// plain and TLS listeners side by side, static files read and encrypted in pieces, large and
// streamed bodies, refusals, close_notify at a graceful shutdown; and hostile input on the TLS
// port: a handshake that never starts or drips is cut at the header timeout, garbage, plain
// HTTP and a ClientHello cut short are closed at once, and random bytes on many connections
// leave the server serving and its fds where they were. Real clients (curl, python3, openssl,
// wrk, nginx) are in tests/integration/http_server_tls_clients_test.cpp.

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
#include "http_server_test_support.hpp"
#include "http_tls_served.hpp"
#include "test_certs.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::BlockingTlsClient;
using weft::test::open_fd_count;
using weft::test::TempDir;
using weft::test::TestCa;
using weft::test::http::add_routes;
using weft::test::http::ca;
using weft::test::http::get_request;
using weft::test::http::Ms;
using weft::test::http::RawClient;
using weft::test::http::request;
using weft::test::http::TestServer;
using weft::test::http::tls_options;
using weft::test::http::TlsServed;
using End = BlockingTlsClient::End;

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

}  // namespace

// weft::http::Server over TLS against real clients, each verifying the server against the test
// CA: curl (connection reuse), Python's http.client (keep-alive, close_notify at the end),
// openssl s_client (ALPN http/1.1), wrk (load without an error) and nginx as a reverse proxy
// over verified TLS. Integration tier: the binaries come from scripts/deps; a missing one fails
// the test with the package to install. Every subprocess runs under a timeout.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>
#include <weft/http/server.hpp>

#include "http_client_servers.hpp"
#include "http_server_test_support.hpp"
#include "http_tls_served.hpp"
#include "required_tool.hpp"
#include "subprocess.hpp"
#include "temp_dir.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::TempDir;
using weft::test::http::ca;
using weft::test::http::request;
using weft::test::http::TlsServed;

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
  const auto result = weft::test::run_process(
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
  const auto result = weft::test::run_process(
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
  const auto result = weft::test::run_process(
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
  const auto r = weft::test::run_process({wrk, "-t1", "-c20", "-d1s", url_ + "/hello"}, 60s);
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

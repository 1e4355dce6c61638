// weft::http::Client against real servers, each started by the test on a free loopback port:
// python3 -m http.server (HTTP/1.0, a connection per request) and nginx (keep-alive, chunked
// through sub_filter). Integration tier: they need python3 and nginx installed (scripts/deps).

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/wait_for.hpp>

#include "http_client_servers.hpp"
#include "http_client_test_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::http::Client;
using weft::http::ClientResponse;
using weft::http::ClientStats;
using weft::test::run_client_bounded;

// --- python3 -m http.server -----------------------------------------------------------------

class PythonServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = weft::test::PythonHttpServer::start(error_).release();
    if (server_ == nullptr) return;
    std::string binary(3000, '\0');
    for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i * 7);
    server_->write("file.bin", binary);
    server_->write("hello.txt", "hello from python\n");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << error_; }

  static inline weft::test::PythonHttpServer* server_ = nullptr;
  static inline std::string error_;
};

TEST_F(PythonServer, GetFileNotFoundAndHead) {
  auto body = [](weft::test::PythonHttpServer& server) -> Task<void> {
    Client client;
    ClientResponse file = co_await client.get(server.url("/file.bin"));
    EXPECT_EQ(file.status, 200);
    EXPECT_TRUE(file.body == weft::test::read_file(server.www() / "file.bin"));
    EXPECT_EQ(file.version, weft::http::Version::http_1_0);
    ClientResponse missing = co_await client.get(server.url("/missing.txt"));
    EXPECT_EQ(missing.status, 404);
    EXPECT_FALSE(missing.ok());
    ClientResponse head = co_await client.head(server.url("/hello.txt"));
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.headers.find("Content-Length"), "18");
    EXPECT_TRUE(head.body.empty());
    // HTTP/1.0 without keep-alive: a connection per request, none pooled.
    const ClientStats s = client.stats();
    EXPECT_EQ(s.connections_opened, 3u);
    EXPECT_EQ(s.connections_reused, 0u);
    EXPECT_EQ(s.idle_connections, 0u);
  };
  run_client_bounded(body(*server_));
}

// --- nginx ----------------------------------------------------------------------------------

class Nginx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = weft::test::NginxServer::start(error_).release();
    if (server_ == nullptr) return;
    server_->write("a.txt", "static a\n");
    std::string mib(1 << 20, '\0');
    std::uint32_t x = 12345;  // deterministic noise, so misplaced bytes show
    for (char& c : mib) {
      x = x * 1103515245u + 12345u;
      c = static_cast<char>(x >> 24);
    }
    server_->write("big.bin", mib);
    server_->write("chunked.html", "<p>AAA and AAA</p>\n");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr) << error_; }

  static inline weft::test::NginxServer* server_ = nullptr;
  static inline std::string error_;
};

TEST_F(Nginx, StaticFilesIncludingOneMebibyte) {
  auto body = [](weft::test::NginxServer& server) -> Task<void> {
    Client client;
    ClientResponse a = co_await client.get(server.url("/a.txt"));
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, "static a\n");
    ClientResponse big = co_await client.get(server.url("/big.bin"));
    EXPECT_EQ(big.status, 200);
    EXPECT_EQ(big.body.size(), 1u << 20);
    EXPECT_TRUE(big.body == weft::test::read_file(server.www() / "big.bin"));
    ClientResponse missing = co_await client.get(server.url("/nope"));
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(client.stats().connections_opened, 1u);  // nginx kept the connection throughout
  };
  run_client_bounded(body(*server_));
}

TEST_F(Nginx, HundredSequentialRequestsShareOneConnection) {
  auto body = [](weft::test::NginxServer& server) -> Task<void> {
    Client client;
    int ok = 0;
    for (int i = 0; i < 100; ++i) ok += (co_await client.get(server.url("/a.txt"))).ok() ? 1 : 0;
    EXPECT_EQ(ok, 100);
    const ClientStats s = client.stats();
    EXPECT_EQ(s.connections_opened, 1u);
    EXPECT_EQ(s.connections_reused, 99u);
  };
  run_client_bounded(body(*server_));
}

TEST_F(Nginx, RedirectAndChunkedBody) {
  auto body = [](weft::test::NginxServer& server) -> Task<void> {
    Client client;
    ClientResponse r = co_await client.get(server.url("/redir"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "static a\n");
    EXPECT_EQ(r.redirects, 1u);
    EXPECT_EQ(r.url, server.url("/a.txt"));
    ClientResponse chunked = co_await client.get(server.url("/chunked.html"));
    EXPECT_EQ(chunked.status, 200);
    EXPECT_EQ(chunked.headers.find("Transfer-Encoding"), "chunked");
    EXPECT_EQ(chunked.body, "<p>BBB and BBB</p>\n");
    EXPECT_EQ(client.stats().connections_opened, 1u);
  };
  run_client_bounded(body(*server_));
}

TEST_F(Nginx, FiftyConcurrentRequestsWithFourConnections) {
  auto body = [](weft::test::NginxServer& server) -> Task<void> {
    Client client({.max_connections_per_host = 4});
    std::vector<JoinHandle<ClientResponse>> requests;
    for (int i = 0; i < 50; ++i) {
      requests.push_back(weft::spawn(client.get(server.url(i % 2 == 0 ? "/a.txt" : "/big.bin"))));
    }
    int ok = 0;
    for (auto& r : requests) ok += (co_await r).ok() ? 1 : 0;
    EXPECT_EQ(ok, 50);
    const ClientStats s = client.stats();
    EXPECT_LE(s.connections_opened, 4u);
    EXPECT_EQ(s.requests, 50u);
    EXPECT_EQ(s.active_connections, 0u);
  };
  run_client_bounded(body(*server_));
}

}  // namespace

// weft::http::Server with real clients: curl (GET, HEAD, POST, keep-alive over two URLs, a
// chunked upload), Python's http.client (GET, POST, three requests on one connection, a chunked
// response), wrk (50 connections for 2 s: no errors, no non-2xx) and weft::http::Client
// (reuse of one connection, 20 tasks over a 4-connection pool, connections the server ends). The
// binaries come from scripts/deps; a missing one FAILS the test with the package to install (never
// a silent skip). Every subprocess runs under a timeout.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <regex>
#include <string>
#include <string_view>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/wait_for.hpp>

#include "http_server_test_support.hpp"
#include "required_tool.hpp"
#include "subprocess.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::http::ServerRequest;
using weft::http::ServerResponse;
using weft::test::find_executable;
using weft::test::ProcessResult;
using weft::test::run_process;
using weft::test::TempDir;
using weft::test::http::TestServer;

Task<ServerResponse> reply(std::string body) {
  co_return ServerResponse::text(200, std::move(body));
}

Task<ServerResponse> echo(ServerRequest& r) {
  ServerResponse resp =
      ServerResponse::text(200, std::string(r.body()), "application/octet-stream");
  resp.header("X-Was-Chunked", r.request().chunked ? "yes" : "no");
  co_return resp;
}

Task<ServerResponse> streamed(ServerRequest&) {
  co_return ServerResponse::stream(200, [n = 0]() mutable -> Task<std::optional<std::string>> {
    if (n == 3) co_return std::nullopt;
    co_return "part " + std::to_string(n++) + "\n";
  });
}

class HttpServerClients : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& s = server_.server();
    s.route("GET", "/hello", [](ServerRequest&) { return reply("hello\n"); });
    s.route("GET", "/p/{n}",
            [](ServerRequest& r) { return reply("p=" + std::string(r.param("n"))); });
    s.route("POST", "/echo", [](ServerRequest& r) { return echo(r); });
    s.route("GET", "/stream", [](ServerRequest& r) { return streamed(r); });
    server_.start();
    base_ = "http://" + server_.address().to_string();
  }

  ProcessResult curl(std::vector<std::string> args) {
    const std::string path = weft::test::required_tool("curl", "curl");
    if (path.empty()) return {};
    std::vector<std::string> argv = {path, "-sS", "--max-time", "20"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(std::move(argv), 30s);
  }

  TestServer server_;
  std::string base_;
};

// Headers and body of `curl -i` output (the last head: curl also prints a 100 Continue).
std::pair<std::string, std::string> split_head(const std::string& out) {
  std::size_t start = 0;
  for (;;) {
    const auto end = out.find("\r\n\r\n", start);
    if (end == std::string::npos) return {out, ""};
    const std::string head = out.substr(start, end - start);
    if (head.rfind("HTTP/1.1 100", 0) != 0) return {head, out.substr(end + 4)};
    start = end + 4;
  }
}

TEST_F(HttpServerClients, CurlGet) {
  const auto r = curl({"-i", base_ + "/hello"});
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto [head, body] = split_head(r.out);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: 6"), std::string::npos) << head;
  EXPECT_EQ(body, "hello\n");
}

TEST_F(HttpServerClients, CurlHead) {
  const auto r = curl({"-I", base_ + "/hello"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out.rfind("HTTP/1.1 200", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Content-Length: 6"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("hello"), std::string::npos) << "HEAD got a body: " << r.out;
}

TEST_F(HttpServerClients, CurlPostWithABody) {
  const auto r = curl({"-d", "a=1&b=two", base_ + "/echo"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "a=1&b=two");
}

TEST_F(HttpServerClients, CurlKeepAliveOverTwoUrls) {
  const auto r = curl({"--http1.1", base_ + "/hello", base_ + "/p/2"});
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out, "hello\np=2");
  const auto stats = server_.stats();
  EXPECT_EQ(stats.connections_accepted, 1u) << "curl did not reuse the connection";
  EXPECT_EQ(stats.requests, 2u);
}

TEST_F(HttpServerClients, CurlChunkedUpload) {
  TempDir dir("srv-curl");
  std::string content(200 * 1024, '\0');
  std::mt19937 rng(7);
  for (char& c : content) c = static_cast<char>('a' + rng() % 26);  // no newlines for -d
  const auto file = dir.write("upload.txt", content);
  const auto r =
      curl({"-i", "-H", "Transfer-Encoding: chunked", "-d", "@" + file.string(), base_ + "/echo"});
  ASSERT_TRUE(r.ok()) << r.describe().substr(0, 2000);
  const auto [head, body] = split_head(r.out);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("X-Was-Chunked: yes"), std::string::npos) << head;
  EXPECT_EQ(body.size(), content.size());
  EXPECT_TRUE(body == content);
}

TEST_F(HttpServerClients, PythonHttpClient) {
  const std::string python = weft::test::required_tool("python3", "python3");
  if (python.empty()) return;
  const std::string script = R"PY(
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("GET", "/hello")
r = c.getresponse()
print(r.status, repr(r.read()))
c.request("POST", "/echo", body=b"from python", headers={"Content-Type": "text/plain"})
r = c.getresponse()
print(r.status, repr(r.read()))
for i in range(3):
    c.request("GET", "/p/%d" % i)
    r = c.getresponse()
    print(r.status, repr(r.read()))
c.request("GET", "/stream")
r = c.getresponse()
print(r.status, r.getheader("Transfer-Encoding"), repr(r.read()))
c.close()
)PY";
  const auto r = run_process({python, "-c", script, std::to_string(server_.address().port())}, 30s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out,
            "200 b'hello\\n'\n"
            "200 b'from python'\n"
            "200 b'p=0'\n"
            "200 b'p=1'\n"
            "200 b'p=2'\n"
            "200 chunked b'part 0\\npart 1\\npart 2\\n'\n");
  const auto stats = server_.stats();
  EXPECT_EQ(stats.connections_accepted, 1u) << "six requests on one HTTPConnection";
  EXPECT_EQ(stats.requests, 6u);
}

TEST_F(HttpServerClients, WrkFiftyConnectionsTwoSeconds) {
  const std::string wrk = weft::test::required_tool("wrk", "wrk");
  if (wrk.empty()) return;
  const auto r = run_process({wrk, "-t1", "-c50", "-d2s", base_ + "/hello"}, 60s);
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_EQ(r.out.find("Non-2xx"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Socket errors"), std::string::npos) << r.out;
  std::smatch m;
  const std::regex total(R"((\d+) requests in )");
  ASSERT_TRUE(std::regex_search(r.out, m, total)) << r.out;
  const long requests = std::stol(m[1].str());
  EXPECT_GT(requests, 1000) << r.out;
  const auto stats = server_.stats();
  EXPECT_GE(stats.requests, static_cast<std::uint64_t>(requests));
  EXPECT_EQ(stats.handler_errors, 0u);
  EXPECT_EQ(stats.refused, 0u);
  // wrk keeps its 50 connections alive; the server closes each after keep_alive_requests
  // (1000), and wrk reconnects: about requests / 1000 more accepts, not one per request.
  EXPECT_LE(stats.connections_accepted, 50u + stats.requests / 1000 + 50) << r.out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// weft's own client

using weft::http::Client;
using weft::http::ClientOptions;
using weft::http::ClientResponse;

// Runs `body` on a runtime of its own (2 loops), so client and server never share loops.
template <class F>
void with_client_runtime(F body) {
  weft::Runtime rt(weft::test::options(2));
  rt.block_on(weft::wait_for(body(), weft::test::kDeadline * 3));
}

TEST_F(HttpServerClients, WeftClientGetPostAndReuse) {
  with_client_runtime([this]() -> Task<void> {
    Client client;
    const ClientResponse a = co_await client.get(base_ + "/hello");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, "hello\n");
    const ClientResponse b = co_await client.post(base_ + "/echo", "from weft");
    EXPECT_EQ(b.status, 200);
    EXPECT_EQ(b.body, "from weft");
    const ClientResponse c = co_await client.get(base_ + "/stream");
    EXPECT_EQ(c.body, "part 0\npart 1\npart 2\n");
    const ClientResponse d = co_await client.head(base_ + "/hello");
    EXPECT_EQ(d.status, 200);
    EXPECT_TRUE(d.body.empty());
    const ClientResponse e = co_await client.get(base_ + "/nope");
    EXPECT_EQ(e.status, 404);
    const auto stats = client.stats();
    EXPECT_EQ(stats.connections_opened, 1u);
    EXPECT_EQ(stats.connections_reused, 4u);
    co_await client.close();
  });
  EXPECT_EQ(server_.stats().connections_accepted, 1u);
  EXPECT_EQ(server_.stats().requests, 5u);
}

Task<void> fetch_many(Client& client, std::string url, int n, std::atomic<int>& ok) {
  for (int i = 0; i < n; ++i) {
    const ClientResponse r = co_await client.get(url + std::to_string(i));
    ok.fetch_add(r.status == 200 && r.body == "p=" + std::to_string(i) ? 1 : 0);
  }
}

TEST_F(HttpServerClients, WeftClientConcurrentRequestsShareFourConnections) {
  std::atomic<int> ok{0};
  with_client_runtime([this, &ok]() -> Task<void> {
    Client client(ClientOptions{.max_connections_per_host = 4});
    std::vector<weft::JoinHandle<void>> tasks;
    for (int t = 0; t < 20; ++t)
      tasks.push_back(weft::spawn(fetch_many(client, base_ + "/p/", 10, ok)));
    for (auto& t : tasks) co_await t;
    co_await client.close();
  });
  EXPECT_EQ(ok.load(), 200);
  EXPECT_LE(server_.stats().connections_accepted, 4u);
  EXPECT_EQ(server_.stats().requests, 200u);
}

// The server ends connections (keep_alive_requests, keep_alive_timeout); the client's pool
// must notice and go on with new ones, never surfacing an error for an idempotent GET.
TEST(HttpServerWithWeftClient, ServerSideClosesAreHandledByThePool) {
  weft::http::ServerOptions o;
  o.keep_alive_requests = 3;
  o.keep_alive_timeout = 200ms;
  o.timer_granularity = 10ms;
  TestServer server(std::move(o));
  server.server().route("GET", "/p/{n}",
                        [](ServerRequest& r) { return reply("p=" + std::string(r.param("n"))); });
  server.start();
  const std::string base = "http://" + server.address().to_string();
  with_client_runtime([&]() -> Task<void> {
    Client client;
    for (int i = 0; i < 10; ++i) {
      const ClientResponse r = co_await client.get(base + "/p/" + std::to_string(i));
      EXPECT_EQ(r.body, "p=" + std::to_string(i));
    }
    // Let the server time the pooled connection out, then reuse the pool.
    EXPECT_TRUE(co_await weft::test::co_wait_until(
        [&] { return server.stats().connections_open == 0; }, 5s));
    const ClientResponse r = co_await client.get(base + "/p/after");
    EXPECT_EQ(r.body, "p=after");
    co_await client.close();
  });
  // 10 requests at 3 per connection: 4 connections, then one after the idle close.
  EXPECT_EQ(server.stats().connections_accepted, 5u);
}

// weft::http::Client's pool defaults as a user meets them: a burst of requests at the
// connection cap, twice. The idle cap follows the connection cap unless set, so the second
// burst reuses every connection of the first instead of opening new ones.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/wait_for.hpp>

#include "http_client_script_server.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::http::Client;
using weft::http::ClientResponse;
using weft::test::ScriptServer;
using weft::test::ServerConnection;
using weft::test::ServerRequest;

// Each burst's requests are all answered only once all have arrived, so a burst holds
// `width` connections open at once.
Task<void> burst(Client& client, const ScriptServer& server, std::size_t width) {
  std::vector<JoinHandle<ClientResponse>> requests;
  for (std::size_t i = 0; i < width; ++i)
    requests.push_back(weft::spawn(client.get(server.url("/"))));
  for (auto& r : requests) {
    const ClientResponse response = co_await r;
    EXPECT_EQ(response.status, 200);
  }
}

void two_bursts(std::size_t width, std::optional<std::size_t> idle_cap, std::size_t expect_opened) {
  auto body = [&]() -> Task<void> {
    std::atomic<std::size_t> arrived{0};
    auto server = ScriptServer::start(
        [&arrived, width](ServerConnection& c, const ServerRequest&) -> Task<bool> {
          const std::size_t n = arrived.fetch_add(1) + 1;
          const std::size_t burst_end = (n + width - 1) / width * width;
          const bool all_in =
              co_await weft::test::co_wait_until([&] { return arrived.load() >= burst_end; });
          EXPECT_TRUE(all_in) << "a burst's requests did not all arrive";
          co_await c.write(weft::test::http_response(200, "ok"));
          co_return true;
        });
    Client client({.max_connections_per_host = width, .max_idle_per_host = idle_cap});
    co_await burst(client, *server, width);
    EXPECT_EQ(client.stats().idle_connections, idle_cap.value_or(width));
    co_await burst(client, *server, width);
    EXPECT_EQ(server->accepted(), expect_opened);
    EXPECT_EQ(client.stats().connections_opened, expect_opened);
    co_await client.close();
    co_await server->stop();
  };
  weft::run(weft::wait_for(body(), 20s), weft::test::options(2));
}

TEST(HttpClientPool, TheIdleCapFollowsTheConnectionCapSoASecondBurstOpensNothing) {
  two_bursts(10, std::nullopt, 10);
}

TEST(HttpClientPool, AnIdleCapBelowTheConnectionCapClosesTheRestAfterABurst) {
  two_bursts(10, 4, 16);  // 6 of the first burst's 10 closed, so 6 new for the second
}

}  // namespace

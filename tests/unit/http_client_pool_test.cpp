// weft::http::Client's connection pool, against a scripted server: keep-alive reuse, the
// per-host limit under concurrency on two loops, the retry of a stale pooled connection,
// timed-out and cancelled callers leaving the pool clean (seeded random cancellations too),
// idle timeout, max idle, close(). And its defaults as a user meets them: a burst of requests
// at the connection cap, twice. The idle cap follows the connection cap unless set, so the
// second burst reuses every connection of the first instead of opening new ones.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/wait_for.hpp>

#include "fd_count.hpp"
#include "http_client_script_server.hpp"
#include "http_client_test_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::http::Client;
using weft::http::ClientError;
using weft::http::ClientOptions;
using weft::http::ClientResponse;
using weft::http::ClientStats;
using weft::http::ConnectionClosed;
using weft::test::co_wait_until;
using weft::test::contains;
using weft::test::failure_of;
using weft::test::http_response;
using weft::test::run_client_bounded;
using weft::test::ScriptServer;
using weft::test::ServerConnection;
using weft::test::ServerRequest;
using Clock = std::chrono::steady_clock;

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
  run_client_bounded(body());
}

TEST(HttpClientPool, TheIdleCapFollowsTheConnectionCapSoASecondBurstOpensNothing) {
  two_bursts(10, std::nullopt, 10);
}

TEST(HttpClientPool, AnIdleCapBelowTheConnectionCapClosesTheRestAfterABurst) {
  two_bursts(10, 4, 16);  // 6 of the first burst's 10 closed, so 6 new for the second
}

// --- keep-alive, limits, idle connections ---------------------------------------------------

TEST(HttpClient, KeepAliveReusesOneConnection) {
  auto body = []() -> Task<void> {
    auto server =
        ScriptServer::start([](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          co_await c.write(http_response(200, std::to_string(r.index)));
          co_return true;
        });
    Client client;
    for (int i = 0; i < 20; ++i) {
      ClientResponse r = co_await client.get(server->url("/n"));
      EXPECT_EQ(r.body, std::to_string(i));  // the i-th request on the same connection
    }
    EXPECT_EQ(server->accepted(), 1u);
    const ClientStats s = client.stats();
    EXPECT_EQ(s.requests, 20u);
    EXPECT_EQ(s.connections_opened, 1u);
    EXPECT_EQ(s.connections_reused, 19u);
    EXPECT_EQ(s.idle_connections, 1u);
    EXPECT_EQ(s.active_connections, 0u);
    co_await server->stop();
  };
  run_client_bounded(body());
}

// 20 requests at once from tasks on two loops, a limit of 2: the server sees exactly two
// connections, and both are used (the handler holds every answer until the second is open,
// so a client that serialised its requests would fail here, after the bounded wait).
TEST(HttpClient, PerHostLimitHoldsUnderConcurrency) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      const ScriptServer& s = c.server();
      EXPECT_TRUE(co_await co_wait_until([&s] { return s.max_open_connections() >= 2; }, 5s));
      co_await c.write(http_response(200, "ok"));
      co_return true;
    });
    Client client({.max_connections_per_host = 2});
    std::vector<JoinHandle<ClientResponse>> requests;
    for (int i = 0; i < 20; ++i) requests.push_back(weft::spawn(client.get(server->url("/c"))));
    int ok = 0;
    for (auto& r : requests) ok += (co_await r).body == "ok" ? 1 : 0;
    EXPECT_EQ(ok, 20);
    EXPECT_EQ(server->max_open_connections(), 2);
    EXPECT_EQ(server->accepted(), 2u);
    const ClientStats s = client.stats();
    EXPECT_EQ(s.connections_opened, 2u);
    EXPECT_EQ(s.connections_reused, 18u);
    EXPECT_EQ(s.active_connections, 0u);
    co_await server->stop();
  };
  run_client_bounded(body());
}

// The server answers the first request on a connection, then closes the connection when the
// second arrives, unanswered (as if its keep-alive timeout had crossed our reuse). A GET is
// sent again on a new connection, once; a POST is not.
TEST(HttpClient, StalePooledConnectionIsRetriedOnceForIdempotentMethods) {
  auto body = []() -> Task<void> {
    auto server =
        ScriptServer::start([](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          if (r.index == 1) co_return false;  // close without answering
          co_await c.write(http_response(200, "connection " + std::to_string(r.connection)));
          co_return true;
        });
    Client client;
    EXPECT_EQ((co_await client.get(server->url("/a"))).body, "connection 1");
    EXPECT_EQ((co_await client.get(server->url("/b"))).body, "connection 2");
    ClientStats s = client.stats();
    EXPECT_EQ(s.stale_retries, 1u);
    EXPECT_EQ(s.connections_opened, 2u);
    EXPECT_EQ(server->accepted(), 2u);

    // Connection 2 is pooled now; its next request is dropped the same way.
    auto e = co_await failure_of<ConnectionClosed>(client.post(server->url("/c"), "data"));
    if (e) {
      EXPECT_EQ(e->bytes_received(), 0u);
      EXPECT_TRUE(contains(e->what(), "unanswered")) << e->what();
    }
    s = client.stats();
    EXPECT_EQ(s.stale_retries, 1u);
    EXPECT_EQ(server->accepted(), 2u);  // no new connection for the POST
    co_await server->stop();
  };
  run_client_bounded(body());
}

// The server closes a connection after answering (without saying so). Once that close has
// happened, the pooled connection is found dead before reuse (a non-blocking peek) — or, if
// the end of stream reaches our socket a moment too late for that, through the retry; either
// way the request succeeds on a new connection.
TEST(HttpClient, ConnectionClosedByTheServerWhileIdleIsNotReused) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write(http_response(200, "once"));
      co_return false;
    });
    Client client;
    EXPECT_EQ((co_await client.get(server->url("/1"))).body, "once");
    EXPECT_TRUE(co_await co_wait_until([&] { return server->open_connections() == 0; }));
    EXPECT_EQ((co_await client.get(server->url("/2"))).body, "once");
    const ClientStats s = client.stats();
    EXPECT_EQ(s.idle_closed + s.stale_retries, 1u);
    EXPECT_EQ(s.connections_opened, 2u);
    EXPECT_EQ(server->accepted(), 2u);
    co_await server->stop();
  };
  run_client_bounded(body());
}

// A request abandoned mid-body (the caller's own wait_for) closes its connection: the server
// reads the close, the slot is free again (the limit is 1), and the next request gets a new
// connection rather than the half-read one.
TEST(HttpClient, TimedOutCallerLeavesThePoolClean) {
  auto body = []() -> Task<void> {
    auto server =
        ScriptServer::start([](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          if (r.target == "/slow") {
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nhalf");
            EXPECT_TRUE(co_await c.until_client_closes());
            co_return false;
          }
          co_await c.write(http_response(200, "fast"));
          co_return true;
        });
    Client client({.max_connections_per_host = 1});
    try {
      (void)co_await weft::wait_for(client.get(server->url("/slow")), 100ms);
      ADD_FAILURE() << "the slow request completed";
    } catch (const weft::TimeoutError&) {
    }
    EXPECT_EQ(client.stats().active_connections, 0u);
    EXPECT_TRUE(co_await co_wait_until([&] { return server->client_closes() == 1; }));
    ClientResponse r = co_await weft::wait_for(client.get(server->url("/fast")), 5s);
    EXPECT_EQ(r.body, "fast");
    EXPECT_EQ(server->accepted(), 2u);
    co_await server->stop();
  };
  run_client_bounded(body());
}

TEST(HttpClient, CancelledRequestClosesItsConnectionAndFreesItsSlot) {
  auto body = []() -> Task<void> {
    auto server =
        ScriptServer::start([](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          if (r.target == "/hang") {
            EXPECT_TRUE(co_await c.until_client_closes());
            co_return false;
          }
          co_await c.write(http_response(200, "next"));
          co_return true;
        });
    Client client({.max_connections_per_host = 1});
    JoinHandle<ClientResponse> hanging = weft::spawn(client.get(server->url("/hang")));
    // Cancel once the request is on the wire (the server has it), so the cancel lands in the
    // read of the response.
    EXPECT_TRUE(co_await co_wait_until([&] { return server->request_count() == 1; }));
    // A second request waits for the only slot meanwhile.
    JoinHandle<ClientResponse> waiting = weft::spawn(client.get(server->url("/next")));
    hanging.cancel();
    try {
      (void)co_await hanging;
      ADD_FAILURE() << "the cancelled request completed";
    } catch (const weft::CancelledError&) {
    }
    ClientResponse r = co_await waiting;
    EXPECT_EQ(r.body, "next");
    EXPECT_EQ(server->accepted(), 2u);
    EXPECT_TRUE(co_await co_wait_until([&] { return server->client_closes() == 1; }));
    co_await server->stop();
  };
  run_client_bounded(body());
}

using weft::test::open_fd_count;

// Four tasks on two loops share a client with 2 connections to a server that trickles its
// bodies, each abandoning its requests at seeded random moments (waiting for a slot,
// connecting, writing, reading): every slot comes back, no connection stays leased, and no
// fd is left once the client is closed.
TEST(HttpClient, RandomCancellationsLeaveNothingBehind) {
  auto body = []() -> Task<void> {
    const std::size_t fds_before = open_fd_count();
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n");
      for (int i = 0; i < 8; ++i) {
        co_await weft::sleep(1ms);
        co_await c.write("x");
      }
      co_return true;
    });
    {
      Client client({.max_connections_per_host = 2});
      std::atomic<int> completed{0};
      std::atomic<int> abandoned{0};
      auto worker = [](Client& c, std::string url, unsigned seed, std::atomic<int>& done,
                       std::atomic<int>& cut) -> Task<void> {
        std::minstd_rand random(seed);
        for (int i = 0; i < 25; ++i) {
          try {
            const auto limit = std::chrono::milliseconds(random() % 20);
            EXPECT_EQ((co_await weft::wait_for(c.get(url), limit)).body, "xxxxxxxx");
            done.fetch_add(1);
          } catch (const weft::TimeoutError&) {
            cut.fetch_add(1);
          }
        }
      };
      std::vector<JoinHandle<void>> workers;
      for (unsigned w = 0; w < 4; ++w) {
        workers.push_back(
            weft::spawn(worker(client, server->url("/"), 1234 + w, completed, abandoned)));
      }
      for (auto& w : workers) co_await w;
      EXPECT_EQ(completed.load() + abandoned.load(), 100);
      const ClientStats s = client.stats();
      EXPECT_EQ(s.active_connections, 0u);
      EXPECT_LE(s.idle_connections, 2u);
      co_await client.close();
    }
    co_await server->stop();
    EXPECT_TRUE(co_await co_wait_until([&] { return open_fd_count() == fds_before; }))
        << open_fd_count() << " fds open, " << fds_before << " before";
  };
  run_client_bounded(body());
}

TEST(HttpClient, IdleConnectionsAreClosedAfterTheIdleTimeout) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write(http_response(200, "ok"));
      co_return true;
    });
    Client client({.idle_timeout = 100ms});
    const auto start = Clock::now();
    (void)co_await client.get(server->url("/"));
    EXPECT_EQ(client.stats().idle_connections, 1u);
    EXPECT_TRUE(co_await co_wait_until([&] { return server->client_closes() == 1; }, 5s));
    EXPECT_GE(Clock::now() - start, 100ms);
    const ClientStats s = client.stats();
    EXPECT_EQ(s.idle_connections, 0u);
    EXPECT_EQ(s.idle_closed, 1u);
    // The pool works on afterwards.
    EXPECT_EQ((co_await client.get(server->url("/"))).body, "ok");
    EXPECT_EQ(server->accepted(), 2u);
    co_await server->stop();
  };
  run_client_bounded(body());
}

TEST(HttpClient, IdleConnectionsBeyondTheMaximumAreClosed) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      const ScriptServer& s = c.server();
      EXPECT_TRUE(co_await co_wait_until([&s] { return s.max_open_connections() >= 3; }, 5s));
      co_await c.write(http_response(200, "ok"));
      co_return true;
    });
    Client client({.max_connections_per_host = 3, .max_idle_per_host = 1});
    std::vector<JoinHandle<ClientResponse>> requests;
    for (int i = 0; i < 3; ++i) requests.push_back(weft::spawn(client.get(server->url("/"))));
    for (auto& r : requests) EXPECT_EQ((co_await r).body, "ok");
    const ClientStats s = client.stats();
    EXPECT_EQ(s.idle_connections, 1u);
    EXPECT_EQ(s.idle_closed, 2u);
    EXPECT_TRUE(co_await co_wait_until([&] { return server->client_closes() == 2; }));
    co_await server->stop();
  };
  run_client_bounded(body());
}

TEST(HttpClient, CloseClosesIdleConnectionsAndRefusesNewRequests) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write(http_response(200, "ok"));
      co_return true;
    });
    Client client;
    (void)co_await client.get(server->url("/"));
    co_await client.close();
    EXPECT_EQ(client.stats().idle_connections, 0u);
    EXPECT_TRUE(co_await co_wait_until([&] { return server->client_closes() == 1; }));
    auto e = co_await failure_of<ClientError>(client.get(server->url("/")));
    if (e) {
      EXPECT_TRUE(contains(e->what(), "close")) << e->what();
    }
    co_await server->stop();
  };
  run_client_bounded(body());
}

}  // namespace

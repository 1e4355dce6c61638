// weft::http::Client's redirects, against a scripted server: chains on one connection, loops,
// relative Locations, 303 -> GET and 307 keeping the method, credentials dropped across origins.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/wait_for.hpp>

#include "http_client_script_server.hpp"
#include "http_client_test_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::http::Client;
using weft::http::ClientResponse;
using weft::http::TooManyRedirects;
using weft::test::contains;
using weft::test::failure_of;
using weft::test::http_response;
using weft::test::redirect_response;
using weft::test::run_client_bounded;
using weft::test::ScriptServer;
using weft::test::ServerConnection;
using weft::test::ServerRequest;

TEST(HttpClient, RedirectChainIsFollowedOnOneConnection) {
  auto body = []() -> Task<void> {
    auto server =
        ScriptServer::start([](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          if (r.target == "/r1") {
            co_await c.write(redirect_response(302, "/r2"));
          } else if (r.target == "/r2") {
            co_await c.write(redirect_response(301, c.server().url("/dir/r3")));  // absolute
          } else if (r.target == "/dir/r3") {
            co_await c.write(redirect_response(307, "final?x=1"));  // relative to /dir/
          } else {
            co_await c.write(http_response(200, "arrived at " + r.target));
          }
          co_return true;
        });
    Client client;
    ClientResponse r = co_await client.get(server->url("/r1"));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "arrived at /dir/final?x=1");
    EXPECT_EQ(r.redirects, 3u);
    EXPECT_EQ(r.url, server->url("/dir/final?x=1"));
    EXPECT_EQ(server->request_count(), 4u);
    EXPECT_EQ(server->accepted(), 1u);  // each redirect body was read: the connection reused

    // Not following: the redirect itself is the response.
    Client manual({.follow_redirects = false});
    ClientResponse first = co_await manual.get(server->url("/r1"));
    EXPECT_EQ(first.status, 302);
    EXPECT_EQ(first.headers.find("Location"), "/r2");
    co_await server->stop();
  };
  run_client_bounded(body());
}

TEST(HttpClient, RelativeLocationsResolveAgainstTheCurrentUrl) {
  auto body = []() -> Task<void> {
    auto server =
        ScriptServer::start([](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          const std::string authority = "127.0.0.1:" + std::to_string(c.server().port());
          if (r.target == "/dir/sub/page") {
            co_await c.write(redirect_response(302, "../other?q=1"));
          } else if (r.target == "/dir/other?q=1") {
            co_await c.write(redirect_response(302, "//" + authority + "/abs"));  // network-path
          } else {
            co_await c.write(http_response(200, r.target));
          }
          co_return true;
        });
    Client client;
    ClientResponse r = co_await client.get(server->url("/dir/sub/page"));
    EXPECT_EQ(r.body, "/abs");
    EXPECT_EQ(r.redirects, 2u);
    const std::vector<ServerRequest> seen = server->requests();
    EXPECT_EQ(seen.size(), 3u);
    if (seen.size() == 3) {
      EXPECT_EQ(seen[1].target, "/dir/other?q=1");
    }
    co_await server->stop();
  };
  run_client_bounded(body());
}

TEST(HttpClient, SeeOtherTurnsAPostIntoAGetAndTemporaryRedirectKeepsIt) {
  auto body = []() -> Task<void> {
    auto server =
        ScriptServer::start([](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          if (r.target == "/303") {
            co_await c.write(redirect_response(303, "/result"));
          } else if (r.target == "/302") {
            co_await c.write(redirect_response(302, "/result"));
          } else if (r.target == "/307") {
            co_await c.write(redirect_response(307, "/result"));
          } else {
            co_await c.write(http_response(200, r.method + " " + r.body));
          }
          co_return true;
        });
    Client client;
    const weft::http::HeaderList form{{"Content-Type", "text/plain"}};
    ClientResponse see_other = co_await client.post(server->url("/303"), "payload", form);
    EXPECT_EQ(see_other.body, "GET ");
    ClientResponse found = co_await client.post(server->url("/302"), "payload", form);
    EXPECT_EQ(found.body, "GET ");
    ClientResponse temporary = co_await client.post(server->url("/307"), "payload", form);
    EXPECT_EQ(temporary.body, "POST payload");
    const std::vector<ServerRequest> seen = server->requests();
    EXPECT_EQ(seen.size(), 6u);
    if (seen.size() == 6) {
      for (int i : {1, 3}) {  // the GETs after 303 and 302 carry no body headers
        EXPECT_EQ(seen[i].method, "GET");
        EXPECT_FALSE(seen[i].headers.contains("Content-Length"));
        EXPECT_FALSE(seen[i].headers.contains("Content-Type"));
      }
      EXPECT_EQ(seen[5].headers.find("Content-Length"), "7");
      EXPECT_EQ(seen[5].headers.find("Content-Type"), "text/plain");
    }
    co_await server->stop();
  };
  run_client_bounded(body());
}

TEST(HttpClient, RedirectLoopEndsInTooManyRedirects) {
  auto body = []() -> Task<void> {
    auto server =
        ScriptServer::start([](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          co_await c.write(redirect_response(302, r.target == "/a" ? "/b" : "/a"));
          co_return true;
        });
    Client client({.max_redirects = 5});
    auto e = co_await failure_of<TooManyRedirects>(client.get(server->url("/a")));
    if (e) {
      EXPECT_EQ(e->limit(), 5u);
      EXPECT_TRUE(contains(e->what(), "more than 5 redirects")) << e->what();
    }
    EXPECT_EQ(server->request_count(), 6u);  // the first request and 5 redirects followed
    Client defaults;
    (void)co_await failure_of<TooManyRedirects>(defaults.get(server->url("/a")));
    EXPECT_EQ(server->request_count(), 6u + 11u);
    co_await server->stop();
  };
  run_client_bounded(body());
}

TEST(HttpClient, RedirectToAnotherOriginDropsCredentials) {
  auto body = []() -> Task<void> {
    auto other = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write(http_response(200, "other"));
      co_return true;
    });
    const std::string other_url = other->url("/landing");
    auto origin =
        ScriptServer::start([other_url](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          if (r.target == "/away") {
            co_await c.write(redirect_response(302, other_url));
          } else if (r.target == "/here") {
            co_await c.write(redirect_response(302, "/landing"));
          } else {
            co_await c.write(http_response(200, "origin"));
          }
          co_return true;
        });
    Client client;
    const weft::http::HeaderList credentials{{"Authorization", "Bearer secret"},
                                             {"Cookie", "session=1"}};
    EXPECT_EQ((co_await client.get(origin->url("/away"), credentials)).body, "other");
    EXPECT_EQ((co_await client.get(origin->url("/here"), credentials)).body, "origin");
    const std::vector<ServerRequest> at_other = other->requests();
    EXPECT_EQ(at_other.size(), 1u);
    if (!at_other.empty()) {
      EXPECT_FALSE(at_other[0].headers.contains("Authorization"));
      EXPECT_FALSE(at_other[0].headers.contains("Cookie"));
      EXPECT_EQ(at_other[0].headers.find("Host"), "127.0.0.1:" + std::to_string(other->port()));
    }
    for (const ServerRequest& r : origin->requests()) {  // same origin: kept on every hop
      EXPECT_EQ(r.headers.find("Authorization"), "Bearer secret") << r.target;
    }
    co_await origin->stop();
    co_await other->stop();
  };
  run_client_bounded(body());
}

}  // namespace

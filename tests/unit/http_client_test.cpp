// weft::http::Client: what users rely on, over loopback.
// - Against a scripted server (weft's own TcpListener, exact bytes): Content-Length, chunked
//   and close-delimited bodies; malformed responses, resets and closes mid-body; read, total
//   and connect timeouts; refused connects; redirects (chains, loops, relative Locations,
//   303 -> GET, credentials across origins); keep-alive reuse; the per-host limit under
//   concurrency on two loops; the retry of a stale pooled connection; cancellation leaving
//   the pool clean; idle timeout, max idle, close().
// - Against python3 -m http.server (HTTP/1.0, a connection per request) and nginx (keep-alive,
//   chunked through sub_filter), each started by the test on a free loopback port.

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/wait_for.hpp>

#include "http_client_script_server.hpp"
#include "http_client_servers.hpp"
#include "test_support.hpp"
#include "fd_count.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::http::Client;
using weft::http::ClientError;
using weft::http::ClientOptions;
using weft::http::ClientResponse;
using weft::http::ClientStats;
using weft::http::ClientTimeout;
using weft::http::ConnectError;
using weft::http::ConnectionClosed;
using weft::http::InvalidUrl;
using weft::http::MalformedResponse;
using weft::http::TimeoutPhase;
using weft::http::TooManyRedirects;
using weft::io::SocketAddress;
using weft::io::TcpListener;
using weft::io::TcpStream;
using weft::test::co_wait_until;
using weft::test::http_response;
using weft::test::redirect_response;
using weft::test::ScriptServer;
using weft::test::ServerConnection;
using weft::test::ServerRequest;

// Every test body runs under a deadline: a hang fails the test instead of reaching ctest's
// timeout. Two loops: the client is used from tasks that the loops steal from each other.
template <class T>
T run_bounded(Task<T> body) {
  return weft::run(weft::wait_for(std::move(body), 20s), weft::test::options(2));
}

// The exception of type E the task ended with, or nullopt (with a test failure) if it ended
// otherwise.
template <class E, class T>
Task<std::optional<E>> failure_of(Task<T> task) {
  try {
    (void)co_await std::move(task);
    ADD_FAILURE() << "the request succeeded";
  } catch (const E& e) {
    co_return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception: " << e.what();
  }
  co_return std::nullopt;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

using Clock = std::chrono::steady_clock;

// --- bodies, headers, framing ---------------------------------------------------------------

TEST(HttpClient, GetReadsAContentLengthBodyAndSendsTheDefaultHeaders) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write(http_response(200, "hello", "X-Test: a\r\nx-test: b\r\n"));
      co_return true;
    });
    std::optional<ClientResponse> kept;
    {
      Client client;
      ClientResponse r = co_await client.get(server->url("/path?q=1#fragment"));
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.reason, "OK");
      EXPECT_TRUE(r.ok());
      EXPECT_EQ(r.body, "hello");
      EXPECT_EQ(r.headers.find("X-TEST"), "a");  // case-insensitive
      EXPECT_EQ(r.headers.find_all("x-test").size(), 2u);
      EXPECT_EQ(r.url, server->url("/path?q=1"));
      EXPECT_EQ(r.redirects, 0u);
      kept = std::move(r);
      co_await client.close();
    }
    // The response owns its bytes: the client and its connection are gone.
    EXPECT_EQ(kept->body, "hello");
    EXPECT_EQ(kept->headers.find("content-length"), "5");

    const std::vector<ServerRequest> seen = server->requests();
    EXPECT_EQ(seen.size(), 1u);
    if (!seen.empty()) {
      const ServerRequest& r = seen[0];
      EXPECT_EQ(r.method, "GET");
      EXPECT_EQ(r.target, "/path?q=1");  // the fragment is not sent
      EXPECT_EQ(r.headers.find("Host"), "127.0.0.1:" + std::to_string(server->port()));
      EXPECT_EQ(r.headers.find("User-Agent"), "weft/0.1");
      EXPECT_FALSE(r.headers.contains("Accept-Encoding"));  // no gzip asked for
      EXPECT_FALSE(r.headers.contains("Content-Length"));   // a GET without body
      EXPECT_FALSE(r.headers.contains("Transfer-Encoding"));
      EXPECT_FALSE(r.headers.contains("Connection"));  // HTTP/1.1: keep-alive implied
    }
    co_await server->stop();
  };
  run_bounded(body());
}

TEST(HttpClient, ChunkedBodyWithTrailersIsDecodedAndTheConnectionKept) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      // Written in pieces, so the client's parser meets the framing split across reads.
      co_await c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
      co_await weft::yield();
      co_await c.write("lo\r\n6\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n");
      co_return true;
    });
    Client client;
    for (int i = 0; i < 2; ++i) {
      ClientResponse r = co_await client.get(server->url("/chunked"));
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, "hello world");
      EXPECT_EQ(r.trailers.find("x-sum"), "11");
    }
    EXPECT_EQ(server->accepted(), 1u);  // the chunked framing ended the message cleanly
    co_await client.close();
    co_await server->stop();
  };
  run_bounded(body());
}

TEST(HttpClient, CloseDelimitedBodyIsCompleteAndItsConnectionNotReused) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the close");
      co_return false;  // close: that ends the body
    });
    Client client;
    for (int i = 0; i < 2; ++i) {
      ClientResponse r = co_await client.get(server->url("/"));
      EXPECT_EQ(r.body, "until the close");
    }
    EXPECT_EQ(server->accepted(), 2u);
    const ClientStats s = client.stats();
    EXPECT_EQ(s.connections_opened, 2u);
    EXPECT_EQ(s.connections_reused, 0u);
    EXPECT_EQ(s.idle_connections, 0u);
    EXPECT_EQ(s.active_connections, 0u);
    co_await server->stop();
  };
  run_bounded(body());
}

TEST(HttpClient, HeadHasNoBodyAndKeepsTheConnection) {
  auto body = []() -> Task<void> {
    auto server =
        ScriptServer::start([](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          if (r.method == "HEAD") {
            co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
          } else {
            co_await c.write(http_response(200, "after head"));
          }
          co_return true;
        });
    Client client;
    ClientResponse head = co_await client.head(server->url("/big"));
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.headers.find("Content-Length"), "1000");
    EXPECT_TRUE(head.body.empty());
    ClientResponse get = co_await client.get(server->url("/next"));
    EXPECT_EQ(get.body, "after head");
    EXPECT_EQ(server->accepted(), 1u);
    co_await server->stop();
  };
  run_bounded(body());
}

TEST(HttpClient, RequestHeadersOverrideDefaultsAndBodiesGetContentLength) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write(http_response(200, "ok"));
      co_return true;
    });
    Client client;
    // Named rather than braced inside the co_await: g++ 12 cannot hoist a braced list's
    // backing array into the coroutine frame ("array used as initializer", BUILD_NOTES).
    const weft::http::HeaderList custom{
        {"user-agent", "custom/1"}, {"HOST", "example.test"}, {"X-A", "1"}};
    (void)co_await client.get(server->url("/h"), custom);
    (void)co_await client.post(server->url("/empty"), "");
    const weft::http::HeaderList form{{"Content-Type", "application/x-www-form-urlencoded"}};
    (void)co_await client.post(server->url("/form"), "a=1&b=2", form);
    const std::string big(200 * 1024, 'z');  // over the size copied behind the head
    (void)co_await client.request("PUT", server->url("/big"), {}, big);
    const std::vector<ServerRequest> seen = server->requests();
    EXPECT_EQ(seen.size(), 4u);
    if (seen.size() == 4) {
      EXPECT_EQ(seen[0].headers.count("User-Agent"), 1u);
      EXPECT_EQ(seen[0].headers.find("User-Agent"), "custom/1");
      EXPECT_EQ(seen[0].headers.count("Host"), 1u);
      EXPECT_EQ(seen[0].headers.find("Host"), "example.test");
      EXPECT_EQ(seen[0].headers.find("X-A"), "1");
      EXPECT_EQ(seen[1].method, "POST");
      EXPECT_EQ(seen[1].headers.find("Content-Length"), "0");  // POST defines content
      EXPECT_EQ(seen[2].body, "a=1&b=2");
      EXPECT_EQ(seen[2].headers.find("Content-Length"), "7");
      EXPECT_EQ(seen[2].headers.find("Content-Type"), "application/x-www-form-urlencoded");
      EXPECT_EQ(seen[3].method, "PUT");
      EXPECT_TRUE(seen[3].body == big);
    }
    EXPECT_EQ(server->accepted(), 1u);
    co_await server->stop();
  };
  run_bounded(body());
}

TEST(HttpClient, RequestsThatCannotBeSentAreRefusedBeforeConnecting) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write(http_response(200, "ok"));
      co_return true;
    });
    Client client;
    const std::string url = server->url("/");
    auto ftp = co_await failure_of<InvalidUrl>(client.get("ftp://127.0.0.1/"));
    if (ftp) {
      EXPECT_TRUE(contains(ftp->what(), "only http and https")) << ftp->what();
    }
    auto space = co_await failure_of<InvalidUrl>(client.get(server->url("/a b")));
    if (space) {
      EXPECT_TRUE(contains(space->what(), "space")) << space->what();
    }
    // Header lists named outside the co_await expressions (g++ 12, see BUILD_NOTES).
    const weft::http::HeaderList injected{{"X", "a\r\nInjected: 1"}};
    const weft::http::HeaderList bad_name{{"Bad Name", "v"}};
    const weft::http::HeaderList chunked{{"Transfer-Encoding", "chunked"}};
    const weft::http::HeaderList length{{"Content-Length", "5"}};
    (void)co_await failure_of<std::invalid_argument>(client.get(url, injected));
    (void)co_await failure_of<std::invalid_argument>(client.get(url, bad_name));
    (void)co_await failure_of<std::invalid_argument>(client.request("GE T", url));
    (void)co_await failure_of<std::invalid_argument>(client.request("POST", url, chunked, "x"));
    (void)co_await failure_of<std::invalid_argument>(client.request("POST", url, length, "abc"));
    EXPECT_EQ(server->accepted(), 0u);
    co_await server->stop();
  };
  run_bounded(body());
}

// --- broken responses -----------------------------------------------------------------------

TEST(HttpClient, MalformedResponseNamesTheFaultAndTheUrl) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c,
                                         const ServerRequest& r) -> Task<bool> {
      if (r.target == "/two-lengths") {
        co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello");
      } else {
        co_await c.write("HTTP/1.1 2x0 OK\r\n\r\n");
      }
      co_return true;  // the client must be the one to close
    });
    Client client;
    const std::string url = server->url("/two-lengths");
    auto e = co_await failure_of<MalformedResponse>(client.get(url));
    if (e) {
      EXPECT_EQ(e->parse_status(), 400);
      EXPECT_TRUE(contains(e->reason(), "Content-Length")) << e->reason();
      EXPECT_TRUE(contains(e->what(), url)) << e->what();
    }
    auto status = co_await failure_of<MalformedResponse>(client.get(server->url("/bad-status")));
    if (status) {
      EXPECT_TRUE(contains(status->reason(), "status")) << status->reason();
    }
    // Neither connection went back to the pool: the client closed both.
    EXPECT_TRUE(co_await co_wait_until([&] { return server->client_closes() == 2; }));
    EXPECT_EQ(client.stats().idle_connections, 0u);
    co_await server->stop();
  };
  run_bounded(body());
}

TEST(HttpClient, ResponseBodyOverTheLimitIsRefused) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write(http_response(200, std::string(5000, 'x')));
      co_return true;
    });
    ClientOptions options;
    options.limits.max_body = 1000;
    Client client(options);
    auto e = co_await failure_of<MalformedResponse>(client.get(server->url("/")));
    if (e) {
      EXPECT_EQ(e->parse_status(), 413);
    }
    co_await server->stop();
  };
  run_bounded(body());
}

// A hostile server that pads every byte of a chunked body with a long chunk extension (wire
// bytes the parser must read but the body never holds): the client refuses the response once
// the extensions pass Limits::max_chunk_extensions, instead of reading on to max_body.
TEST(HttpClient, ChunkExtensionPaddingIsRefusedAtItsLimit) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      std::string padded;
      for (int i = 0; i < 16; ++i) padded += "1;" + std::string(3990, 'e') + "\r\nx\r\n";
      // Until the client gives up (the write fails), or far past any limit.
      try {
        for (int i = 0; i < 100'000; ++i) co_await c.write(padded);
      } catch (const std::system_error&) {
      }
      co_return false;
    });
    Client client;
    auto e = co_await failure_of<MalformedResponse>(client.get(server->url("/")));
    if (e) {
      EXPECT_EQ(e->parse_status(), 400);
      EXPECT_TRUE(contains(e->reason(), "extension")) << e->reason();
    }
    co_await server->stop();
  };
  run_bounded(body());
}

// A server that answers with interim (1xx) heads and never a final one: the client refuses
// the response past Limits::max_interim_responses instead of reading on.
TEST(HttpClient, EndlessInterimResponsesAreRefused) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      try {
        for (int i = 0; i < 10'000; ++i) co_await c.write("HTTP/1.1 103 Early Hints\r\n\r\n");
      } catch (const std::system_error&) {
      }
      co_return true;  // keep the connection open: only the client's limit can end this
    });
    Client client;
    auto e = co_await failure_of<MalformedResponse>(client.get(server->url("/")));
    if (e) {
      EXPECT_EQ(e->parse_status(), 400);
      EXPECT_TRUE(contains(e->reason(), "interim")) << e->reason();
    }
    co_await server->stop();
  };
  run_bounded(body());
}

TEST(HttpClient, ServerClosingOrResettingMidBodyIsConnectionClosed) {
  auto body = []() -> Task<void> {
    const std::string partial = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
    auto server =
        ScriptServer::start([partial](ServerConnection& c, const ServerRequest& r) -> Task<bool> {
          if (r.target == "/ok") {
            co_await c.write(http_response(200, "fine"));
            co_return true;
          }
          co_await c.write(partial);
          if (r.target == "/reset") c.reset();
          co_return false;
        });
    Client client;
    auto closed = co_await failure_of<ConnectionClosed>(client.get(server->url("/close")));
    if (closed) {
      EXPECT_FALSE(closed->code());  // an orderly close, cut short
      EXPECT_EQ(closed->bytes_received(), partial.size());
      EXPECT_TRUE(contains(closed->what(), server->url("/close"))) << closed->what();
    }
    auto reset = co_await failure_of<ConnectionClosed>(client.get(server->url("/reset")));
    if (reset) {
      EXPECT_EQ(reset->code(), std::error_code(ECONNRESET, std::system_category()));
    }
    // The pool is not poisoned: the next request gets a fresh connection.
    ClientResponse r = co_await client.get(server->url("/ok"));
    EXPECT_EQ(r.body, "fine");
    EXPECT_EQ(server->accepted(), 3u);
    EXPECT_EQ(client.stats().active_connections, 0u);
    co_await server->stop();
  };
  run_bounded(body());
}

// --- timeouts and connect errors ------------------------------------------------------------

TEST(HttpClient, ReadTimeoutEndsAStalledResponseAndClosesItsConnection) {
  auto body = []() -> Task<void> {
    std::atomic<bool> client_closed{false};
    auto server = ScriptServer::start(
        [&client_closed](ServerConnection& c, const ServerRequest&) -> Task<bool> {
          co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
          client_closed = co_await c.until_client_closes();
          co_return false;
        });
    Client client({.read_timeout = 200ms});
    const auto start = Clock::now();
    auto e = co_await failure_of<ClientTimeout>(client.get(server->url("/stall")));
    const auto took = Clock::now() - start;
    if (e) {
      EXPECT_EQ(e->phase(), TimeoutPhase::read);
      EXPECT_EQ(e->limit(), 200ms);
      EXPECT_TRUE(contains(e->what(), "read_timeout")) << e->what();
    }
    EXPECT_GE(took, 200ms);
    EXPECT_LT(took, 3s);
    EXPECT_TRUE(co_await co_wait_until([&] { return server->client_closes() == 1; }));
    EXPECT_TRUE(client_closed.load());
    co_await server->stop();
  };
  run_bounded(body());
}

TEST(HttpClient, TotalTimeoutEndsATricklingResponse) {
  auto body = []() -> Task<void> {
    auto server = ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
      co_await c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
      for (int i = 0; i < 1000; ++i) {  // a byte every 20 ms: never idle for read_timeout
        co_await weft::sleep(20ms);
        co_await c.write("x");
      }
      co_return false;
    });
    Client client({.read_timeout = 2s, .total_timeout = 300ms});
    const auto start = Clock::now();
    auto e = co_await failure_of<ClientTimeout>(client.get(server->url("/trickle")));
    const auto took = Clock::now() - start;
    if (e) {
      EXPECT_EQ(e->phase(), TimeoutPhase::total);
      EXPECT_TRUE(contains(e->what(), server->url("/trickle"))) << e->what();
    }
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 3s);
    co_await server->stop();
  };
  run_bounded(body());
}

TEST(HttpClient, ConnectRefusedIsAConnectErrorWithTheAddress) {
  auto body = []() -> Task<void> {
    SocketAddress address;
    {
      auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
      address = listener.local_address();
    }  // closed: nobody listens there now
    Client client;
    const std::string url = "http://" + address.to_string() + "/x";
    const auto start = Clock::now();
    auto e = co_await failure_of<ConnectError>(client.get(url));
    if (e) {
      EXPECT_EQ(e->code(), std::error_code(ECONNREFUSED, std::system_category()));
      EXPECT_EQ(e->address(), address);
      EXPECT_EQ(e->url(), url);
      EXPECT_TRUE(contains(e->what(), url)) << e->what();
    }
    EXPECT_LT(Clock::now() - start, 2s);
    const ClientStats s = client.stats();
    EXPECT_EQ(s.connections_opened, 0u);
    EXPECT_EQ(s.active_connections, 0u);
  };
  run_bounded(body());
}

TEST(HttpClient, UnresolvableHostIsAConnectErrorWithoutAddress) {
  auto body = []() -> Task<void> {
    Client client;
    auto e = co_await failure_of<ConnectError>(client.get("http://no-such-host.invalid/"));
    if (e) {
      EXPECT_FALSE(e->address().has_value());
      EXPECT_TRUE(contains(e->what(), "no-such-host.invalid")) << e->what();
    }
  };
  run_bounded(body());
}

// A listener whose accept queue is full makes Linux drop further SYNs, so a connect hangs in
// SYN_SENT: an offline black hole (tcp_test.cpp, Tcp.ConnectUnderWaitForTimesOut).
TEST(HttpClient, ConnectTimeoutOnABlackHole) {
  auto body = []() -> Task<void> {
    auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"),
                                      weft::io::TcpListenerOptions{.backlog = 0});
    const SocketAddress address = listener.local_address();
    std::vector<TcpStream> queued;  // fill the accept queue; nobody accepts
    bool full = false;
    for (int i = 0; i < 16 && !full; ++i) {
      try {
        queued.push_back(co_await weft::wait_for(TcpStream::connect(address), 300ms));
      } catch (const weft::TimeoutError&) {
        full = true;
      }
    }
    if (!full) {
      ADD_FAILURE() << "the accept queue never filled";
      co_return;
    }
    Client client({.connect_timeout = 200ms});
    const auto start = Clock::now();
    auto e = co_await failure_of<ClientTimeout>(client.get("http://" + address.to_string() + "/"));
    const auto took = Clock::now() - start;
    if (e) {
      EXPECT_EQ(e->phase(), TimeoutPhase::connect);
      EXPECT_TRUE(contains(e->what(), "connect_timeout")) << e->what();
    }
    EXPECT_GE(took, 200ms);
    EXPECT_LT(took, 3s);
    EXPECT_EQ(client.stats().active_connections, 0u);
  };
  run_bounded(body());
}

// --- redirects ------------------------------------------------------------------------------

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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
}

// --- the pool -------------------------------------------------------------------------------

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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
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
  run_bounded(body());
}

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
  run_bounded(body(*server_));
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
  run_bounded(body(*server_));
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
  run_bounded(body(*server_));
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
  run_bounded(body(*server_));
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
  run_bounded(body(*server_));
}

}  // namespace

// weft::http::Client: what users rely on, over loopback, against a scripted server (weft's own
// TcpListener, exact bytes): Content-Length, chunked and close-delimited bodies; malformed
// responses, resets and closes mid-body; read, total and connect timeouts; refused connects.
// Redirects are in http_client_redirect_test.cpp, the pool in http_client_pool_test.cpp, and
// real servers (python3, nginx) in tests/integration/http_client_real_servers_test.cpp.

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/wait_for.hpp>

#include "http_client_script_server.hpp"
#include "http_client_test_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::http::Client;
using weft::http::ClientOptions;
using weft::http::ClientResponse;
using weft::http::ClientStats;
using weft::http::ClientTimeout;
using weft::http::ConnectError;
using weft::http::ConnectionClosed;
using weft::http::InvalidUrl;
using weft::http::MalformedResponse;
using weft::http::TimeoutPhase;
using weft::io::SocketAddress;
using weft::io::TcpListener;
using weft::io::TcpStream;
using weft::test::co_wait_until;
using weft::test::contains;
using weft::test::failure_of;
using weft::test::http_response;
using weft::test::run_client_bounded;
using weft::test::ScriptServer;
using weft::test::ServerConnection;
using weft::test::ServerRequest;

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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
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
  run_client_bounded(body());
}

}  // namespace

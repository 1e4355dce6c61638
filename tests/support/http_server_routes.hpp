#pragma once

// The routes the http_server*_test.cpp files share: reply() / echo() / ... handlers,
// add_routes(), Served (a TestServer with them, started), body_of() / status_of().

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <weft/http/server.hpp>
#include <weft/weft.hpp>

#include "http_raw_client.hpp"
#include "http_test_server.hpp"

namespace weft::test::http {

// Handlers forward to coroutines that take what they need by value, so no coroutine frame
// points into a handler's closure.
inline Task<weft::http::ServerResponse> reply(std::string body, int status = 200) {
  co_return weft::http::ServerResponse::text(status, std::move(body));
}

// The body back, with what the request said about its framing.
inline Task<weft::http::ServerResponse> echo(weft::http::ServerRequest& request) {
  weft::http::ServerResponse r = weft::http::ServerResponse::text(200, std::string(request.body()),
                                                                  "application/octet-stream");
  if (auto t = request.request().trailers.find("X-Trailer")) r.header("X-Got-Trailer", *t);
  r.header("X-Was-Chunked", request.request().chunked ? "yes" : "no");
  co_return r;
}

inline Task<weft::http::ServerResponse> throws(weft::http::ServerRequest&) {
  throw std::runtime_error("handler failed on purpose");
  co_return weft::http::ServerResponse(200);
}

inline Task<weft::http::ServerResponse> injects(weft::http::ServerRequest& request) {
  weft::http::ServerResponse r = weft::http::ServerResponse::text(200, "should not be sent");
  if (request.query() == "name")
    r.header("X-Evil\r\nSet-Cookie", "pwned=1");
  else
    r.header("X-Evil", "a\r\nSet-Cookie: pwned=1");
  co_return r;
}

// Framing fields a handler sets are the server's to decide: they must be dropped.
inline Task<weft::http::ServerResponse> sets_framing(weft::http::ServerRequest&) {
  weft::http::ServerResponse r = weft::http::ServerResponse::text(200, "framed by the server");
  r.header("Content-Length", "999");
  r.header("Transfer-Encoding", "chunked");
  r.header("Connection", "close");
  r.header("X-Kept", "yes");
  co_return r;
}

inline Task<weft::http::ServerResponse> streamed(weft::http::ServerRequest&) {
  co_return weft::http::ServerResponse::stream(
      200,
      [n = 0]() mutable -> Task<std::optional<std::string>> {
        const int i = n++;
        if (i == 4) co_return std::nullopt;
        co_await weft::sleep(Ms(1));          // each part its own write
        if (i == 1) co_return std::string();  // skipped: an empty chunk would end the body
        co_return "part " + std::to_string(i) + "\n";
      },
      "text/plain");
}

inline void add_routes(weft::http::Server& s) {
  using weft::http::ServerRequest;
  s.route("GET", "/hello", [](ServerRequest&) { return reply("hello\n"); });
  s.route("POST", "/hello", [](ServerRequest&) { return reply("posted\n"); });
  s.route("GET", "/users/{id}",
          [](ServerRequest& r) { return reply("user " + std::string(r.param("id"))); });
  s.route("GET", "/users/me", [](ServerRequest&) { return reply("me"); });
  s.route("GET", "/users/{id}/posts/{post}", [](ServerRequest& r) {
    return reply(std::string(r.param("id")) + "/" + std::string(r.param("post")) + "?" +
                 std::string(r.query()));
  });
  s.route("GET", "/files/*",
          [](ServerRequest& r) { return reply("rest=" + std::string(r.param("*"))); });
  s.route("GET", "/p/{n}",
          [](ServerRequest& r) { return reply("p=" + std::string(r.param("n"))); });
  s.route("POST", "/echo", [](ServerRequest& r) { return echo(r); });
  s.route("GET", "/throw", [](ServerRequest& r) { return throws(r); });
  s.route("GET", "/inject", [](ServerRequest& r) { return injects(r); });
  s.route("GET", "/framing", [](ServerRequest& r) { return sets_framing(r); });
  s.route("GET", "/stream", [](ServerRequest& r) { return streamed(r); });
}

// A server with add_routes() on 2 loops, started.
struct Served {
  explicit Served(weft::http::ServerOptions options = {}) : server(std::move(options)) {
    add_routes(server.server());
    server.start();
  }
  TestServer server;
  [[nodiscard]] const weft::io::SocketAddress& address() const { return server.address(); }
};

inline std::string body_of(const std::optional<RawResponse>& r) {
  return r ? r->body : "<no response>";
}
inline int status_of(const std::optional<RawResponse>& r) { return r ? r->status : 0; }

}  // namespace weft::test::http

// Embedding weft's HTTP server: routes, a path parameter, a streamed body, static files,
// and a graceful stop on SIGINT/SIGTERM.
//
//   weft_example_http_server 8080 [--loops N] [--root DIR]   serve until Ctrl-C
//   weft_example_http_server                                 self-check (what ctest runs)
//
// The self-check starts the server on a free port, asks it a few questions over a plain
// TcpStream, and exits non-zero if an answer is wrong.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <weft/algorithms.hpp>
#include <weft/http/response_parser.hpp>
#include <weft/http/server.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/weft.hpp>

namespace {

using weft::Task;
using weft::http::ServerRequest;
using weft::http::ServerResponse;

void add_routes(weft::http::Server& server) {
  server.route("GET", "/", [](ServerRequest&) -> Task<ServerResponse> {
    co_return ServerResponse::text(200, "hello from weft\n");
  });
  server.route("GET", "/hello/{name}", [](ServerRequest& request) -> Task<ServerResponse> {
    co_return ServerResponse::text(200, "hello, " + std::string(request.param("name")) + "\n");
  });
  server.route("POST", "/echo", [](ServerRequest& request) -> Task<ServerResponse> {
    co_return ServerResponse::text(200, std::string(request.body()),
                                   request.header("Content-Type").value_or("text/plain"));
  });
  // A body produced piece by piece: sent chunked, each piece when it is ready.
  server.route("GET", "/count", [](ServerRequest&) -> Task<ServerResponse> {
    co_return ServerResponse::stream(
        200,
        [i = 0]() mutable -> Task<std::optional<std::string>> {
          if (i == 3) co_return std::nullopt;
          co_await weft::sleep(std::chrono::milliseconds(10));
          co_return std::to_string(i++) + "\n";
        },
        "text/plain");
  });
}

Task<int> serve_until_signal(std::uint16_t port, std::string root) {
  weft::http::Server server;
  add_routes(server);
  if (!root.empty()) server.static_files("/static", root);
  auto address = server.listen(weft::io::SocketAddress::parse("127.0.0.1:" + std::to_string(port)));
  std::printf("serving http://%s/ on %u loops; Ctrl-C stops\n", address.to_string().c_str(),
              weft::loop_count());
  std::fflush(stdout);
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  // The runtime took SIGINT and SIGTERM over (RuntimeOptions::signals in main): one sent
  // from now on, or already, ends this wait instead of the process.
  const int sig = co_await weft::signal(SIGINT, SIGTERM);
  std::printf("%s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  co_await server.shutdown(std::chrono::seconds(5));
  co_await serving;
  const auto stats = server.stats();
  std::printf("stopped after %llu requests on %llu connections\n",
              static_cast<unsigned long long>(stats.requests),
              static_cast<unsigned long long>(stats.connections_accepted));
  co_return 0;
}

// One request over a fresh connection; the response's status and body.
Task<std::pair<int, std::string>> ask(weft::io::SocketAddress address, std::string request) {
  auto stream = co_await weft::io::TcpStream::connect(address);
  co_await stream.write_all(std::as_bytes(std::span(request.data(), request.size())));
  weft::http::ResponseParser parser;
  parser.start(request.starts_with("HEAD") ? "HEAD" : "GET");
  std::array<std::byte, 4096> buffer{};
  for (;;) {
    const std::size_t n = co_await stream.read_some(buffer);
    const auto status = n == 0 ? parser.finish() : parser.feed(buffer.data(), n);
    if (status == weft::http::ParseStatus::complete) break;
    if (status == weft::http::ParseStatus::error) co_return std::pair{-1, std::string()};
  }
  co_return std::pair{parser.response().status, std::string(parser.response().body)};
}

Task<int> self_check() {
  weft::http::Server server;
  add_routes(server);
  const auto address = server.listen(weft::io::SocketAddress::parse("127.0.0.1:0"));
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  int failures = 0;
  auto expect = [&failures](std::pair<int, std::string> got, int status, std::string_view body) {
    if (got.first != status || got.second != body) {
      std::fprintf(stderr, "FAIL: got %d '%s', expected %d '%.*s'\n", got.first, got.second.c_str(),
                   status, static_cast<int>(body.size()), body.data());
      ++failures;
    }
  };
  expect(co_await ask(address, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 200, "hello from weft\n");
  expect(co_await ask(address, "GET /hello/ada HTTP/1.1\r\nHost: x\r\n\r\n"), 200, "hello, ada\n");
  expect(co_await ask(address, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"),
         200, "abcde");
  expect(co_await ask(address, "GET /count HTTP/1.1\r\nHost: x\r\n\r\n"), 200, "0\n1\n2\n");
  expect(co_await ask(address, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"), 404, "Not Found\n");
  expect(co_await ask(address, "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n"), 405,
         "Method Not Allowed\n");
  expect(co_await ask(address, "GET / HTTP/1.1\r\n\r\n"), 400, "missing Host\n");
  co_await server.shutdown();
  co_await serving;
  std::printf("%s\n", failures == 0 ? "http_server: all answers right" : "http_server: FAILED");
  co_return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return weft::run(self_check(), {.loops = 2});
  weft::RuntimeOptions options;
  std::string root;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--loops") == 0 && i + 1 < argc) {
      options.loops = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
      root = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s PORT [--loops N] [--root DIR]\n", argv[0]);
      return 2;
    }
  }
  // Taken over for the runtime's life: blocked on its threads from the start, so a Ctrl-C
  // during startup is not lost either (weft/signal.hpp).
  options.signals = {SIGINT, SIGTERM};
  return weft::run(serve_until_signal(static_cast<std::uint16_t>(std::atoi(argv[1])), root),
                   options);
}

// Smallest program that touches every layer through an installed weft: a task that suspends
// on a timer, a gather (weft::algorithms), a to_thread job (oneTBB, found through weft's
// package config), an HTTP round trip (weft::io: the README's embedded server, asked by
// weft::http::Client) and a TLS client context (OpenSSL, found the same way), on a two-loop
// runtime. Exit code 0 means the values came back.
#include <chrono>
#include <string>
#include <tuple>
#include <weft/algorithms.hpp>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/tls/context.hpp>
#include <weft/weft.hpp>

using weft::http::ServerRequest;
using weft::http::ServerResponse;

weft::Task<int> answer() {
  co_await weft::sleep(std::chrono::milliseconds(1));
  co_return 42;
}

weft::Task<bool> http_round_trip() {
  weft::http::Server server;
  server.route("GET", "/hello/{name}", [](ServerRequest& r) -> weft::Task<ServerResponse> {
    co_return ServerResponse::text(200, "hello, " + std::string(r.param("name")) + "\n");
  });
  const auto address = server.listen(weft::io::SocketAddress::parse("127.0.0.1:0"));
  auto serving = weft::spawn(server.serve());
  weft::http::Client client;
  const auto r = co_await client.get("http://" + address.to_string() + "/hello/ada");
  co_await client.close();
  co_await server.shutdown();
  co_await serving;
  co_return r.status == 200 && r.body == "hello, ada\n";
}

weft::Task<int> all() {
  auto [a, b] = co_await weft::gather(answer(), answer());
  const int c = co_await weft::to_thread([](int x) { return x / 2; }, a + b);
  const bool http = co_await http_round_trip();
  co_return http ? c : -1;
}

int main() {
  // Outside the runtime: loading the system's trust store reads a file (tens of ms).
  const bool tls = weft::tls::Context::client().verifies_peer();
  return tls && weft::run(all(), {.loops = 2}) == 42 ? 0 : 1;
}

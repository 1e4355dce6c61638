// A small service, as a C++ developer who knows asyncio would embed weft in one: an HTTP
// server with a hashing route (SHA-256 on the to_thread pool), a background ticker, a
// graceful stop on SIGTERM through weft::signal, and a client fetching 200 URLs under a
// Semaphore, each under wait_for. Built against an installed weft with -Wall -Wextra -Werror,
// by clang and by g++ (tests/consumer/CMakeLists.txt). Run, it serves, fetches its own pages,
// sends itself SIGTERM, stops gracefully and exits 0 if every answer came back right.
#include <openssl/evp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/weft.hpp>

using namespace std::chrono_literals;
using weft::Task;
using weft::http::ServerRequest;
using weft::http::ServerResponse;

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  static const char* const hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

void add_routes(weft::http::Server& server) {
  server.route("GET", "/hello/{name}", [](ServerRequest& r) -> Task<ServerResponse> {
    co_return ServerResponse::text(200, "hello, " + std::string(r.param("name")) + "\n");
  });
  // CPU-bound work goes to the pool, so the loop keeps serving meanwhile.
  server.route("POST", "/hash", [](ServerRequest& r) -> Task<ServerResponse> {
    std::string body(r.body());
    const std::string digest = co_await weft::to_thread(sha256_hex, std::move(body));
    co_return ServerResponse::text(200, digest + "\n");
  });
}

// A background job: ticks until cancelled; `first` is set on its first tick.
Task<void> ticker(std::atomic<int>* ticks, weft::Event* first) {
  for (;;) {
    co_await weft::sleep(5ms);
    ticks->fetch_add(1);
    first->set();
  }
}

// 200 GETs, at most 10 at once, each under a 5 s deadline; the number answered right.
Task<int> fetch_all(std::string base) {
  weft::http::Client client({.max_connections_per_host = 10});
  weft::Semaphore limit(10);
  std::vector<weft::JoinHandle<bool>> fetches;
  for (int i = 0; i < 200; ++i) {
    fetches.push_back(weft::spawn(
        [&client, &limit, base](int n) -> Task<bool> {
          auto permit = co_await limit.scoped();
          const std::string url = base + "/hello/" + std::to_string(n);
          try {
            const auto r = co_await weft::wait_for(client.get(url), 5s);
            co_return r.status == 200 && r.body == "hello, " + std::to_string(n) + "\n";
          } catch (const weft::TimeoutError&) {  // the client's own timeouts too
            co_return false;
          }
        },
        i));
  }
  int ok = 0;
  for (auto& f : fetches) {
    const bool right = co_await f;
    ok += right ? 1 : 0;
  }
  const auto hashed = co_await client.post(base + "/hash", "abc");
  const bool hash_right =
      hashed.body == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n";
  co_await client.close();
  co_return hash_right ? ok : -1;
}

Task<int> service() {
  weft::http::Server server({.max_connections = 1000});
  add_routes(server);
  const auto address = server.listen(weft::io::SocketAddress::parse("127.0.0.1:0"));
  std::atomic<int> ticks{0};
  weft::Event ticked;
  auto tick = weft::spawn(ticker(&ticks, &ticked), {.name = "ticker"});
  // The client's job, then (once the ticker has run, which a fast machine may not have let
  // it do yet) a SIGTERM to this process: the stop an operator would send.
  auto client = weft::spawn(
      [&ticked](std::string base) -> Task<int> {
        const int ok = co_await fetch_all(std::move(base));
        co_await ticked.wait();
        ::kill(::getpid(), SIGTERM);
        co_return ok;
      },
      "http://" + address.to_string());
  co_await server.serve_until(weft::signal(SIGINT, SIGTERM));
  tick.cancel();
  try {
    co_await tick;
  } catch (const weft::CancelledError&) {
  }
  const int ok = co_await client;
  std::printf("service: %d of 200 fetched, %d ticks, %llu requests served\n", ok, ticks.load(),
              static_cast<unsigned long long>(server.stats().requests));
  co_return ok == 200 && ticks.load() > 0 ? 0 : 1;
}

int main() {
  weft::RuntimeOptions options{.loops = 2, .signals = {SIGINT, SIGTERM}};
  return weft::run(service(), options);
}

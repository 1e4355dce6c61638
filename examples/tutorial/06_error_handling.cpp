// The asyncio tutorial, "error handling": an exception raised in a coroutine reaches whoever
// awaits it, and gather(..., return_exceptions=True) collects every outcome instead of
// stopping at the first failure.
//
// What to look at:
// 1. A task that throws after a wait: try/catch around `co_await` catches it, as around a
//    function call. Through a JoinHandle too: a spawned task's exception is kept until the
//    handle is awaited, and rethrown there.
// 2. Two real HTTP requests to a local weft::http::Server, one for a user that exists and one
//    for a user that does not (404, which fetch_name turns into an HttpError, like aiohttp's
//    raise_for_status). weft::gather rethrows the first failure; weft::gather_settled gives a
//    Settled<T> per request, value or exception, in the order of the requests.
// It prints:
//   1. exceptions from awaited tasks
//   caught from a Task: no user with id -1
//   caught from a JoinHandle: no user with id -2
//   2. one good request, one failing
//   gather threw: HTTP 404 from http://127.0.0.1:35555/users/2
//   gather_settled: http://127.0.0.1:35555/users/1: ok: Ada
//   gather_settled: http://127.0.0.1:35555/users/2: failed: HTTP 404 from http://...
//   1 ok, 1 failed

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;
using weft::Task;

Task<std::string> fetch_user(int id) {
  co_await weft::sleep(tutorial::scaled(1s));
  if (id < 0) throw std::invalid_argument("no user with id " + std::to_string(id));
  co_return "user " + std::to_string(id);
}

// The server answered, but with an error status: a response, not a ClientError, so the
// caller decides whether it is a failure. Here it is.
struct HttpError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Task<std::string> fetch_name(weft::http::Client& client, std::string url) {
  weft::http::ClientResponse response = co_await client.get(url);
  if (!response.ok()) throw HttpError("HTTP " + std::to_string(response.status) + " from " + url);
  co_return std::move(response.body);
}

Task<void> good_and_bad_requests(std::string base) {
  weft::http::Client client;
  const std::vector<std::string> urls = {base + "/users/1", base + "/users/2"};

  try {
    (void)co_await weft::gather(fetch_name(client, urls[0]), fetch_name(client, urls[1]));
  } catch (const std::exception& e) {
    std::printf("gather threw: %s\n", e.what());
  }

  std::vector<Task<std::string>> fetches;
  for (const std::string& url : urls) fetches.push_back(fetch_name(client, url));
  std::vector<weft::Settled<std::string>> outcomes =
      co_await weft::gather_settled(std::move(fetches));
  std::size_t failed = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    try {
      // value() gives the name, or rethrows what the request threw.
      std::printf("gather_settled: %s: ok: %s\n", urls[i].c_str(), outcomes[i].value().c_str());
    } catch (const std::exception& e) {  // HttpError, or a weft::http::ClientError
      std::printf("gather_settled: %s: failed: %s\n", urls[i].c_str(), e.what());
      ++failed;
    }
  }
  std::printf("%zu ok, %zu failed\n", outcomes.size() - failed, failed);
  co_await client.close();
}

Task<void> main_task() {
  std::puts("1. exceptions from awaited tasks");
  try {
    (void)co_await fetch_user(-1);
  } catch (const std::invalid_argument& e) {
    std::printf("caught from a Task: %s\n", e.what());
  }
  weft::JoinHandle<std::string> handle = weft::spawn(fetch_user(-2));
  try {
    (void)co_await handle;
  } catch (const std::invalid_argument& e) {
    std::printf("caught from a JoinHandle: %s\n", e.what());
  }

  std::puts("2. one good request, one failing");
  weft::http::Server server;  // knows user 1 only; /users/2 gets the router's 404
  server.route("GET", "/users/1",
               [](weft::http::ServerRequest&) -> Task<weft::http::ServerResponse> {
                 co_return weft::http::ServerResponse::text(200, "Ada");
               });
  const auto address = server.listen(weft::io::SocketAddress::parse("127.0.0.1:0"));
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  co_await good_and_bad_requests("http://" + address.to_string());
  co_await server.shutdown();
  co_await serving;
}

int main() { weft::run(main_task()); }

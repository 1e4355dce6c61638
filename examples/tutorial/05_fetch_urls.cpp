// The asyncio tutorial, "fetching many URLs": one aiohttp session, one coroutine per URL, and
// asyncio.gather to run them all at once. Here: one weft::http::Client, a fetch() task per URL,
// and weft::gather over the vector of tasks.
//
//   weft_tutorial_fetch_urls          serves five pages of different sizes from a local
//                                     weft::http::Server, each after a 2 s delay, and fetches them
//   weft_tutorial_fetch_urls URL...   fetches the given http:// or https:// URLs instead
//                                     (https verified against the system's trust store)
//
// What to look at: the five fetches take about one delay in total, not five, because gather
// runs them concurrently (the Client pools up to 8 connections per host, so five do not wait
// for each other). A URL that fails does not stop the others: fetch() turns a ClientError or
// an error status into a failed result, and the program prints an error line for it and exits
// with status 1 (0 when every URL answered 2xx). Prints, in the order of the URLs:
//   local server: 5 pages, each answered after 2.00 s
//   http://127.0.0.1:40551/page-500.html: 500 bytes
//   ...
//   http://127.0.0.1:40551/page-16000.html: 16000 bytes
//   5 URLs, 31500 bytes, 0 failed, total: 2.01 s
// or, for a URL that fails:
//   http://127.0.0.1:1/: error: weft::http: cannot connect to ...

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;
using weft::Task;

struct Fetched {
  std::string url;
  std::size_t bytes = 0;
  std::string error;  // empty when the URL answered 2xx
};

// The client is shared by every fetch, so they share its connection pool; it outlives them
// (fetch_all awaits them all before it goes).
Task<Fetched> fetch(weft::http::Client& client, std::string url) {
  try {
    const weft::http::ClientResponse response = co_await client.get(url);
    if (!response.ok())  // an error status is a response, not an exception
      co_return Fetched{url, 0, "HTTP " + std::to_string(response.status) + " " + response.reason};
    co_return Fetched{url, response.body.size(), {}};
  } catch (const weft::http::ClientError& e) {  // bad URL, refused, timed out, cut off...
    co_return Fetched{url, 0, e.what()};
  }
}

Task<int> fetch_all(std::vector<std::string> urls) {
  weft::http::Client client;
  std::vector<Task<Fetched>> fetches;
  for (const std::string& url : urls) fetches.push_back(fetch(client, url));
  const tutorial::Stopwatch clock;
  const std::vector<Fetched> results = co_await weft::gather(std::move(fetches));
  const double seconds = clock.seconds();
  co_await client.close();

  std::size_t bytes = 0;
  int failed = 0;
  for (const Fetched& result : results) {
    if (result.error.empty()) {
      std::printf("%s: %zu bytes\n", result.url.c_str(), result.bytes);
      bytes += result.bytes;
    } else {
      std::printf("%s: error: %s\n", result.url.c_str(), result.error.c_str());
      ++failed;
    }
  }
  std::printf("%zu URLs, %zu bytes, %d failed, total: %.2f s\n", results.size(), bytes, failed,
              seconds);
  co_return failed == 0 ? 0 : 1;
}

// Slow sites, simulated: pages of these sizes, each answered after page_delay. (Small pages
// and a long delay: under ctest a tutorial second is 10 ms, and the delay must stay well above
// the time the bytes take to cross, even under sanitizers.)
constexpr std::size_t page_sizes[] = {500, 1'000, 4'000, 10'000, 16'000};
constexpr std::chrono::seconds page_delay = 2s;

Task<int> fetch_from_local_server() {
  weft::http::Server server;
  for (const std::size_t size : page_sizes) {
    server.route("GET", "/page-" + std::to_string(size) + ".html",
                 [size](weft::http::ServerRequest&) -> Task<weft::http::ServerResponse> {
                   co_await weft::sleep(tutorial::scaled(page_delay));
                   co_return weft::http::ServerResponse::text(200, std::string(size, 'x'),
                                                              "text/html");
                 });
  }
  // Port 0: the kernel picks a free one, and listen() says which.
  const auto address = server.listen(weft::io::SocketAddress::parse("127.0.0.1:0"));
  weft::JoinHandle<void> serving = weft::spawn(server.serve());
  std::printf("local server: %zu pages, each answered after %.2f s\n", std::size(page_sizes),
              std::chrono::duration<double>(page_delay).count());

  std::vector<std::string> urls;
  for (const std::size_t size : page_sizes)
    urls.push_back("http://" + address.to_string() + "/page-" + std::to_string(size) + ".html");
  const int status = co_await fetch_all(std::move(urls));

  co_await server.shutdown();
  co_await serving;
  co_return status;
}

int main(int argc, char** argv) {
  std::vector<std::string> urls(argv + 1, argv + argc);
  return weft::run(urls.empty() ? fetch_from_local_server() : fetch_all(std::move(urls)));
}

// HTTP/1.1 parser benchmarks: weft::http::RequestParser on fixed requests, used the way the
// server uses it on a keep-alive connection (one parser, feed(), read request(), next()).
// Each reports items_per_second (items = requests) and bytes_per_second over wall-clock time:
//   - wrk_get: wrk's request, "GET / HTTP/1.1" plus Host only;
//   - browser_get: a GET with 10 fields, the shape a browser sends for a page;
//   - post_content_length: a POST with 5 fields and a 256-byte Content-Length body;
//   - post_chunked: a POST with a chunked body of 4 x 64 bytes and one trailer;
//   - pipelined_16: 16 small GETs fed as one read, then taken with next().
// Each scenario feeds its bytes whole; every iteration checks the parse (the fields, the body
// size) so a benchmark never times a failing parser.
//
// This binary also counts the heap (not under sanitizers, whose runtimes own operator new):
// `allocs_per_request` should be 0 once a connection's buffers have grown to fit.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <weft/http/request_parser.hpp>

#ifndef WEFT_BENCH_COUNT_HEAP
#define WEFT_BENCH_COUNT_HEAP 0
#endif

namespace {
// Relaxed: one thread allocates and reads the count.
std::atomic<std::uint64_t> g_heap_calls{0};

[[maybe_unused]] void* counted_alloc(std::size_t n) {
  g_heap_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
}  // namespace

#if WEFT_BENCH_COUNT_HEAP
void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {

using weft::http::ParseStatus;
using weft::http::Request;
using weft::http::RequestParser;

constexpr std::string_view kWrkGet = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";

constexpr std::string_view kBrowserGet =
    "GET /articles/2024/weft-http?ref=home&lang=en HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=8f2b6c0e4a7d4e1b9c3f; theme=dark; consent=1\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Cache-Control: max-age=0\r\n"
    "\r\n";

std::string post_content_length() {
  std::string s =
      "POST /api/v1/items HTTP/1.1\r\n"
      "Host: api.example.com\r\n"
      "User-Agent: weft-bench/1.0\r\n"
      "Accept: application/json\r\n"
      "Content-Type: application/json\r\n"
      "Content-Length: 256\r\n"
      "\r\n";
  s.append(256, 'x');
  return s;
}

std::string post_chunked() {
  std::string s =
      "POST /upload HTTP/1.1\r\n"
      "Host: api.example.com\r\n"
      "User-Agent: weft-bench/1.0\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Transfer-Encoding: chunked\r\n"
      "\r\n";
  for (int i = 0; i < 4; ++i) s.append("40\r\n").append(64, 'y').append("\r\n");
  s += "0\r\nChecksum: abc123\r\n\r\n";
  return s;
}

std::string pipelined(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";
  return s;
}

void check(bool ok, benchmark::State& state) {
  if (!ok) state.SkipWithError("the parser did not produce the expected request");
}

void report(benchmark::State& state, std::uint64_t requests_per_iteration,
            std::size_t bytes_per_iteration, std::uint64_t heap_before) {
  const auto requests = state.iterations() * static_cast<std::int64_t>(requests_per_iteration);
  state.SetItemsProcessed(requests);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes_per_iteration));
  if (WEFT_BENCH_COUNT_HEAP != 0 && requests > 0) {
    state.counters["allocs_per_request"] =
        static_cast<double>(g_heap_calls.load(std::memory_order_relaxed) - heap_before) /
        static_cast<double>(requests);
  }
}

// One request fed whole per iteration, then next(), as on a keep-alive connection.
void run_single(benchmark::State& state, std::string_view bytes, std::size_t fields,
                std::size_t body) {
  RequestParser parser;
  // Warm up outside the count: the first request sizes the buffers.
  check(parser.feed(bytes) == ParseStatus::complete, state);
  (void)parser.next();
  const std::uint64_t heap_before = g_heap_calls.load(std::memory_order_relaxed);
  for (auto _ : state) {
    if (parser.feed(bytes) != ParseStatus::complete) {
      check(false, state);
      break;
    }
    const Request& r = parser.request();
    benchmark::DoNotOptimize(&r);
    if (r.headers.size() != fields || r.body.size() != body) {
      check(false, state);
      break;
    }
    (void)parser.next();
  }
  report(state, 1, bytes.size(), heap_before);
}

void BM_wrk_get(benchmark::State& state) { run_single(state, kWrkGet, 1, 0); }
BENCHMARK(BM_wrk_get);

void BM_browser_get(benchmark::State& state) { run_single(state, kBrowserGet, 10, 0); }
BENCHMARK(BM_browser_get);

void BM_post_content_length(benchmark::State& state) {
  const std::string bytes = post_content_length();
  run_single(state, bytes, 5, 256);
}
BENCHMARK(BM_post_content_length);

void BM_post_chunked(benchmark::State& state) {
  const std::string bytes = post_chunked();
  run_single(state, bytes, 4, 256);
}
BENCHMARK(BM_post_chunked);

void BM_pipelined_16(benchmark::State& state) {
  constexpr int kRequests = 16;
  const std::string bytes = pipelined(kRequests);
  RequestParser parser;
  const std::uint64_t heap_before = g_heap_calls.load(std::memory_order_relaxed);
  for (auto _ : state) {
    ParseStatus status = parser.feed(bytes);
    int n = 0;
    while (status == ParseStatus::complete) {
      benchmark::DoNotOptimize(&parser.request());
      ++n;
      status = parser.next();
    }
    if (n != kRequests || status != ParseStatus::need_more) {
      check(false, state);
      break;
    }
  }
  report(state, kRequests, bytes.size(), heap_before);
}
BENCHMARK(BM_pipelined_16);

}  // namespace

BENCHMARK_MAIN();

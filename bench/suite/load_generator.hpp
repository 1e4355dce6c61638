#pragma once

// weft-bench's load generator for the I/O scenarios: plain threads and epoll, no weft, so the
// client is the same program whatever runtime it measures.
//
// Load: `connections` connections to 127.0.0.1:port, each ping-ponging one request at a time
// (send the request, wait for its whole response, send the next); the latency of each request
// is the time from its first send to its last response byte (steady_clock). The connections
// are split over `threads` client threads, each with its own level-triggered epoll; a thread
// may be pinned to a CPU so the client never shares a core with a pinned server.
//
// Framing:
//   echo: the response is the request's bytes again (checked byte by byte);
//   http: a response is a status line and headers up to "\r\n\r\n", then Content-Length
//         bytes of body. Only 200 is accepted; with `expected_body` every body must equal it.
//         A response carrying "Connection: close" (weft's server sends one after
//         keep_alive_requests, 1000 by default) makes the connection reconnect before its next
//         request; any other end of stream or reset is an error.
//
// It is also a tool of its own, weft-load (weft_load.cpp), for the scripts.
//
// Windows with quiet edges: measure() starts from a point where
// nothing is in flight, reads the counters and the server's CPU time there, opens the window
// (every connection sends), lets it run for the window's length, then stops sending and waits
// until every response is in (a quiet edge again) before reading the counters and the CPU time
// once more. The server's CPU in the window therefore belongs exactly to the requests counted
// in it: none half-done at either edge. The first measure() is the warm-up (discard it).
//
// Errors (a refused connect, a malformed or unexpected response, a connection lost) end the
// load: measure() throws std::runtime_error naming the server and what went wrong.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cpu_times.hpp"
#include "tls_client.hpp"

namespace weft::bench {

enum class Framing { echo, http };

struct LoadOptions {
  std::uint16_t port = 0;  // on 127.0.0.1
  // Names the server in error messages ("weft-echo 40123 --loops 1").
  std::string server_name;
  Framing framing = Framing::echo;
  // Every request's bytes (for http: request line, headers and body, all of it).
  std::string request;
  // http: what every response body must be, if set.
  std::optional<std::string> expected_body;
  // Speak TLS on every connection (tls_client.hpp): each connect, the first and those after a
  // "Connection: close", is followed by a full handshake, inside the window for the latter.
  bool tls = false;
  unsigned connections = 50;
  unsigned threads = 1;
  // If not empty, client thread i runs on client_cpus[i % size()].
  std::vector<unsigned> client_cpus;
  // Read at both quiet edges of a window (e.g. ChildProcess::cpu_times); may be empty.
  std::function<CpuTimes()> server_cpu;
};

// One window, from a quiet edge to the next.
struct WindowResult {
  std::uint64_t requests = 0;  // completed in the window
  double seconds = 0;
  // Request latencies: every request of the window is counted in latency_samples (equal to
  // `requests`), mean_us and max_us; the percentiles (nearest rank) come from a uniform sample
  // of at most 2^20 latencies per client thread, every one of them in windows under ~5 s.
  std::uint64_t latency_samples = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double mean_us = 0;
  double max_us = 0;
  CpuTimes server_cpu;  // the server's CPU time spent in the window
  [[nodiscard]] double rate() const noexcept {
    return seconds > 0 ? static_cast<double>(requests) / seconds : 0;
  }
};

class LoadGenerator {
 public:
  // Raises RLIMIT_NOFILE if the connections need it, connects them all (a blocking connect
  // each) and starts the client threads, idle until the first measure(). Throws
  // std::runtime_error when a connect fails.
  explicit LoadGenerator(LoadOptions options);
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;
  // Stops and joins the client threads, then closes the connections.
  ~LoadGenerator();

  // Runs one window of about `length` (see the header). Throws on any error of the load;
  // after that the generator is only fit to be destroyed (it may not be at a quiet edge).
  WindowResult measure(std::chrono::duration<double> length);

  // Requests completed since construction, warm-ups included (read at a quiet edge).
  [[nodiscard]] std::uint64_t requests_completed() const;
  // Reconnects after "Connection: close" since construction (read at a quiet edge).
  [[nodiscard]] std::uint64_t reconnects() const;

 private:
  class ClientThread;  // load_generator.cpp

  void open_window();
  void quiesce();
  void throw_if_failed() const;

  LoadOptions options_;
  std::unique_ptr<TlsClientContext> tls_;  // with options_.tls; outlives the threads
  std::vector<std::unique_ptr<ClientThread>> threads_;
  std::uint64_t generation_ = 0;  // of the last window opened
};

}  // namespace weft::bench

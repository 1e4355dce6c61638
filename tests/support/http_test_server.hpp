#pragma once

// The server under test for the weft::http::Server tests: a Runtime and a Server serving on
// 127.0.0.1 (port 0), started and stopped from the test's own thread, so the clients of the test
// never share the server's loops. No wait here is unbounded: each takes a timeout and reports
// running out of it instead of hanging.

#include <chrono>
#include <stdexcept>
#include <utility>
#include <weft/http/server.hpp>
#include <weft/io/socket_address.hpp>
#include <weft/wait_for.hpp>
#include <weft/weft.hpp>

#include "test_support.hpp"

namespace weft::test::http {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// A Runtime (2 loops by default) and a Server on 127.0.0.1:<any port>. Configure routes through
// server() before start(). The runtime is declared first so that it is destroyed last: the
// server's listeners and connections are registered with its loops.
class TestServer {
 public:
  explicit TestServer(weft::http::ServerOptions options = {}, unsigned loops = 2)
      : runtime_(quiet_options(loops)), server_(std::move(options)) {}
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;
  ~TestServer() {
    if (serving_.valid() && !stopped_) {
      try {
        stop(std::chrono::seconds(2));
      } catch (...) {  // a failed stop was reported by the test that caused it
      }
    }
  }

  weft::http::Server& server() noexcept { return server_; }
  weft::Runtime& runtime() noexcept { return runtime_; }
  [[nodiscard]] const weft::io::SocketAddress& address() const noexcept { return address_; }
  [[nodiscard]] weft::http::ServerStats stats() const noexcept { return server_.stats(); }

  // listen() on a loop (it registers with the caller's loop), then serve() as its own task.
  // With `tls` (ServerOptions::tls set), listen_tls() too, on a port of its own: tls_address().
  // With `plain` false, only that.
  const weft::io::SocketAddress& start(bool tls = false, bool plain = true) {
    runtime_.block_on([](TestServer& t, bool with_tls, bool with_plain) -> Task<void> {
      const auto any = weft::io::SocketAddress::parse("127.0.0.1:0");
      if (with_plain) t.address_ = t.server_.listen(any);
      if (with_tls) t.tls_address_ = t.server_.listen_tls(any);
      co_return;
    }(*this, tls, plain));
    serving_ = runtime_.spawn(server_.serve(), {.name = "http server"});
    return plain ? address_ : tls_address_;
  }
  [[nodiscard]] const weft::io::SocketAddress& tls_address() const noexcept { return tls_address_; }

  // shutdown(grace), then waits for serve() to return (rethrowing what it threw). Throws
  // std::runtime_error if either takes longer than `bound` (the test then fails).
  void stop(Ms grace = std::chrono::seconds(5), Ms bound = std::chrono::seconds(30)) {
    stopped_ = true;
    runtime_.block_on(
        [](weft::http::Server& s, JoinHandle<void>& serving, Ms g, Ms b) -> Task<void> {
          co_await weft::wait_for(s.shutdown(g), b);
          if (const bool ok = co_await weft::test::finished_within(serving, b); !ok)
            throw std::runtime_error("serve() did not return after shutdown()");
          co_await serving;
        }(server_, serving_, grace, bound));
  }

  // True once serve() has returned.
  [[nodiscard]] bool serve_returned() const noexcept { return serving_.done(); }

  // Runs shutdown(grace) as a task of its own (so the test thread can watch what happens
  // meanwhile); join it with wait_stopped().
  void begin_stop(Ms grace) {
    stopped_ = true;
    shutdown_ = runtime_.spawn(server_.shutdown(grace), {.name = "http shutdown"});
  }
  [[nodiscard]] bool shutdown_returned() const noexcept { return shutdown_.done(); }
  // After begin_stop: waits (at most `bound`) for shutdown() and serve() to return.
  bool wait_stopped(Ms bound) {
    return runtime_.block_on(
        [](JoinHandle<void>& shutdown, JoinHandle<void>& serving, Ms b) -> Task<bool> {
          if (const bool ok = co_await weft::test::finished_within(shutdown, b); !ok)
            co_return false;
          co_await shutdown;
          if (const bool ok = co_await weft::test::finished_within(serving, b); !ok)
            co_return false;
          co_await serving;
          co_return true;
        }(shutdown_, serving_, bound));
  }

 private:
  static weft::RuntimeOptions quiet_options(unsigned loops) {
    weft::RuntimeOptions o = weft::test::options(loops);
    // Sanitizer builds are slow enough to trip the stall reporter on harmless work.
    o.stall_threshold = Ms(0);
    return o;
  }

  weft::Runtime runtime_;
  weft::http::Server server_;
  weft::io::SocketAddress address_;
  weft::io::SocketAddress tls_address_;
  JoinHandle<void> serving_;
  JoinHandle<void> shutdown_;
  bool stopped_ = false;
};

}  // namespace weft::test::http

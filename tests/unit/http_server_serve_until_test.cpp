// weft::http::Server::serve_until: a server's whole life in one co_await. It serves until a
// weft::Event, a std::stop_token or any Task fires, then shuts down gracefully and returns;
// cancelled, it still shuts down first. A Server destroyed while serving stops in the
// background; one that cannot serve says so at once.

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <weft/event.hpp>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/make_task.hpp>
#include <weft/wait_for.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::http::Client;
using weft::http::Server;
using weft::http::ServerRequest;
using weft::http::ServerResponse;
using weft::io::SocketAddress;

// A server with one route, listening on a free port; its URL for `path`.
struct Hello {
  Server server;
  SocketAddress address;
  Hello() {
    server.route("GET", "/hello", [](ServerRequest&) -> Task<ServerResponse> {
      co_return ServerResponse::text(200, "hello");
    });
    address = server.listen(SocketAddress::parse("127.0.0.1:0"));
  }
  [[nodiscard]] std::string url() const { return "http://" + address.to_string() + "/hello"; }
};

// The answer's status, or 0 if the connection was refused (the server stopped listening).
Task<int> status_of(std::string url) {
  Client client;
  int status = 0;
  try {
    const weft::http::ClientResponse r = co_await client.get(url);
    status = r.status;
  } catch (const weft::http::ConnectError&) {
  }
  co_await client.close();
  co_return status;
}

void run_bounded(Task<void> body) {
  weft::run(weft::wait_for(std::move(body), 20s), weft::test::options(2));
}

TEST(HttpServerServeUntil, AnEventEndsServingWithAGracefulShutdown) {
  run_bounded([]() -> Task<void> {
    Hello h;
    const std::string url = h.url();
    weft::Event stop;
    auto serving = weft::spawn(h.server.serve_until(stop));
    const int served = co_await status_of(url);
    EXPECT_EQ(served, 200);
    EXPECT_FALSE(serving.done());
    stop.set();
    co_await serving;  // returns once the shutdown has finished
    const int after_stop = co_await status_of(url);
    EXPECT_EQ(after_stop, 0) << "still listening after serve_until returned";
  }());
}

TEST(HttpServerServeUntil, AStopTokenFromAnotherThreadEndsServing) {
  run_bounded([]() -> Task<void> {
    Hello h;
    const std::string url = h.url();
    std::stop_source source;
    auto serving = weft::spawn(h.server.serve_until(source.get_token()));
    const int served = co_await status_of(url);
    EXPECT_EQ(served, 200);
    std::thread([&source] { source.request_stop(); }).join();
    co_await serving;
    const int after_stop = co_await status_of(url);
    EXPECT_EQ(after_stop, 0);
  }());
}

TEST(HttpServerServeUntil, AStopTokenAlreadyStoppedServesNothing) {
  run_bounded([]() -> Task<void> {
    Hello h;
    const std::string url = h.url();
    std::stop_source source;
    source.request_stop();
    co_await h.server.serve_until(source.get_token());
    const int after_stop = co_await status_of(url);
    EXPECT_EQ(after_stop, 0);
  }());
}

TEST(HttpServerServeUntil, AnyTaskEndsServingAndItsFailureComesOutAfterTheShutdown) {
  run_bounded([]() -> Task<void> {
    Hello h;
    const std::string url = h.url();
    weft::Event fire;
    // A Task<int>, as weft::signal's is: its value is dropped.
    Task<int> stop = weft::make_task([&fire]() -> Task<int> {
      co_await fire.wait();
      throw std::runtime_error("the watchdog failed");
    });
    auto serving = weft::spawn(h.server.serve_until(std::move(stop)));
    const int served = co_await status_of(url);
    EXPECT_EQ(served, 200);
    fire.set();
    EXPECT_THROW(co_await serving, std::runtime_error);
    const int after_stop = co_await status_of(url);
    EXPECT_EQ(after_stop, 0) << "the failure skipped the shutdown";
  }());
}

TEST(HttpServerServeUntil, CancelledItShutsDownBeforeItThrows) {
  run_bounded([]() -> Task<void> {
    Hello h;
    const std::string url = h.url();
    weft::Event never;
    auto serving = weft::spawn(h.server.serve_until(never));
    const int served = co_await status_of(url);
    EXPECT_EQ(served, 200);
    serving.cancel();
    EXPECT_THROW(co_await serving, weft::CancelledError);
    const int after_stop = co_await status_of(url);
    EXPECT_EQ(after_stop, 0);
  }());
}

TEST(HttpServerServeUntil, AServerDestroyedWhileServingStopsInTheBackground) {
  run_bounded([]() -> Task<void> {
    std::string url;
    weft::JoinHandle<void> serving;
    {
      Hello h;
      url = h.url();
      serving = weft::spawn(h.server.serve());
      const int served = co_await status_of(url);
      EXPECT_EQ(served, 200);
    }  // ~Server while serve() runs
    const bool stopped = co_await weft::test::finished_within(serving, 10s);
    EXPECT_TRUE(stopped) << "serve() ran on after its Server was destroyed";
    if (stopped) co_await serving;
    const int after_stop = co_await status_of(url);
    EXPECT_EQ(after_stop, 0);
  }());
}

TEST(HttpServerServeUntil, AServerThatCannotServeSaysSoAtOnce) {
  Server never_listened;
  weft::Event stop;
  EXPECT_THROW((void)never_listened.serve_until(stop), std::logic_error);
  // A Server destroyed having never served, outside any runtime: nothing to stop.
}

}  // namespace

// The asyncio tutorial's `async with`: a resource whose release is itself asynchronous (a
// connection that says goodbye before it closes) must be released whatever happens to the
// code using it. A C++ destructor cannot co_await, so weft gives the resource an aclose()
// coroutine and weft::with_resource runs it after the body: on success, on an exception and
// on cancellation.
//
// Look at: the three runs below print the same acquire / use / release lines; only how the
// body ends differs. The cancelled run is stopped half a second into a ten-second query, and
// its release still runs before the caller hears CancelledError.
//
// Prints, for each of success, error and cancel:
//   [success] acquire / [success] use / [success] release / [success] -> 42
// and for the cancelled run how long it took (`[cancel] cancelled after 0.60 s`).

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <weft/algorithms.hpp>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;

class Connection {
 public:
  // Opening takes a round trip, like a real connect.
  static weft::Task<Connection> open(std::string name) {
    co_await weft::sleep(tutorial::scaled(0.1s));
    std::printf("[%s] acquire\n", name.c_str());
    co_return Connection(std::move(name));
  }

  // What with_resource awaits after the body, however the body ended.
  weft::Task<void> aclose() {
    co_await weft::sleep(tutorial::scaled(0.1s));  // the goodbye message
    std::printf("[%s] release\n", name_.c_str());
  }

  weft::Task<int> query(std::chrono::duration<double> takes) {
    std::printf("[%s] use\n", name_.c_str());
    co_await weft::sleep(tutorial::scaled(takes));
    co_return 42;
  }

 private:
  explicit Connection(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

weft::Task<void> succeeds() {
  const int answer = co_await weft::with_resource(
      co_await Connection::open("success"),
      [](Connection& c) -> weft::Task<int> { co_return co_await c.query(0.2s); });
  std::printf("[success] -> %d\n", answer);
}

weft::Task<void> fails() {
  try {
    co_await weft::with_resource(co_await Connection::open("error"),
                                 [](Connection& c) -> weft::Task<int> {
                                   co_await c.query(0.2s);
                                   throw std::runtime_error("the reply was malformed");
                                 });
  } catch (const std::runtime_error& e) {
    std::printf("[error] -> caught: %s\n", e.what());
  }
}

weft::Task<void> cancelled() {
  tutorial::Stopwatch clock;
  // A ten-second query, cancelled after half a second.
  auto handle = weft::spawn(
      []() -> weft::Task<int> {
        co_return co_await weft::with_resource(
            co_await Connection::open("cancel"),
            [](Connection& c) -> weft::Task<int> { co_return co_await c.query(10s); });
      }(),
      {.name = "slow query"});
  co_await weft::sleep(tutorial::scaled(0.5s));
  handle.cancel();
  try {
    co_await handle;
  } catch (const weft::CancelledError&) {
    // Only now, after the release line: the close finished before the cancel came through.
    std::printf("[cancel] -> CancelledError\n");
  }
  std::printf("[cancel] cancelled after %.2f s (the query alone takes 10 s)\n", clock.seconds());
}

int main() {
  weft::run([]() -> weft::Task<void> {
    co_await succeeds();
    co_await fails();
    co_await cancelled();
  }());
}

// The asyncio tutorial's common pitfalls, each made visible, with what weft says about it:
//   (a) a task created and never awaited: it never runs; weft reports it when it is destroyed
//       (asyncio: "coroutine ... was never awaited");
//   (b) a blocking call inside a task: the whole loop stops; weft's stall detector reports it
//       while it happens, and again with the task's name once it suspends (asyncio's debug
//       mode: "Executing <Task ...> took 0.100 seconds");
//   (c) ten thousand tasks at once: cheap to create, but everything they touch gets ten
//       thousand requests at once; a Semaphore bounds how many are in flight;
//   (d) a resource that is never closed: weft cannot know it should have been; the resource
//       itself can complain, as aiohttp's "Unclosed client session" does.
//
// weft's reports go to RuntimeOptions::on_report (default: one line each on stderr); this
// program prints them to stdout, under the pitfall that caused them. It runs one loop, as
// asyncio does, so a report always lands under its own heading.
//
// Prints (one report of each kind; "..." cut here):
//   (a) tasks created but never awaited
//     weft reported [task_never_awaited]: weft: task fetch_page (13_pitfalls.cpp:42) was ...
//   (b) a blocking call inside a task
//     weft reported [stall]: weft: loop 0 stalled: its current task has run 25+ ms ...
//     weft reported [stall_ended]: ... 'blocking fetch' blocking_fetch (13_pitfalls.cpp:63) ...
//   (c) ten thousand tasks at once
//     without a bound: peak 10000 in flight
//     with Semaphore(100): peak 100 in flight, total: 10.35 s
//   (d) a resource left open, then one closed
//     Connection: destroyed while still open (three times)
//     without aclose: 3 still open at the end; with with_resource: 0 still open

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <utility>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;

weft::Task<int> fetch_page(int id) {
  co_await weft::sleep(tutorial::scaled(0.1s));
  co_return id;
}

weft::Task<void> never_awaited() {
  std::puts("(a) tasks created but never awaited");
  // `fetch_page(1);` alone does not compile (Task is [[nodiscard]], warnings are errors). A
  // list of tasks that nobody gathers does: a Task is lazy, so these pages are never fetched.
  std::vector<weft::Task<int>> pages;
  for (int id = 1; id <= 2; ++id) pages.push_back(fetch_page(id));
  co_return;  // forgot: co_await weft::gather(std::move(pages));
}

// Real milliseconds, not tutorial time: the stall detector watches the real clock, so the
// tests' scale (1 s -> 10 ms) would take a "1 s" blocking call under its 25 ms threshold. The
// detector samples the loops every half threshold and reports a task seen running for a whole
// threshold, so 100 ms leaves it room to be reported even on a busy machine.
constexpr auto kStallThreshold = 25ms;
constexpr auto kBlockingCall = 100ms;

weft::Task<void> blocking_fetch() {
  std::this_thread::sleep_for(kBlockingCall);  // e.g. a synchronous HTTP request
  co_await weft::yield();  // the first suspension since: weft names the task that stalled
}

weft::Task<void> offloaded_fetch() {
  co_await weft::to_thread([] { std::this_thread::sleep_for(kBlockingCall); });
}

weft::Task<void> blocking_call() {
  std::puts("(b) a blocking call inside a task");
  // Spawned with names because a report names the spawned task (and its coroutine), not
  // whatever coroutine that task was awaiting when it stalled.
  // (Each handle is named before its co_await: g++ 12 mishandles a braced SpawnOptions
  // inside a co_await expression.)
  weft::JoinHandle<void> blocking = weft::spawn(blocking_fetch(), {.name = "blocking fetch"});
  co_await blocking;
  std::puts("  the same call through weft::to_thread (no report: the loop stays free)");
  weft::JoinHandle<void> offloaded = weft::spawn(offloaded_fetch(), {.name = "offloaded fetch"});
  co_await offloaded;
}

// Counts the tasks in their critical part now and at most. One loop runs them all, so plain
// ints are enough.
struct Gauge {
  int now = 0;
  int peak = 0;
  weft::Task<void> visit() {
    peak = std::max(peak, ++now);
    co_await weft::sleep(tutorial::scaled(0.1s));  // a request to the shared server
    --now;
  }
};

weft::Task<void> ten_thousand_tasks() {
  std::puts("(c) ten thousand tasks at once");
  constexpr int kTasks = 10'000, kBound = 100;
  // Creating them all in one go keeps the loop busy for a few milliseconds; in a sanitizer
  // build that passes the stall threshold, and weft says so.
  Gauge unbounded;
  std::vector<weft::Task<void>> tasks;
  for (int i = 0; i < kTasks; ++i) tasks.push_back(unbounded.visit());
  co_await weft::gather(std::move(tasks));
  std::printf("  without a bound: peak %d in flight\n", unbounded.peak);

  tutorial::Stopwatch clock;
  Gauge bounded;
  weft::Semaphore permits(kBound);
  std::vector<weft::Task<void>> bounded_tasks;
  for (int i = 0; i < kTasks; ++i)
    bounded_tasks.push_back([](weft::Semaphore& sem, Gauge& gauge) -> weft::Task<void> {
      auto permit = co_await sem.scoped();
      co_await gauge.visit();
    }(permits, bounded));
  co_await weft::gather(std::move(bounded_tasks));
  std::printf("  with Semaphore(%d): peak %d in flight, total: %.2f s\n", kBound, bounded.peak,
              clock.seconds());
}

// A connection that knows whether it was closed; its close is asynchronous (a goodbye
// message), so its destructor can only complain, not close.
class Connection {
 public:
  static weft::Task<Connection> open(int& open_count) {
    co_await weft::sleep(tutorial::scaled(0.1s));
    co_return Connection(open_count);
  }
  Connection(Connection&& other) noexcept : open_count_(std::exchange(other.open_count_, {})) {}
  Connection& operator=(Connection&&) = delete;
  ~Connection() {
    if (open_count_ != nullptr) std::puts("  Connection: destroyed while still open");
  }
  weft::Task<void> aclose() {
    co_await weft::sleep(tutorial::scaled(0.1s));
    --*std::exchange(open_count_, nullptr);
  }

 private:
  explicit Connection(int& open_count) : open_count_(&open_count) { ++open_count; }
  int* open_count_;  // the program's count of open connections; null once closed or moved
};

weft::Task<void> resource_left_open() {
  std::puts("(d) a resource left open, then one closed");
  int open_without_aclose = 0, open_with_resource = 0;
  for (int i = 0; i < 3; ++i) {
    Connection c = co_await Connection::open(open_without_aclose);
    co_await fetch_page(i);  // ... and no co_await c.aclose()
  }
  for (int i = 0; i < 3; ++i)
    co_await weft::with_resource(co_await Connection::open(open_with_resource),
                                 [](Connection&) -> weft::Task<void> { co_await fetch_page(0); });
  std::printf("  without aclose: %d still open at the end; with with_resource: %d still open\n",
              open_without_aclose, open_with_resource);
}

void print_report(const weft::Report& report) {
  std::printf("  weft reported [%s]: %s\n", weft::to_string(report.kind), report.message.c_str());
}

weft::Task<void> main_task() {
  co_await never_awaited();
  co_await blocking_call();
  co_await ten_thousand_tasks();
  co_await resource_left_open();
}

int main() {
  weft::run(main_task(),
            {.loops = 1, .stall_threshold = kStallThreshold, .on_report = print_report});
}

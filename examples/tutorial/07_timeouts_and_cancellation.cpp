// The asyncio tutorial, "timeouts and cancellation": asyncio.wait_for gives up on an operation
// that takes too long, and task.cancel() stops a running task, which gets CancelledError at
// the point where it waits and can clean up on its way out.
//
// What to look at:
// 1. weft::wait_for(slow_operation(), 2s) on a 5 s operation throws weft::TimeoutError after
//    2 s, not 5. The operation was cancelled first, and wait_for waited for it to finish: its
//    "cancelled" line comes before main's "timed out".
// 2. A worker that handles a message a second, forever, is cancelled by main 3 s after it was
//    spawned. handle.cancel() is a request: it arrives as weft::CancelledError at the worker's
//    current co_await, the worker's catch block cleans up and rethrows, and main's
//    `co_await handle` then throws CancelledError too.
// Times are tutorial seconds since the start; the whole run takes 2 + 3 = 5 s:
//   1. wait_for: a 5 s operation, 2 s allowed
//   slow operation: cancelled at 2.00 s
//   main: timed out at 2.00 s
//   2. cancel: a worker, stopped after 3 s
//   worker: connected at 2.50 s
//   worker: message 1 at 3.50 s
//   worker: message 2 at 4.50 s
//   main: cancelling the worker at 5.00 s
//   worker: cancelled at 5.00 s after 2 messages; closing the connection
//   main: the worker ended cancelled at 5.00 s
//   total: 5.00 s

#include <chrono>
#include <cstdio>
#include <string>
#include <weft/algorithms.hpp>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;
using weft::Task;

Task<std::string> slow_operation(tutorial::Stopwatch clock) {
  try {
    co_await weft::sleep(tutorial::scaled(5s));
  } catch (const weft::CancelledError&) {
    std::printf("slow operation: cancelled at %.2f s\n", clock.seconds());
    throw;
  }
  co_return "the result";
}

// Stands for a connection's read loop: connect, then a message a second until stopped.
Task<void> worker(tutorial::Stopwatch clock) {
  int messages = 0;
  try {
    co_await weft::sleep(tutorial::scaled(0.5s));
    std::printf("worker: connected at %.2f s\n", clock.seconds());
    for (;;) {
      co_await weft::sleep(tutorial::scaled(1s));
      std::printf("worker: message %d at %.2f s\n", ++messages, clock.seconds());
    }
  } catch (const weft::CancelledError&) {
    std::printf("worker: cancelled at %.2f s after %d messages; closing the connection\n",
                clock.seconds(), messages);
    // Rethrow: the cancel was a request to stop. Swallowing it would let the task end as if
    // it had succeeded (weft counts that in LoopMetrics::cancels_swallowed).
    throw;
  }
}

Task<void> main_task() {
  const tutorial::Stopwatch clock;
  std::puts("1. wait_for: a 5 s operation, 2 s allowed");
  try {
    const std::string result = co_await weft::wait_for(slow_operation(clock), tutorial::scaled(2s));
    std::printf("main: got %s\n", result.c_str());
  } catch (const weft::TimeoutError&) {
    std::printf("main: timed out at %.2f s\n", clock.seconds());
  }

  std::puts("2. cancel: a worker, stopped after 3 s");
  weft::JoinHandle<void> handle = weft::spawn(worker(clock), {.name = "worker"});
  co_await weft::sleep(tutorial::scaled(3s));
  std::printf("main: cancelling the worker at %.2f s\n", clock.seconds());
  handle.cancel();
  try {
    co_await handle;
  } catch (const weft::CancelledError&) {  // the worker's, rethrown here
    std::printf("main: the worker ended cancelled at %.2f s\n", clock.seconds());
  }
  std::printf("total: %.2f s\n", clock.seconds());
}

int main() { weft::run(main_task()); }

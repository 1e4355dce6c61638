// The asyncio tutorial, "coroutines and await": a coroutine that says hello, waits, and says
// world; then one coroutine awaiting another that counts to three.
//
// What to look at: a weft::Task<T> function is asyncio's `async def`, co_await is `await`, and
// weft::run is asyncio.run. `co_await weft::sleep(...)` pauses only this coroutine; the code
// after it runs when the wait is over, so the lines come out in program order, a second
// apart. count_to_three() is awaited like a function call: main_task goes on when it returns.
//
// It prints each line with the tutorial time it was printed at:
//   [0.00 s] Hello
//   [1.00 s] World
//   [2.00 s] 1
//   [3.00 s] 2
//   [4.00 s] 3
//   total: 4.00 s

#include <chrono>
#include <cstdio>
#include <string>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;

void say(const tutorial::Stopwatch& clock, const std::string& text) {
  std::printf("[%.2f s] %s\n", clock.seconds(), text.c_str());
}

// The clock comes by value: a coroutine may outlive its caller's locals, so it keeps copies
// (a Stopwatch is just its start time).
weft::Task<void> count_to_three(tutorial::Stopwatch clock) {
  for (int i = 1; i <= 3; ++i) {
    co_await weft::sleep(tutorial::scaled(1s));
    say(clock, std::to_string(i));
  }
}

weft::Task<void> main_task() {
  const tutorial::Stopwatch clock;
  say(clock, "Hello");
  co_await weft::sleep(tutorial::scaled(1s));
  say(clock, "World");
  // Awaiting a coroutine runs it to its end before the next line: 3 more seconds.
  co_await count_to_three(clock);
  std::printf("total: %.2f s\n", clock.seconds());
}

int main() { weft::run(main_task()); }

// The asyncio tutorial's `async for` over an async generator: a source that produces values
// one at a time, waiting between them (a paginated API, a sensor, a log being tailed). In
// weft the generator is a weft::Generator<T> coroutine that co_awaits and co_yields; the
// consumer pulls with `while (auto v = co_await gen.next())`.
//
// Look at: "produce" and "got" alternate, and each value arrives as soon as it is made (at
// 0.5, 1.0, 1.5 ... s), not all at the end: the generator's body runs only when the consumer
// asks for the next value. Then a consumer that stops early: the generator is destroyed
// where it stands, and its clean-up runs at once (in asyncio an abandoned async generator is
// closed later, by the event loop's shutdown_asyncgens).
//
// Prints:
//   produce 1 / got 1 at 0.50 s / produce 2 / got 2 at 1.00 s / ... / got 5 at 2.50 s
//   (generator cleaned up) / sum 15
//   produce 1 / produce 2 / produce 3 / (generator cleaned up)
//   stopped after 3 values; the generator cleaned up before this line

#include <chrono>
#include <cstdio>
#include <optional>
#include <weft/algorithms.hpp>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;

// Says when the generator's frame is destroyed, however iteration ended.
struct CleanUp {
  CleanUp() = default;
  CleanUp(const CleanUp&) = delete;
  CleanUp& operator=(const CleanUp&) = delete;
  ~CleanUp() { std::puts("  (generator cleaned up)"); }
};

// Counts 1..n, each value after a wait: the producer side of `async for`.
weft::Generator<int> count_up(int n) {
  CleanUp clean_up;
  for (int i = 1; i <= n; ++i) {
    co_await weft::sleep(tutorial::scaled(0.5s));
    std::printf("produce %d\n", i);
    co_yield i;
  }
}

weft::Task<void> main_task() {
  tutorial::Stopwatch clock;
  int sum = 0;
  auto numbers = count_up(5);
  while (std::optional<int> v = co_await numbers.next()) {
    std::printf("got %d at %.2f s\n", *v, clock.seconds());
    sum += *v;
  }
  std::printf("sum %d\n", sum);

  // Breaking out of the loop abandons the generator mid-way; destroying it (here, at the end
  // of the block) destroys the suspended body, so its locals' destructors run right there.
  {
    auto first_three = count_up(5);
    int taken = 0;
    while (std::optional<int> v = co_await first_three.next()) {
      if (++taken == 3) break;
    }
  }
  std::puts("stopped after 3 values; the generator cleaned up before this line");
}

int main() { weft::run(main_task()); }

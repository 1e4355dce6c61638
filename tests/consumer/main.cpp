// Smallest program that touches the public API through an installed weft: a task that suspends
// on a timer, run on a two-loop runtime. Exit code 0 means the value came back.
#include <chrono>
#include <weft/weft.hpp>

weft::Task<int> answer() {
  co_await weft::sleep(std::chrono::milliseconds(1));
  co_return 42;
}

int main() { return weft::run(answer(), {.loops = 2}) == 42 ? 0 : 1; }

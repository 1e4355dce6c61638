// Smallest program that touches both layers through an installed weft: a task that suspends
// on a timer, a gather (weft::algorithms) and a to_thread job (oneTBB, found through weft's
// package config), on a two-loop runtime. Exit code 0 means the values came back.
#include <chrono>
#include <tuple>
#include <weft/algorithms.hpp>
#include <weft/weft.hpp>

weft::Task<int> answer() {
  co_await weft::sleep(std::chrono::milliseconds(1));
  co_return 42;
}

weft::Task<int> both() {
  auto [a, b] = co_await weft::gather(answer(), answer());
  const int c = co_await weft::to_thread([](int x) { return x / 2; }, a + b);
  co_return c;
}

int main() { return weft::run(both(), {.loops = 2}) == 42 ? 0 : 1; }

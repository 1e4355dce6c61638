// Timer benchmarks, at 1 loop and at 2 loops.
//
// - sleep_1ms_lateness: on an otherwise idle runtime, one task sleeps 1 ms, 500 times in a
//   row; each iteration reports the median and p99 of how late each sleep woke past its
//   deadline (counters lateness_p50_us, lateness_p99_us). An idle loop parks in
//   epoll_pwait2 until the exact deadline of its earliest timer, so lateness is the kernel's
//   wake-up latency plus a scheduling pass.
// - timer_fire_many: 100,000 tasks each sleep until the same moment, 5 ms ahead, and are
//   joined; items are timers armed and fired (the wheel's O(1) insert and one pass that
//   fires them all, plus a spawn, a wake and a join each).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;
using weft::Clock;
using weft::Task;

weft::RuntimeOptions bench_options(const benchmark::State& state) {
  weft::RuntimeOptions o;
  o.loops = static_cast<unsigned>(state.range(0));
  o.on_report = [](const weft::Report&) {};
  return o;
}

// --- sleep_1ms_lateness -------------------------------------------------------------------

constexpr int kSleeps = 500;

Task<std::vector<double>> sleeper() {
  std::vector<double> late_us;
  late_us.reserve(kSleeps);
  for (int i = 0; i < kSleeps; ++i) {
    const auto deadline = Clock::now() + 1ms;
    co_await weft::sleep_until(deadline);
    late_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - deadline).count());
  }
  co_return late_us;
}

void BM_sleep_1ms_lateness(benchmark::State& state) {
  weft::Runtime rt(bench_options(state));
  std::vector<double> all;
  for (auto _ : state) {
    std::vector<double> late = rt.block_on(sleeper());
    all.insert(all.end(), late.begin(), late.end());
  }
  std::sort(all.begin(), all.end());
  state.counters["lateness_p50_us"] = all[all.size() / 2];
  state.counters["lateness_p99_us"] = all[all.size() * 99 / 100];
  state.SetItemsProcessed(static_cast<std::int64_t>(all.size()));
}
BENCHMARK(BM_sleep_1ms_lateness)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->Iterations(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- timer_fire_many ----------------------------------------------------------------------

constexpr std::size_t kTimers = 100'000;

Task<void> sleep_task_until(Clock::time_point t) { co_await weft::sleep_until(t); }

Task<void> fire_many_driver() {
  std::vector<weft::JoinHandle<void>> handles;
  handles.reserve(kTimers);
  const auto at = Clock::now() + 5ms;
  for (std::size_t i = 0; i < kTimers; ++i) handles.push_back(weft::spawn(sleep_task_until(at)));
  for (auto& h : handles) co_await h;
}

void BM_timer_fire_many(benchmark::State& state) {
  weft::Runtime rt(bench_options(state));
  for (auto _ : state) rt.block_on(fire_many_driver());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kTimers));
}
BENCHMARK(BM_timer_fire_many)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

// Combinator benchmarks, at 1 loop and at 2 loops (`BM_gather_fanout/loops:1` ...), each
// reporting Google Benchmark's items_per_second over wall-clock time.
//
// - gather_fanout: one task gathers 10,000 small tasks (each returns a number); items are
//   the gathered tasks. Every child is a spawned task, posts its end, and is joined.
// - spawn_join_fanout: the same fan-out by hand (spawn 10,000, then await each handle), the
//   floor gather's bookkeeping (outcome slots, completion queue, cancel-safe joins) adds to.
// - wait_for_overhead: 10,000 wait_for calls in sequence on work that is ready at once, with
//   a deadline that never passes; items are wait_for calls. The work runs in the awaiting
//   task and, being ready at once, never arms a timer (weft/detail/task_deadline.hpp).
// - wait_for_yield: the same, but the work yields once before it returns, so it has not
//   finished when wait_for first waits on it, as work that really waits has not: the loop
//   arms the deadline's timer when the task yields, and the scope unlinks it when the work
//   returns. Tokio's `timeout` also arms its timer only when the work is not ready at the
//   first poll, so this twin is the shape where both runtimes pay for the timer
//   (bench/tokio_baseline has both shapes).
//
// The runtime is built once per benchmark, outside the timed loop, with default options;
// reports (e.g. stalls) are counted, not printed.

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>
#include <weft/gather.hpp>
#include <weft/wait_for.hpp>
#include <weft/weft.hpp>

namespace {

using namespace std::chrono_literals;
using weft::Task;

constexpr std::size_t kFanout = 10'000;
constexpr std::size_t kWaitFors = 10'000;

weft::RuntimeOptions bench_options(const benchmark::State& state,
                                   std::atomic<std::uint64_t>* reports) {
  weft::RuntimeOptions o;
  o.loops = static_cast<unsigned>(state.range(0));
  o.on_report = [reports](const weft::Report&) {
    reports->fetch_add(1, std::memory_order_relaxed);
  };
  return o;
}

void report_common(benchmark::State& state, std::uint64_t items_per_iteration,
                   const std::atomic<std::uint64_t>& reports) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * items_per_iteration));
  state.counters["reports"] = static_cast<double>(reports.load());
}

Task<std::uint64_t> small(std::uint64_t i) { co_return i; }

// --- gather_fanout ------------------------------------------------------------------------

Task<std::uint64_t> gather_driver() {
  std::vector<Task<std::uint64_t>> tasks;
  tasks.reserve(kFanout);
  for (std::uint64_t i = 0; i < kFanout; ++i) tasks.push_back(small(i));
  std::vector<std::uint64_t> results = co_await weft::gather(std::move(tasks));
  std::uint64_t sum = 0;
  for (std::uint64_t v : results) sum += v;
  co_return sum;
}

void BM_gather_fanout(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  (void)rt.block_on(gather_driver());  // untimed: fills the frame pools
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(gather_driver()));
  report_common(state, kFanout, reports);
}
BENCHMARK(BM_gather_fanout)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- spawn_join_fanout: the hand-written floor ----------------------------------------------

Task<std::uint64_t> spawn_join_driver() {
  std::vector<weft::JoinHandle<std::uint64_t>> handles;
  handles.reserve(kFanout);
  for (std::uint64_t i = 0; i < kFanout; ++i) handles.push_back(weft::spawn(small(i)));
  std::uint64_t sum = 0;
  for (auto& h : handles) sum += co_await h;
  co_return sum;
}

void BM_spawn_join_fanout(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  (void)rt.block_on(spawn_join_driver());
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(spawn_join_driver()));
  report_common(state, kFanout, reports);
}
BENCHMARK(BM_spawn_join_fanout)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- wait_for_overhead --------------------------------------------------------------------

using Work = Task<std::uint64_t> (*)(std::uint64_t);

Task<std::uint64_t> wait_for_driver(Work work) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < kWaitFors; ++i) sum += co_await weft::wait_for(work(i), 10s);
  co_return sum;
}

void BM_wait_for_overhead(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  (void)rt.block_on(wait_for_driver(small));
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(wait_for_driver(small)));
  report_common(state, kWaitFors, reports);
}
BENCHMARK(BM_wait_for_overhead)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- wait_for_yield -----------------------------------------------------------------------

// Suspends once, so wait_for sees work that has not finished yet.
Task<std::uint64_t> small_after_yield(std::uint64_t i) {
  co_await weft::yield();
  co_return i;
}

void BM_wait_for_yield(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  (void)rt.block_on(wait_for_driver(small_after_yield));
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(wait_for_driver(small_after_yield)));
  report_common(state, kWaitFors, reports);
}
BENCHMARK(BM_wait_for_yield)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

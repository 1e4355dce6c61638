// Synchronisation benchmarks, at 1 loop and at 2 loops (`BM_ping_pong/loops:1` ...), each
// reporting Google Benchmark's items_per_second over wall-clock time:
//   - ping_pong: two tasks bounce a value over two Queues of capacity 1, 1,000,000 round
//     trips (items = round trips). Tokio 1.24 on this machine type: 6.7M / 5.3M round
//     trips/s at 1 / 2 threads on a good day (bench/tokio_baseline has the same shape);
//   - queue_mpmc: 4 producers and 4 consumers over one Queue of capacity 1024 (items =
//     messages);
//   - semaphore_fanout: 10,000 tasks each acquire a Semaphore(16), yield, release (items =
//     acquisitions).
//
// The runtime is built once per benchmark, outside the timed loop; each timed iteration is
// one block_on of a driver task. Stall reports are counted, not printed.

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>
#include <weft/queue.hpp>
#include <weft/semaphore.hpp>
#include <weft/weft.hpp>

namespace {

using weft::Task;

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

template <class T>
Task<void> join_all(std::vector<weft::JoinHandle<T>>& handles) {
  for (auto& h : handles) co_await h;
}

// --- ping_pong --------------------------------------------------------------------------------

constexpr std::uint64_t kRoundTrips = 1'000'000;

Task<void> ponger(weft::Queue<std::uint64_t>* in, weft::Queue<std::uint64_t>* out) {
  for (std::uint64_t i = 0; i < kRoundTrips; ++i) co_await out->push(co_await in->pop());
}

Task<std::uint64_t> ping_pong_driver() {
  weft::Queue<std::uint64_t> there(1), back(1);
  auto pong = weft::spawn(ponger(&there, &back));
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < kRoundTrips; ++i) {
    co_await there.push(i);
    sum += co_await back.pop();
  }
  co_await pong;
  co_return sum;
}

void BM_ping_pong(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(ping_pong_driver()));
  report_common(state, kRoundTrips, reports);
}
BENCHMARK(BM_ping_pong)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- queue_mpmc ---------------------------------------------------------------------------------

constexpr std::size_t kMpmcProducers = 4;
constexpr std::size_t kMpmcConsumers = 4;
constexpr std::size_t kMpmcCapacity = 1024;
constexpr std::uint64_t kMpmcPerProducer = 250'000;

Task<void> mpmc_producer(weft::Queue<std::uint64_t>* q) {
  for (std::uint64_t i = 0; i < kMpmcPerProducer; ++i) co_await q->push(i);
}

Task<std::uint64_t> mpmc_consumer(weft::Queue<std::uint64_t>* q) {
  std::uint64_t sum = 0;
  try {
    for (;;) sum += co_await q->pop();
  } catch (const weft::QueueClosed&) {
  }
  co_return sum;
}

Task<std::uint64_t> mpmc_driver() {
  weft::Queue<std::uint64_t> q(kMpmcCapacity);
  std::vector<weft::JoinHandle<std::uint64_t>> consumers;
  std::vector<weft::JoinHandle<void>> producers;
  for (std::size_t i = 0; i < kMpmcConsumers; ++i)
    consumers.push_back(weft::spawn(mpmc_consumer(&q)));
  for (std::size_t i = 0; i < kMpmcProducers; ++i)
    producers.push_back(weft::spawn(mpmc_producer(&q)));
  co_await join_all(producers);
  q.close();
  std::uint64_t sum = 0;
  for (auto& c : consumers) sum += co_await c;
  co_return sum;
}

void BM_queue_mpmc(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(mpmc_driver()));
  report_common(state, kMpmcProducers * kMpmcPerProducer, reports);
}
BENCHMARK(BM_queue_mpmc)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- semaphore_fanout ---------------------------------------------------------------------------

constexpr std::size_t kFanoutTasks = 10'000;
constexpr std::size_t kFanoutPermits = 16;

Task<void> limited(weft::Semaphore* sem) {
  auto permit = co_await sem->scoped();
  co_await weft::yield();
}

Task<void> fanout_driver() {
  weft::Semaphore sem(kFanoutPermits);
  std::vector<weft::JoinHandle<void>> handles;
  handles.reserve(kFanoutTasks);
  for (std::size_t i = 0; i < kFanoutTasks; ++i) handles.push_back(weft::spawn(limited(&sem)));
  co_await join_all(handles);
}

void BM_semaphore_fanout(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  for (auto _ : state) rt.block_on(fanout_driver());
  report_common(state, kFanoutTasks, reports);
}
BENCHMARK(BM_semaphore_fanout)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

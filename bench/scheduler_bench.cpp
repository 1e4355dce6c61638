// Scheduler micro-benchmarks, the shapes of Tokio's rt_multi_threaded benches, at 1 loop and
// at 2 loops (`BM_spawn_many/loops:1` ... `/loops:2`), so a script compares them by name.
// Each reports Google Benchmark's items_per_second (ops/s) over wall-clock time.
//
// The runtime is built once per benchmark, outside the timed loop, with default options
// (the stall detector on; its reports are counted, not printed). Inside the loop the driver
// is a spawned task (block_on); the benchmark thread then waits, as Tokio's benches wait on
// a std channel, for the last task to signal.
//
// This binary also counts the heap: operator new is replaced here by a counting one, so the
// spawn benchmarks report the malloc'd bytes per spawn that the frame pool did not absorb,
// its slabs included (not under sanitizers, whose runtimes replace operator new themselves).

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <thread>
#include <vector>
#include <weft/weft.hpp>

#ifndef WEFT_BENCH_COUNT_HEAP
#define WEFT_BENCH_COUNT_HEAP 0
#endif

// --- heap accounting ----------------------------------------------------------------------

namespace {
constexpr bool kCountHeap = WEFT_BENCH_COUNT_HEAP != 0;
// Relaxed: totals read after the work they count has been joined through block_on/wait.
std::atomic<std::uint64_t> g_heap_bytes{0};
std::atomic<std::uint64_t> g_heap_calls{0};

[[maybe_unused]] void* counted_alloc(std::size_t n) {
  g_heap_bytes.fetch_add(n, std::memory_order_relaxed);
  g_heap_calls.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The frame pool's slabs come from the aligned form.
[[maybe_unused]] void* counted_aligned_alloc(std::size_t n, std::align_val_t a) {
  g_heap_bytes.fetch_add(n, std::memory_order_relaxed);
  g_heap_calls.fetch_add(1, std::memory_order_relaxed);
  const auto align = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
  throw std::bad_alloc();
}
}  // namespace

#if WEFT_BENCH_COUNT_HEAP
void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void* operator new(std::size_t n, std::align_val_t a) { return counted_aligned_alloc(n, a); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
#endif

namespace {

using weft::Task;

struct HeapSnapshot {
  std::uint64_t bytes = g_heap_bytes.load(std::memory_order_relaxed);
  std::uint64_t calls = g_heap_calls.load(std::memory_order_relaxed);
};

// The signal the last task gives to the benchmark thread.
class Done {
 public:
  void reset(std::uint64_t n) {
    remaining_.store(n, std::memory_order_relaxed);
    done_.store(false, std::memory_order_relaxed);
  }
  // acq_rel on the count: the last decrement sees every other task's work; release on the
  // flag hands it to wait().
  void count_down() noexcept {
    if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      done_.store(true, std::memory_order_release);
      done_.notify_one();
    }
  }
  void wait() const noexcept { done_.wait(false, std::memory_order_acquire); }
  void signal() noexcept {
    done_.store(true, std::memory_order_release);
    done_.notify_one();
  }

 private:
  std::atomic<std::uint64_t> remaining_{0};
  std::atomic<bool> done_{false};
};

weft::RuntimeOptions bench_options(const benchmark::State& state,
                                   std::atomic<std::uint64_t>* reports) {
  weft::RuntimeOptions o;
  o.loops = static_cast<unsigned>(state.range(0));
  o.on_report = [reports](const weft::Report&) {
    reports->fetch_add(1, std::memory_order_relaxed);
  };
  return o;
}

void report_common(benchmark::State& state, std::uint64_t ops_per_iteration,
                   const std::atomic<std::uint64_t>& reports) {
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * ops_per_iteration));
  state.counters["reports"] = static_cast<double>(reports.load());
}

void report_heap(benchmark::State& state, const HeapSnapshot& before, std::uint64_t spawns) {
  if (!kCountHeap) return;
  const HeapSnapshot after;
  const double n = static_cast<double>(spawns * state.iterations());
  state.counters["heap_bytes_per_spawn"] = static_cast<double>(after.bytes - before.bytes) / n;
  state.counters["heap_allocs_per_spawn"] = static_cast<double>(after.calls - before.calls) / n;
}

// --- spawn_many: one driver spawns 1M tasks that each bump a shared counter ------------------

constexpr std::uint64_t kSpawnMany = 1'000'000;

Task<void> bump(Done* done) {
  done->count_down();
  co_return;
}

Task<void> spawn_many_driver(Done* done) {
  for (std::uint64_t i = 0; i < kSpawnMany; ++i) weft::spawn(bump(done)).detach();
  co_return;
}

void BM_spawn_many(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  Done done;
  // One untimed round fills the frame pools, as the timed rounds find them.
  done.reset(kSpawnMany);
  rt.block_on(spawn_many_driver(&done));
  done.wait();
  const HeapSnapshot before;
  for (auto _ : state) {
    done.reset(kSpawnMany);
    rt.block_on(spawn_many_driver(&done));
    done.wait();
  }
  report_heap(state, before, kSpawnMany);
  report_common(state, kSpawnMany, reports);
}
BENCHMARK(BM_spawn_many)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- yield_many: 200 tasks each yield 1,000 times ------------------------------------------

constexpr std::uint64_t kYieldTasks = 200;
constexpr std::uint64_t kYieldsPerTask = 1000;

Task<void> yielder(Done* done) {
  for (std::uint64_t i = 0; i < kYieldsPerTask; ++i) co_await weft::yield();
  done->count_down();
}

Task<void> yield_many_driver(Done* done) {
  for (std::uint64_t i = 0; i < kYieldTasks; ++i) weft::spawn(yielder(done)).detach();
  co_return;
}

void BM_yield_many(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  Done done;
  for (auto _ : state) {
    done.reset(kYieldTasks);
    rt.block_on(yield_many_driver(&done));
    done.wait();
  }
  report_common(state, kYieldTasks * kYieldsPerTask, reports);
}
BENCHMARK(BM_yield_many)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- chained_spawn: each task spawns the next, depth 1M -------------------------------------

constexpr std::uint64_t kChainDepth = 1'000'000;

Task<void> chain(Done* done, std::uint64_t left) {
  if (left == 0) {
    done->signal();
  } else {
    weft::spawn(chain(done, left - 1)).detach();
  }
  co_return;
}

void BM_chained_spawn(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  Done done;
  const HeapSnapshot before;
  for (auto _ : state) {
    done.reset(1);
    rt.block_on(chain(&done, kChainDepth));
    done.wait();
  }
  report_heap(state, before, kChainDepth);
  report_common(state, kChainDepth, reports);
}
BENCHMARK(BM_chained_spawn)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- spawn_join: spawn a task and await its JoinHandle, one at a time ----------------------

constexpr std::uint64_t kSpawnJoin = 100'000;

Task<std::uint64_t> value(std::uint64_t v) { co_return v; }

Task<std::uint64_t> spawn_join_driver() {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < kSpawnJoin; ++i) sum += co_await weft::spawn(value(i));
  co_return sum;
}

void BM_spawn_join(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(spawn_join_driver()));
  report_common(state, kSpawnJoin, reports);
}
BENCHMARK(BM_spawn_join)
    ->ArgName("loops")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// --- await_task: co_await of a child Task (no spawn): the cost of a coroutine call ----------

constexpr std::uint64_t kAwaits = 1'000'000;

Task<std::uint64_t> child(std::uint64_t v) { co_return v + 1; }

Task<std::uint64_t> await_driver() {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < kAwaits; ++i) sum += co_await child(i);
  co_return sum;
}

void BM_await_task(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  for (auto _ : state) benchmark::DoNotOptimize(rt.block_on(await_driver()));
  report_common(state, kAwaits, reports);
}
BENCHMARK(BM_await_task)->ArgName("loops")->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// --- idle: CPU used by a runtime with nothing to do ----------------------------------------

std::chrono::microseconds process_cpu() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return std::chrono::seconds(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         std::chrono::microseconds(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

Task<void> nothing() { co_return; }

// One iteration = one second of an idle runtime; reports CPU microseconds per second.
void BM_idle_runtime(benchmark::State& state) {
  std::atomic<std::uint64_t> reports{0};
  weft::Runtime rt(bench_options(state, &reports));
  rt.block_on(nothing());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the loops park
  std::chrono::microseconds cpu{0};
  for (auto _ : state) {
    const auto before = process_cpu();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    cpu += process_cpu() - before;
  }
  state.counters["cpu_us_per_s"] =
      static_cast<double>(cpu.count()) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_idle_runtime)
    ->ArgName("loops")
    ->Arg(2)
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

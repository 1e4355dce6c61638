#include <benchmark/benchmark.h>

#include <weft/weft.hpp>

// Placeholder until the scheduler benchmarks land.
static void BM_placeholder(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(0);
}
BENCHMARK(BM_placeholder);

BENCHMARK_MAIN();

// How long a task dump takes (weft/task_dump.hpp): Runtime::dump() from a thread outside the
// runtime, with N live tasks parked on one Event, spread over the loops. The dump walks each
// loop's registry (taking a reference to every task), reads each task's state and wait note,
// arranges the tree, and TaskDump::text() formats it; the two are timed apart.
//
//   build/release/bench/weft_bench_task_dump

#include <benchmark/benchmark.h>

#include <cstddef>
#include <string>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/task_dump.hpp>
#include <weft/weft.hpp>

namespace {

weft::Task<void> park(weft::Event& event) { co_await event.wait(); }

weft::Task<void> spawn_all(std::size_t n, weft::Event& event,
                           std::vector<weft::JoinHandle<void>>& handles) {
  handles.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    handles.push_back(weft::spawn(park(event), {.name = "parked"}));
  co_return;
}

// A runtime of `loops` loops with `tasks` tasks parked on an Event until the end.
class ParkedTasks {
 public:
  ParkedTasks(unsigned loops, std::size_t tasks) : runtime_({.loops = loops}) {
    // Spawned by a task, as a server's tasks are: they are in a loop's registry.
    runtime_.block_on(spawn_all(tasks, event_, handles_));
    // Every task has reached its wait once a dump lists them all as waiting.
    for (;;) {
      const weft::TaskDump dump = runtime_.dump();
      std::size_t waiting = 0;
      for (const weft::TaskSnapshot& t : dump.tasks)
        if (t.state == weft::TaskSnapshot::State::waiting) ++waiting;
      if (waiting == tasks) break;
    }
  }
  ~ParkedTasks() {
    event_.set();
    runtime_.block_on([](std::vector<weft::JoinHandle<void>>& hs) -> weft::Task<void> {
      for (auto& h : hs) co_await h;
    }(handles_));
  }
  weft::Runtime& runtime() { return runtime_; }

 private:
  weft::Runtime runtime_;
  weft::Event event_;
  std::vector<weft::JoinHandle<void>> handles_;
};

void BM_dump(benchmark::State& state) {
  ParkedTasks parked(2, static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    weft::TaskDump dump = parked.runtime().dump();
    benchmark::DoNotOptimize(dump.tasks.data());
  }
  state.counters["tasks"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_dump)->ArgName("tasks")->Arg(1000)->Arg(100000)->UseRealTime()->Unit(
    benchmark::kMillisecond);

void BM_dump_text(benchmark::State& state) {
  ParkedTasks parked(2, static_cast<std::size_t>(state.range(0)));
  const weft::TaskDump dump = parked.runtime().dump();
  for (auto _ : state) {
    std::string text = dump.text();
    benchmark::DoNotOptimize(text.data());
  }
}
BENCHMARK(BM_dump_text)
    ->ArgName("tasks")
    ->Arg(100000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

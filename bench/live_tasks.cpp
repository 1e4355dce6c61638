// weft-live-tasks: the memory one live spawned task costs, beside Tokio's (the same shape
// in bench/tokio_baseline/src/bin/tokio_live_tasks.rs; scripts/bench-live-tasks runs both).
//
//   weft-live-tasks [N]     (default 1,000,000)
//
// One loop spawns N tasks that each wait on one shared weft::Event, yields until every one
// of them has started and is parked on the event, and reads the process's resident memory
// (VmRSS) before the first spawn and at that point: the difference over N is what a live,
// waiting task costs, header, frame, waiter and the pool's slack included. Then it sets the
// event and lets them all finish. Prints one line: "weft live_tasks N bytes_per_task".

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <weft/event.hpp>
#include <weft/weft.hpp>

namespace {

long long resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "VmRSS:") {
      long long kib = 0;
      status >> kib;
      return kib * 1024;
    }
    status.ignore(1 << 12, '\n');
  }
  return -1;
}

weft::Task<void> waiter(weft::Event* gate, std::uint64_t* started) {
  ++*started;
  co_await gate->wait();
}

weft::Task<double> measure(std::uint64_t n) {
  weft::Event gate;
  std::uint64_t started = 0;
  const long long before = resident_bytes();
  for (std::uint64_t i = 0; i < n; ++i) weft::spawn(waiter(&gate, &started)).detach();
  while (started < n) co_await weft::yield();
  const long long during = resident_bytes();
  gate.set();
  co_await weft::yield();
  co_return static_cast<double>(during - before) / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  weft::RuntimeOptions options;
  options.loops = 1;
  options.stall_threshold = {};  // spawning a million tasks in one run is the point here
  const double per_task = weft::run(measure(n), options);
  std::printf("weft live_tasks %llu %.0f\n", static_cast<unsigned long long>(n), per_task);
  return 0;
}

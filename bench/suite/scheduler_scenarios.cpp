// The scheduler scenarios: the runtime's own costs with no I/O. The shapes are the ones
// Tokio's rt_multi_threaded benchmarks use (bench/scheduler_bench.cpp has them as
// micro-benchmarks), sized so one round takes about 0.1-0.3 s on a 2-core VM, plus
// ping-pong over Queues in many independent pairs, so more loops have something to share.
//
// What each shows about scaling:
// - spawn storm: one driver spawns every task, so the others only get work by stealing it
//   (BM_spawn_many's shape, and Tokio's spawn_many in bench/tokio_baseline);
// - yield storm: many tasks that each yield often: the local queues and the LIFO slot;
// - chained spawn: each task spawns the next; a strictly serial chain, so N loops cannot
//   beat one and the figure shows what hand-offs between loops cost;
// - ping-pong: pairs of tasks bouncing a value over two Queues of capacity 1: wake-ups.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/gather.hpp>
#include <weft/queue.hpp>
#include <weft/weft.hpp>

#include "in_process.hpp"
#include "scenario.hpp"

namespace weft::bench {
namespace {

// --- spawn storm -------------------------------------------------------------------------

Task<void> bump(Countdown* done) {
  done->count_down();
  co_return;
}

Task<void> spawn_storm_driver(Countdown* done, std::uint64_t tasks) {
  for (std::uint64_t i = 0; i < tasks; ++i) spawn(bump(done)).detach();
  co_return;
}

// --- yield storm -------------------------------------------------------------------------

Task<void> yielder(Countdown* done, std::uint64_t yields) {
  for (std::uint64_t i = 0; i < yields; ++i) co_await yield();
  done->count_down();
}

Task<void> yield_storm_driver(Countdown* done, std::uint64_t tasks, std::uint64_t yields) {
  for (std::uint64_t i = 0; i < tasks; ++i) spawn(yielder(done, yields)).detach();
  co_return;
}

// --- chained spawn -----------------------------------------------------------------------

Task<void> chain_link(Countdown* done, std::uint64_t left) {
  if (left == 0) {
    done->count_down();
  } else {
    spawn(chain_link(done, left - 1)).detach();
  }
  co_return;
}

// --- ping-pong ---------------------------------------------------------------------------

Task<void> ponger(Queue<std::uint64_t>* in, Queue<std::uint64_t>* out, std::uint64_t trips) {
  for (std::uint64_t i = 0; i < trips; ++i) co_await out->push(co_await in->pop());
}

Task<std::uint64_t> pinger(std::uint64_t trips) {
  Queue<std::uint64_t> there(1);
  Queue<std::uint64_t> back(1);
  auto pong = spawn(ponger(&there, &back, trips));
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < trips; ++i) {
    co_await there.push(i);
    sum += co_await back.pop();
  }
  co_await pong;
  co_return sum;
}

Task<std::uint64_t> ping_pong_driver(std::uint64_t pairs, std::uint64_t trips) {
  std::vector<Task<std::uint64_t>> all;
  all.reserve(pairs);
  for (std::uint64_t i = 0; i < pairs; ++i) all.push_back(pinger(trips));
  std::uint64_t total = 0;
  for (std::uint64_t sum : co_await gather(std::move(all))) total += sum;
  co_return total;
}

}  // namespace

void add_scheduler_scenarios(std::vector<Scenario>& out) {
  out.push_back({
      .id = "scheduler/spawn_storm",
      .group = "scheduler",
      .title = "spawn storm",
      .unit = "tasks/s",
      .size = "1,000,000 tasks spawned by one task",
      .verbose_extras = runtime_extras(),
      .run =
          [](const RunConfig& config) {
            const std::uint64_t tasks = config.quick ? 20'000 : 1'000'000;
            return measure_rounds(config, [tasks](Runtime& rt) {
              Countdown done(tasks);
              rt.block_on(spawn_storm_driver(&done, tasks));
              done.wait();
              return tasks;
            });
          },
  });
  out.push_back({
      .id = "scheduler/yield_storm",
      .group = "scheduler",
      .title = "yield storm",
      .unit = "yields/s",
      .size = "1,000 tasks x 5,000 yields",
      .verbose_extras = runtime_extras(),
      .run =
          [](const RunConfig& config) {
            const std::uint64_t tasks = config.quick ? 100 : 1'000;
            const std::uint64_t yields = config.quick ? 200 : 5'000;
            return measure_rounds(config, [tasks, yields](Runtime& rt) {
              Countdown done(tasks);
              rt.block_on(yield_storm_driver(&done, tasks, yields));
              done.wait();
              return tasks * yields;
            });
          },
  });
  out.push_back({
      .id = "scheduler/chained_spawn",
      .group = "scheduler",
      .title = "chained spawn",
      .unit = "tasks/s",
      .size = "a chain of 2,000,000 tasks, each spawning the next",
      .verbose_extras = runtime_extras(),
      .run =
          [](const RunConfig& config) {
            const std::uint64_t depth = config.quick ? 20'000 : 2'000'000;
            return measure_rounds(config, [depth](Runtime& rt) {
              Countdown done(1);
              rt.block_on(chain_link(&done, depth));
              done.wait();
              return depth;
            });
          },
  });
  out.push_back({
      .id = "scheduler/ping_pong",
      .group = "scheduler",
      .title = "ping-pong over Queues",
      .unit = "round trips/s",
      .size = "64 pairs x 20,000 round trips over two Queue(1)",
      .verbose_extras = runtime_extras(),
      .run =
          [](const RunConfig& config) {
            const std::uint64_t pairs = config.quick ? 8 : 64;
            const std::uint64_t trips = config.quick ? 500 : 20'000;
            return measure_rounds(config, [pairs, trips](Runtime& rt) {
              const std::uint64_t sum = rt.block_on(ping_pong_driver(pairs, trips));
              // Each pair sums 0..trips-1: a lost or duplicated message changes it.
              if (sum != pairs * (trips * (trips - 1) / 2))
                throw std::runtime_error("ping-pong lost a message");
              return pairs * trips;
            });
          },
  });
}

}  // namespace weft::bench

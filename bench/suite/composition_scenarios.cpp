// The composition scenarios: what the algorithms layer adds on top of the scheduler.
//
// - gather fan-out and TaskGroup fan-out: a driver fans out 1,000 children and joins them,
//   20 times. Each child does ~10 µs of arithmetic (about what parsing a small message costs),
//   more than moving a task to another core costs (~1-2 µs on the 2-core VM), so the figure
//   shows whether the loops share real work; spawn storm already measures bare spawns.
// - Queue MPMC: 4 producers and 4 consumers over one bounded Queue: contention on the
//   queue's lock and the wake-ups of waiting poppers and pushers (BM_queue_mpmc's shape).
// - wait_for, work ready / work yields once: one task makes wait_for calls in a row with a
//   deadline that never passes, on work that is ready at once or that yields once first
//   (BM_wait_for_overhead and BM_wait_for_yield; bench/tokio_baseline has both on Tokio's
//   timeout). What a time limit costs when it does not fire: a strictly serial chain of
//   calls, so more loops can only add hand-offs.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/gather.hpp>
#include <weft/queue.hpp>
#include <weft/task_group.hpp>
#include <weft/wait_for.hpp>
#include <weft/weft.hpp>

#include "in_process.hpp"
#include "scenario.hpp"

namespace weft::bench {
namespace {

using namespace std::chrono_literals;

// ~10 µs on the 2-core VM this was sized on (4,096 dependent xorshift steps of ~2.3 ns); the
// compiler cannot fold it because the seed comes from the caller.
std::uint64_t child_work(std::uint64_t seed) noexcept {
  std::uint64_t x = seed | 1;
  for (int i = 0; i < 4096; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

Task<std::uint64_t> child(std::uint64_t seed) { co_return child_work(seed); }

Task<std::uint64_t> gather_driver(std::uint64_t rounds, std::uint64_t fan_out) {
  std::uint64_t checksum = 0;
  for (std::uint64_t r = 0; r < rounds; ++r) {
    std::vector<Task<std::uint64_t>> children;
    children.reserve(fan_out);
    for (std::uint64_t i = 0; i < fan_out; ++i) children.push_back(child(r * fan_out + i));
    for (std::uint64_t v : co_await gather(std::move(children))) checksum ^= v;
  }
  co_return checksum;
}

Task<void> group_child(std::uint64_t seed, std::uint64_t* slot) {
  *slot = child_work(seed);
  co_return;
}

Task<std::uint64_t> task_group_driver(std::uint64_t rounds, std::uint64_t fan_out) {
  std::uint64_t checksum = 0;
  std::vector<std::uint64_t> slots(fan_out);
  for (std::uint64_t r = 0; r < rounds; ++r) {
    co_await with_task_group([&](TaskGroup& group) -> Task<void> {
      for (std::uint64_t i = 0; i < fan_out; ++i)
        group.spawn(group_child(r * fan_out + i, &slots[i]));
      co_return;
    });
    for (std::uint64_t v : slots) checksum ^= v;
  }
  co_return checksum;
}

// The same children computed inline, to check both drivers did every child exactly once.
std::uint64_t expected_checksum(std::uint64_t rounds, std::uint64_t fan_out) {
  std::uint64_t checksum = 0;
  for (std::uint64_t i = 0; i < rounds * fan_out; ++i) checksum ^= child_work(i);
  return checksum;
}

// --- Queue MPMC ----------------------------------------------------------------------------

Task<void> producer(Queue<std::uint64_t>* q, std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t i = first; i < first + count; ++i) co_await q->push(i);
}

Task<std::uint64_t> consumer(Queue<std::uint64_t>* q) {
  std::uint64_t sum = 0;
  try {
    for (;;) sum += co_await q->pop();
  } catch (const QueueClosed&) {
    // Closed after the last push and drained: the normal end.
  }
  co_return sum;
}

Task<std::uint64_t> mpmc_driver(std::uint64_t producers, std::uint64_t consumers,
                                std::uint64_t per_producer, std::size_t capacity) {
  Queue<std::uint64_t> q(capacity);
  std::vector<Task<std::uint64_t>> readers;
  for (std::uint64_t c = 0; c < consumers; ++c) readers.push_back(consumer(&q));
  auto reading = spawn(gather(std::move(readers)));
  std::vector<Task<void>> writers;
  for (std::uint64_t p = 0; p < producers; ++p)
    writers.push_back(producer(&q, p * per_producer, per_producer));
  co_await gather(std::move(writers));
  q.close();
  std::uint64_t total = 0;
  for (std::uint64_t sum : co_await reading) total += sum;
  co_return total;
}

// --- wait_for ------------------------------------------------------------------------------

Task<std::uint64_t> ready_work(std::uint64_t i) { co_return i; }

// Suspends once, so wait_for sees work that has not finished yet.
Task<std::uint64_t> yielding_work(std::uint64_t i) {
  co_await yield();
  co_return i;
}

using Work = Task<std::uint64_t> (*)(std::uint64_t);

Task<std::uint64_t> wait_for_driver(Work work, std::uint64_t calls) {
  std::uint64_t sum = 0;
  for (std::uint64_t i = 0; i < calls; ++i) sum += co_await wait_for(work(i), 10s);
  co_return sum;
}

// `full_calls` is sized so a round takes ~0.1 s on the 2-core VM at 1 loop.
Scenario::Run wait_for_run(Work work, std::uint64_t full_calls) {
  return [work, full_calls](const RunConfig& config) {
    const std::uint64_t calls = config.quick ? 500 : full_calls;
    return measure_rounds(config, [=](Runtime& rt) {
      // Each call returns its index: a lost or repeated result changes the sum.
      if (rt.block_on(wait_for_driver(work, calls)) != calls * (calls - 1) / 2)
        throw std::runtime_error("wait_for returned a wrong value");
      return calls;
    });
  };
}

template <class Driver>
Scenario::Run fan_out_run(Driver driver) {
  return [driver](const RunConfig& config) {
    const std::uint64_t rounds = config.quick ? 2 : 20;
    const std::uint64_t fan_out = config.quick ? 200 : 1'000;
    const std::uint64_t expected = expected_checksum(rounds, fan_out);
    return measure_rounds(config, [=](Runtime& rt) {
      if (rt.block_on(driver(rounds, fan_out)) != expected)
        throw std::runtime_error("a child was lost or ran twice");
      return rounds * fan_out;
    });
  };
}

}  // namespace

void add_composition_scenarios(std::vector<Scenario>& out) {
  out.push_back({
      .id = "composition/gather_fan_out",
      .group = "composition",
      .title = "gather fan-out",
      .unit = "children/s",
      .size = "20 x gather of 1,000 children (~10 us of work each)",
      .verbose_extras = runtime_extras(),
      .run = fan_out_run(gather_driver),
  });
  out.push_back({
      .id = "composition/task_group_fan_out",
      .group = "composition",
      .title = "TaskGroup fan-out",
      .unit = "children/s",
      .size = "20 x TaskGroup of 1,000 children (~10 us of work each)",
      .verbose_extras = runtime_extras(),
      .run = fan_out_run(task_group_driver),
  });
  out.push_back({
      .id = "composition/queue_mpmc",
      .group = "composition",
      .title = "Queue MPMC 4x4",
      .unit = "msgs/s",
      .size = "4 producers x 250,000 msgs, 4 consumers, Queue(1024)",
      .verbose_extras = runtime_extras(),
      .run =
          [](const RunConfig& config) {
            const std::uint64_t per_producer = config.quick ? 5'000 : 250'000;
            const std::uint64_t n = 4 * per_producer;
            return measure_rounds(config, [=](Runtime& rt) {
              // Every value 0..n-1 pushed once: the consumers' sums must add up to n(n-1)/2.
              if (rt.block_on(mpmc_driver(4, 4, per_producer, 1024)) != n * (n - 1) / 2)
                throw std::runtime_error("the queue lost or duplicated a message");
              return n;
            });
          },
  });
  out.push_back({
      .id = "composition/wait_for_overhead",
      .group = "composition",
      .title = "wait_for, work ready",
      .unit = "calls/s",
      .size = "100,000 wait_for(10 s) in a row, work ready at once",
      .verbose_extras = runtime_extras(),
      .run = wait_for_run(ready_work, 100'000),
  });
  out.push_back({
      .id = "composition/wait_for_yield",
      .group = "composition",
      .title = "wait_for, work yields once",
      .unit = "calls/s",
      .size = "30,000 wait_for(10 s) in a row, work yields once",
      .verbose_extras = runtime_extras(),
      .run = wait_for_run(yielding_work, 30'000),
  });
}

}  // namespace weft::bench

// weft::Queue under load across 2 loops: every item is delivered exactly once and each
// consumer sees each producer's items in the order they were pushed — with a queue bounded
// at 1, and with producers and consumers being cancelled at random all along.
//
// Sizes: docs/reliability.md's full size is 8 producers x 100k items; WEFT_STRESS_SCALE shrinks
// them for sanitizer runs.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <random>
#include <string>
#include <vector>
#include <weft/queue.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::JoinHandle;
using weft::Queue;
using weft::QueueClosed;
using weft::Task;
using weft::test::join_all;

// Of the parameter's type: no conversion inside a co_await (g++ 12 mishandles temporaries).
constexpr std::chrono::steady_clock::duration kStressDeadline = 120s;

std::uint64_t item(std::uint64_t producer, std::uint64_t seq) { return producer << 32 | seq; }
std::uint64_t producer_of(std::uint64_t v) { return v >> 32; }
std::uint64_t seq_of(std::uint64_t v) { return v & 0xffffffffu; }

// What one consumer received, in order. Written only by that consumer's task.
struct Received {
  std::vector<std::uint64_t> items;
};

// Every item exactly once, and (if `ordered`) within each consumer each producer's items in
// push order.
void check(const std::vector<Received>& consumers, std::size_t producers, std::size_t per,
           bool ordered) {
  std::vector<std::vector<std::uint8_t>> seen(producers, std::vector<std::uint8_t>(per, 0));
  std::size_t total = 0;
  for (std::size_t c = 0; c < consumers.size(); ++c) {
    std::vector<std::int64_t> last(producers, -1);
    for (std::uint64_t v : consumers[c].items) {
      const std::uint64_t p = producer_of(v), s = seq_of(v);
      ASSERT_LT(p, producers);
      ASSERT_LT(s, per);
      ASSERT_EQ(seen[p][s], 0) << "item " << p << "/" << s << " delivered twice";
      seen[p][s] = 1;
      if (ordered) {
        ASSERT_GT(static_cast<std::int64_t>(s), last[p])
            << "consumer " << c << " saw producer " << p << "'s items out of order";
      }
      last[p] = static_cast<std::int64_t>(s);
      ++total;
    }
  }
  ASSERT_EQ(total, producers * per) << "items lost";
}

Task<void> produce(Queue<std::uint64_t>* q, std::uint64_t producer, std::size_t per) {
  for (std::uint64_t s = 0; s < per; ++s) co_await q->push(item(producer, s));
}

Task<void> consume(Queue<std::uint64_t>* q, Received* out) {
  try {
    for (;;) out->items.push_back(co_await q->pop());
  } catch (const QueueClosed&) {
  }
}

TEST(QueueStress, BoundedAtOneManyProducersAndConsumers) {
  constexpr std::size_t kProducers = 8, kConsumers = 8;
  const std::size_t per = weft::test::scaled(100'000, 1'000);
  Queue<std::uint64_t> q(1);
  std::vector<Received> received(kConsumers);
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<void>> consumers, producers;
    for (std::size_t c = 0; c < kConsumers; ++c) {
      consumers.push_back(weft::spawn(consume(&q, &received[c])));
    }
    for (std::size_t p = 0; p < kProducers; ++p)
      producers.push_back(weft::spawn(produce(&q, p, per)));
    const bool produced = co_await join_all(producers, kStressDeadline);
    q.close();  // the consumers drain what is left, then end
    if (!produced) {
      for (auto& c : consumers) c.cancel();
    }
    co_await join_all(consumers, kStressDeadline);
  };
  const auto start = std::chrono::steady_clock::now();
  weft::run(body(), weft::test::options(2));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  check(received, kProducers, per, true);
  std::printf("%zu items through a Queue(1) in %.2f s\n", kProducers * per, s);
}

// Producers and consumers catch CancelledError and carry on (a producer retries the same
// item), while a chaos task cancels them at random: a cancelled push pushed nothing, a
// cancelled pop lost nothing, nothing arrives twice.
TEST(QueueStress, RandomCancelsLoseAndDuplicateNothing) {
  constexpr std::size_t kProducers = 4, kConsumers = 4;
  const std::size_t per = weft::test::scaled(50'000, 1'000);
  Queue<std::uint64_t> q(2);
  std::vector<Received> received(kConsumers);
  std::atomic<std::size_t> push_cancels{0}, pop_cancels{0};
  std::atomic<bool> producing{true};
  // The chaos starts once every task runs: a task cancelled before its first run never runs
  // (asyncio's rule), and a producer that never ran would lose its items by design.
  std::atomic<std::size_t> started{0};

  auto producer = [&](std::uint64_t p) -> Task<void> {
    started.fetch_add(1, std::memory_order_relaxed);
    for (std::uint64_t s = 0; s < per;) {
      try {
        co_await q.push(item(p, s));
        ++s;
      } catch (const CancelledError&) {
        push_cancels.fetch_add(1, std::memory_order_relaxed);
      }
    }
  };
  auto consumer = [&](Received* out) -> Task<void> {
    started.fetch_add(1, std::memory_order_relaxed);
    for (;;) {
      try {
        out->items.push_back(co_await q.pop());
      } catch (const CancelledError&) {
        pop_cancels.fetch_add(1, std::memory_order_relaxed);
      } catch (const QueueClosed&) {
        co_return;
      }
    }
  };
  // A named closure: the coroutine refers to its captures through it, so it must outlive
  // the task.
  std::vector<JoinHandle<void>> consumers, producers;
  auto chaos_monkey = [&]() -> Task<void> {
    std::mt19937 rng(17);
    while (started.load(std::memory_order_relaxed) < kProducers + kConsumers)
      co_await weft::yield();
    while (producing.load()) {
      const std::size_t victim = rng() % (kProducers + kConsumers);
      if (victim < kProducers) {
        producers[victim].cancel();
      } else {
        consumers[victim - kProducers].cancel();
      }
      for (unsigned i = rng() % 4; i > 0; --i) co_await weft::yield();
      co_await weft::yield();
    }
  };
  auto body = [&]() -> Task<void> {
    for (std::size_t c = 0; c < kConsumers; ++c)
      consumers.push_back(weft::spawn(consumer(&received[c])));
    for (std::size_t p = 0; p < kProducers; ++p) producers.push_back(weft::spawn(producer(p)));
    auto chaos = weft::spawn(chaos_monkey());
    // Every task catches each cancel delivered at a suspension, and one that comes after a
    // task's last suspension leaves its ending alone: every join succeeds.
    const bool produced = co_await join_all(producers, kStressDeadline);
    producing.store(false);
    co_await chaos;
    q.close();
    if (!produced) {
      for (auto& c : consumers) c.cancel();
    }
    co_await join_all(consumers, kStressDeadline);
  };
  weft::run(body(), weft::test::options(2));
  // Not `ordered`: a popper handed item n and cancelled before it runs gives n back to the
  // front, possibly after another popper already took n+1 (queue.hpp).
  check(received, kProducers, per, false);
  EXPECT_GT(push_cancels.load() + pop_cancels.load(), 0u) << "nothing was cancelled";
  std::printf("cancelled pushes: %zu, cancelled pops: %zu\n", push_cancels.load(),
              pop_cancels.load());
}

}  // namespace

// The asyncio tutorial's producer-consumer with asyncio.Queue, twice: one producer and one
// consumer on one loop, then several producers and consumers spread over several loops
// (threads) sharing one weft::Queue. Closing the queue ends the consumers: they drain what
// is left, then pop() throws weft::QueueClosed (asyncio has Queue.shutdown() since 3.13;
// before that the tutorial sent one sentinel per consumer).
//
// Look at: every item is delivered exactly once, also with consumers on different loops
// popping at the same time; the bounded queue (capacity 4) makes fast producers wait for
// the consumers instead of piling items up.
//
// Prints (second part, at 2 loops):
//   produced: 300 items (3 producers), sum 44850
//   consumer 0: 77 items, sum 11390, ran on loops 0 1
//   ...
//   consumed: 300 items, sum 44850; delivered exactly once: 300 of 300

#include <atomic>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <vector>
#include <weft/algorithms.hpp>
#include <weft/loop_info.hpp>
#include <weft/weft.hpp>

#include "tutorial_time.hpp"

using namespace std::chrono_literals;

// --- one producer, one consumer ------------------------------------------------------------

// Pushes first, first + 1, ... (count items); returns their sum, for the final tally.
weft::Task<long> produce(weft::Queue<int>& queue, int first, int count) {
  long sum = 0;
  for (int item = first; item < first + count; ++item) {
    co_await weft::sleep(tutorial::scaled(0.01s));  // making an item takes a moment
    co_await queue.push(item);                      // waits while the queue is full
    sum += item;
  }
  co_return sum;
}

weft::Task<void> one_to_one() {
  weft::Queue<int> queue(4);
  auto producer = weft::spawn(produce(queue, 1, 10));
  auto consumer = weft::spawn([](weft::Queue<int>& q) -> weft::Task<long> {
    long sum = 0;
    try {
      for (;;) {
        const int item = co_await q.pop();
        std::printf("consumed %d\n", item);
        sum += item;
      }
    } catch (const weft::QueueClosed&) {
      std::puts("queue closed: the consumer stops");
    }
    co_return sum;
  }(queue));
  const long produced = co_await producer;
  queue.close();  // the consumer takes what is left, then sees QueueClosed
  const long consumed = co_await consumer;
  std::printf("produced: sum %ld; consumed: sum %ld\n", produced, consumed);
}

// --- several producers and consumers on several loops ----------------------------------------

struct Tally {
  int items = 0;
  long sum = 0;
  std::set<unsigned> loops;  // where it was after each pop: a task moves between loops
};

weft::Task<Tally> consume(weft::Queue<int>& queue, std::vector<std::atomic<int>>& deliveries) {
  Tally tally;
  try {
    for (;;) {
      const int item = co_await queue.pop();
      // Relaxed: the counts are read only after every consumer was joined, which orders them.
      deliveries[item].fetch_add(1, std::memory_order_relaxed);
      ++tally.items;
      tally.sum += item;
      tally.loops.insert(weft::current_loop_index());
      co_await weft::sleep(tutorial::scaled(0.01s));  // handling an item takes a moment
    }
  } catch (const weft::QueueClosed&) {
  }
  co_return tally;
}

weft::Task<void> many_to_many() {
  constexpr int kProducers = 3, kConsumers = 4, kPerProducer = 100;
  constexpr int kItems = kProducers * kPerProducer;
  std::vector<std::atomic<int>> deliveries(kItems);
  weft::Queue<int> queue(4);

  std::vector<weft::Task<Tally>> consumers;
  for (int c = 0; c < kConsumers; ++c) consumers.push_back(consume(queue, deliveries));
  auto consuming = weft::spawn(weft::gather(std::move(consumers)));

  std::vector<weft::Task<long>> producers;
  for (int p = 0; p < kProducers; ++p)
    producers.push_back(produce(queue, p * kPerProducer, kPerProducer));
  long produced = 0;
  for (long sum : co_await weft::gather(std::move(producers))) produced += sum;
  std::printf("produced: %d items (%d producers), sum %ld\n", kItems, kProducers, produced);
  queue.close();  // the consumers drain what is left, then see QueueClosed

  int items = 0, exactly_once = 0;
  long sum = 0;
  const std::vector<Tally> tallies = co_await consuming;
  for (std::size_t c = 0; c < tallies.size(); ++c) {
    std::string loops;
    for (unsigned loop : tallies[c].loops) loops += " " + std::to_string(loop);
    std::printf("consumer %zu: %d items, sum %ld, ran on loops%s\n", c, tallies[c].items,
                tallies[c].sum, loops.c_str());
    items += tallies[c].items;
    sum += tallies[c].sum;
  }
  for (const auto& count : deliveries) exactly_once += count.load() == 1 ? 1 : 0;
  std::printf("consumed: %d items, sum %ld; delivered exactly once: %d of %d\n", items, sum,
              exactly_once, kItems);
}

int main() {
  std::puts("--- one producer, one consumer (1 loop)");
  weft::run(one_to_one(), {.loops = 1});
  std::puts("--- 3 producers, 4 consumers (2 loops)");
  weft::run(many_to_many(), {.loops = 2});
}

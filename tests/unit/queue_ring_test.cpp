// weft::Queue's FIFO bounded queue runs on a lock-free ring (queue.hpp): its hand-over
// between the ring and the waiters parked under the mutex. The queue rules through the ring
// (a given-back item in front of the ring's, join() counting pushes that never took the
// mutex, more woken pushers than the ring can reserve for, the mutex path past the ring's
// capacity limit), then seeded stresses across 2 loops at capacities 1, 2 and 3: every item
// exactly once, each producer's items in order, no size beyond the capacity, with waiters
// cancelled at random, and a shutdown(immediate) landing among pushes in flight.

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include <weft/queue.hpp>

#include "expect_soon.hpp"
#include "test_support.hpp"

namespace {

using weft::CancelledError;
using weft::JoinHandle;
using weft::Queue;
using weft::QueueShutDown;
using weft::Task;
using weft::test::Counted;
using weft::test::join_all;

// Of the parameter's type: no conversion inside a co_await (g++ 12 mishandles temporaries).
constexpr std::chrono::steady_clock::duration kStressDeadline = std::chrono::seconds(120);
constexpr std::chrono::steady_clock::duration kDeadline = weft::test::kDeadline;

template <class T>
Task<T> pop_one(Queue<T>* q) {
  co_return co_await q->pop();
}
template <class T>
Task<void> push_one(Queue<T>* q, T v) {
  co_await q->push(std::move(v));
}

// One loop: each spawned task reaches its wait before the next starts.
TEST(QueueRing, AGivenBackItemComesOutBeforeTheRingsItems) {
  Queue<int> q(4);
  auto body = [&]() -> Task<void> {
    auto a = weft::spawn(pop_one(&q));
    co_await weft::yield();
    co_await q.push(1);  // to A, who has not run yet
    co_await q.push(2);  // into the ring
    co_await q.push(3);
    a.cancel();
    EXPECT_THROW(co_await a, CancelledError);
    EXPECT_EQ(q.size(), 3u);
    EXPECT_TRUE(q.try_push(4));
    EXPECT_FALSE(q.try_push(5)) << "the given-back item did not count against the capacity";
    for (int i = 1; i <= 4; ++i) EXPECT_EQ(q.try_pop(), std::optional<int>(i));
    EXPECT_TRUE(q.empty());
    co_await q.push(6);  // the ring works on after the stash emptied
    const int six = co_await q.pop();
    EXPECT_EQ(six, 6);
  };
  weft::run(body(), weft::test::options(1));
}

TEST(QueueRing, JoinCountsPushesThatNeverTookTheMutex) {
  Queue<int> q(8);
  auto body = [&]() -> Task<void> {
    for (int i = 0; i < 5; ++i) co_await q.push(i);
    EXPECT_EQ(q.unfinished(), 5u);
    auto joiner = weft::spawn([](Queue<int>* queue) -> Task<void> { co_await queue->join(); }(&q));
    for (int i = 0; i < 5; ++i) {
      const int v = co_await q.pop();
      EXPECT_EQ(v, i);
      EXPECT_FALSE(joiner.done());
      q.task_done();
    }
    const bool joined = co_await weft::test::finished_within(joiner, kDeadline);
    EXPECT_TRUE(joined);
    if (joined) co_await joiner;
    EXPECT_THROW(q.task_done(), std::logic_error);
  };
  weft::run(body(), weft::test::options(2));
}

// Pops free room for more woken pushers than the ring counts reservations for: those past
// the limit get theirs as the first ones push, still in their order.
TEST(QueueRing, MoreWokenPushersThanTheRingCanReserveForAllPushInOrder) {
  constexpr int kPushers = 300;  // > MpmcRing::kMaxReserved
  Queue<int> q(kPushers);
  auto body = [&]() -> Task<void> {
    for (int i = 0; i < kPushers; ++i) co_await q.push(i);
    std::vector<JoinHandle<void>> pushers;
    for (int i = 0; i < kPushers; ++i) {
      pushers.push_back(weft::spawn(push_one(&q, kPushers + i)));
      co_await weft::yield();
    }
    EXPECT_TRUE(q.full());
    for (int i = 0; i < kPushers; ++i) EXPECT_EQ(q.try_pop(), std::optional<int>(i));
    EXPECT_TRUE(q.full()) << "the freed room was not all promised to the waiting pushers";
    EXPECT_FALSE(q.try_push(-1)) << "a newcomer took room promised to a waiter";
    for (int i = 0; i < kPushers; ++i) {
      const int v = co_await q.pop();
      EXPECT_EQ(v, kPushers + i) << "the woken pushers' items out of order";
    }
    for (auto& p : pushers) co_await p;
    EXPECT_TRUE(q.empty());
  };
  weft::run(body(), weft::test::options(1));
}

// An item whose move can be held: a push into the ring claims its slot, moves the item in,
// then publishes it, so holding that move keeps a claimed slot unfinished for as long as a
// test needs. `hold`: 0, the next move waits; 1, a move is waiting; 2, released.
struct HeldItem {
  int value = 0;
  std::atomic<int>* hold = nullptr;
  HeldItem(int v, std::atomic<int>* h) noexcept : value(v), hold(h) {}
  HeldItem(HeldItem&& other) noexcept
      : value(other.value), hold(std::exchange(other.hold, nullptr)) {
    int armed = 0;
    if (hold != nullptr && hold->compare_exchange_strong(armed, 1)) {
      while (hold->load() != 2) std::this_thread::yield();
    }
  }
  HeldItem& operator=(HeldItem&&) = delete;
};

// A push claimed the head slot and has not stored its item; an item is published behind it;
// a popper parks, since the head is not ready. The next push must go behind the published
// item, not straight to the popper: each producer's items reach a consumer in push order.
TEST(QueueRing, APushUnderTheMutexDoesNotOvertakeItemsBehindAnUnfinishedPush) {
  Queue<HeldItem> q(4);
  std::atomic<int> hold{0};
  std::thread slow([&] { EXPECT_TRUE(q.try_push(HeldItem(100, &hold))); });
  while (hold.load() != 1) std::this_thread::yield();  // its slot claimed, its item not stored
  std::vector<int> got;
  bool waiting = false;
  auto consume = [](Queue<HeldItem>* queue, std::vector<int>* out, bool* started) -> Task<void> {
    *started = true;
    for (int i = 0; i < 3; ++i) {
      HeldItem item = co_await queue->pop();
      out->push_back(item.value);
    }
  };
  auto body = [&]() -> Task<void> {
    EXPECT_TRUE(q.try_push(HeldItem(1, nullptr)));  // behind the unfinished push
    auto consumer = weft::spawn(consume(&q, &got, &waiting));
    co_await weft::yield();  // one loop: the consumer runs to its wait
    EXPECT_TRUE(waiting);
    EXPECT_TRUE(got.empty()) << "a pop took an item the ring had not finished storing";
    EXPECT_TRUE(q.try_push(HeldItem(2, nullptr)));  // the popper waits: this takes the mutex
    hold.store(2);  // the slow push stores its item, sees the popper and hands on
    const bool done = co_await weft::test::finished_within(consumer, kDeadline);
    EXPECT_TRUE(done) << "the consumer was not woken";
    if (done) co_await consumer;
  };
  weft::run(body(), weft::test::options(1));
  hold.store(2);
  slow.join();
  EXPECT_EQ(got, (std::vector<int>{100, 1, 2}));
}

TEST(QueueRing, CapacitiesPastTheRingLimitKeepTheMutexPath) {
  constexpr std::size_t kCapacity = Queue<int>::kMaxRingCapacity + 1;
  Queue<int> q(kCapacity);
  for (std::size_t i = 0; i < kCapacity; ++i) ASSERT_TRUE(q.try_push(static_cast<int>(i)));
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(q.try_push(-1));
  for (std::size_t i = 0; i < kCapacity; ++i) {
    ASSERT_EQ(q.try_pop(), std::optional<int>(static_cast<int>(i)));
  }
}

// --- stresses across 2 loops ----------------------------------------------------------------

std::uint64_t item(std::uint64_t producer, std::uint64_t seq) { return producer << 32 | seq; }

struct Received {
  std::vector<std::uint64_t> items;  // in the order this consumer got them
};

// Every item once (`all`: every one pushed arrived); if `ordered`, each consumer saw each
// producer's items in push order.
void check(const std::vector<Received>& consumers, std::size_t producers, std::size_t per,
           bool ordered, bool all = true) {
  // Duplicates first, over every consumer: an item delivered twice shows as that, not as the
  // order broken where its second copy arrived.
  std::vector<std::vector<std::uint8_t>> seen(producers, std::vector<std::uint8_t>(per, 0));
  std::size_t total = 0;
  for (std::size_t c = 0; c < consumers.size(); ++c) {
    for (std::size_t i = 0; i < consumers[c].items.size(); ++i) {
      const std::uint64_t v = consumers[c].items[i];
      const std::uint64_t p = v >> 32, s = v & 0xffffffffu;
      ASSERT_LT(p, producers);
      ASSERT_LT(s, per);
      ASSERT_EQ(seen[p][s], 0) << "item " << p << "/" << s << " delivered twice (consumer " << c
                               << ", its item " << i << ")";
      seen[p][s] = 1;
      ++total;
    }
  }
  if (ordered) {
    for (std::size_t c = 0; c < consumers.size(); ++c) {
      std::vector<std::int64_t> last(producers, -1);
      for (std::size_t i = 0; i < consumers[c].items.size(); ++i) {
        const std::uint64_t v = consumers[c].items[i];
        const std::uint64_t p = v >> 32, s = v & 0xffffffffu;
        ASSERT_GT(static_cast<std::int64_t>(s), last[p])
            << "producer " << p << "'s items out of order (consumer " << c << ", its item " << i
            << ")";
        last[p] = static_cast<std::int64_t>(s);
      }
    }
  }
  if (all) {
    ASSERT_EQ(total, producers * per) << "items lost";
  }
}

// Capacity 1, 2, 3: the ring is full or empty nearly all the time, so nearly every operation
// crosses between the ring and the waiters. A sampler checks the size never passes the
// capacity; join() needs every task_done().
TEST(QueueRingStress, TinyCapacitiesDeliverEveryItemOnceAndInOrder) {
  constexpr std::size_t kProducers = 5, kConsumers = 5;
  const std::size_t per = weft::test::scaled(40'000, 2'000);
  for (std::size_t capacity : {1u, 2u, 3u}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    Queue<std::uint64_t> q(capacity);
    std::vector<Received> received(kConsumers);
    std::atomic<bool> running{true};
    std::atomic<std::size_t> oversize{0};
    auto consume = [&q](Received* out) -> Task<void> {
      try {
        for (;;) {
          out->items.push_back(co_await q.pop());
          q.task_done();
        }
      } catch (const QueueShutDown&) {
      }
    };
    auto produce = [&q, per](std::uint64_t p) -> Task<void> {
      for (std::uint64_t s = 0; s < per; ++s) co_await q.push(item(p, s));
    };
    auto sample = [&]() -> Task<void> {
      while (running.load()) {
        if (q.size() > q.capacity()) oversize.fetch_add(1);
        co_await weft::yield();
      }
    };
    auto body = [&]() -> Task<void> {
      std::vector<JoinHandle<void>> consumers, producers;
      auto sampler = weft::spawn(sample());
      for (auto& r : received) consumers.push_back(weft::spawn(consume(&r)));
      for (std::size_t p = 0; p < kProducers; ++p) producers.push_back(weft::spawn(produce(p)));
      const bool produced = co_await join_all(producers, kStressDeadline);
      if (produced) {
        auto joiner = weft::spawn(
            [](Queue<std::uint64_t>* queue) -> Task<void> { co_await queue->join(); }(&q));
        const bool joined = co_await weft::test::finished_within(joiner, kStressDeadline);
        EXPECT_TRUE(joined) << "join() missed a task_done()";
      }
      q.close();
      if (!produced) {
        for (auto& c : consumers) c.cancel();
      }
      co_await join_all(consumers, kStressDeadline);
      running.store(false);
      co_await sampler;
    };
    weft::run(body(), weft::test::options(2));
    check(received, kProducers, per, true);
    EXPECT_EQ(oversize.load(), 0u) << "size() passed the capacity";
    EXPECT_EQ(q.unfinished(), 0u);
  }
}

// A chaos task cancels producers and consumers at random (seeded) while they run, so waiters
// are cancelled before and after being handed an item or a slot. Producers retry the item a
// cancelled push did not push; consumers carry on. Every item arrives exactly once. With
// only producers cancelled, each consumer also sees each producer's items in order (a
// cancelled popper's item goes back to the front, after a later one may have gone: no order
// then, as queue.hpp says).
TEST(QueueRingStress, RandomCancelsOfWaitersLoseAndDuplicateNothing) {
  constexpr std::size_t kProducers = 4, kConsumers = 4;
  const std::size_t per = weft::test::scaled(20'000, 1'000);
  for (const bool cancel_consumers : {false, true}) {
    for (std::size_t capacity : {1u, 2u, 3u}) {
      for (unsigned seed : {1u, 2u}) {
        SCOPED_TRACE("capacity " + std::to_string(capacity) + ", seed " + std::to_string(seed) +
                     (cancel_consumers ? ", consumers cancelled too" : ""));
        Queue<std::uint64_t> q(capacity);
        std::vector<Received> received(kConsumers);
        std::atomic<std::size_t> cancels{0}, started{0};
        std::atomic<bool> producing{true};
        auto producer = [&](std::uint64_t p) -> Task<void> {
          started.fetch_add(1);
          for (std::uint64_t s = 0; s < per;) {
            try {
              co_await q.push(item(p, s));
              ++s;
            } catch (const CancelledError&) {
              cancels.fetch_add(1, std::memory_order_relaxed);
            }
          }
        };
        auto consumer = [&](Received* out) -> Task<void> {
          started.fetch_add(1);
          for (;;) {
            try {
              out->items.push_back(co_await q.pop());
            } catch (const CancelledError&) {
              cancels.fetch_add(1, std::memory_order_relaxed);
            } catch (const QueueShutDown&) {
              co_return;
            }
          }
        };
        std::vector<JoinHandle<void>> consumers, producers;
        auto chaos = [&]() -> Task<void> {
          std::mt19937 rng(seed);
          // A task cancelled before its first run never runs: start once all have.
          while (started.load() < kProducers + kConsumers) co_await weft::yield();
          const std::size_t victims = cancel_consumers ? kProducers + kConsumers : kProducers;
          while (producing.load()) {
            const std::size_t v = rng() % victims;
            if (v < kProducers) {
              producers[v].cancel();
            } else {
              consumers[v - kProducers].cancel();
            }
            for (unsigned i = rng() % 4; i > 0; --i) co_await weft::yield();
            co_await weft::yield();
          }
        };
        auto body = [&]() -> Task<void> {
          for (auto& r : received) consumers.push_back(weft::spawn(consumer(&r)));
          for (std::size_t p = 0; p < kProducers; ++p)
            producers.push_back(weft::spawn(producer(p)));
          auto monkey = weft::spawn(chaos());
          const bool produced = co_await join_all(producers, kStressDeadline);
          producing.store(false);
          co_await monkey;
          q.close();
          if (!produced) {
            for (auto& c : consumers) c.cancel();
          }
          co_await join_all(consumers, kStressDeadline);
        };
        weft::run(body(), weft::test::options(2));
        check(received, kProducers, per, !cancel_consumers);
        EXPECT_GT(cancels.load(), 0u) << "nothing was cancelled";
        EXPECT_EQ(q.unfinished(), kProducers * per) << "join()'s count is off";
      }
    }
  }
}

// shutdown(immediate) among pushes and pops in flight on both loops: an item is popped at
// most once and only if its push succeeded; none is left for a pop after the shutdown
// returned; the items dropped count as done (join() returns once every popped one is
// marked); none leaks.
TEST(QueueRingStress, ShutdownImmediateAmongPushesInFlightLosesTrackOfNothing) {
  constexpr std::size_t kProducers = 3, kConsumers = 2;
  const std::size_t rounds = weft::test::scaled(200, 20);
  const long base = Counted::live();
  struct Item {
    std::uint64_t v;
    Counted c;
  };
  for (std::size_t round = 0; round < rounds; ++round) {
    std::vector<std::uint64_t> pushed_ok(kProducers, 0);
    std::vector<Received> received(kConsumers);
    {
      Queue<Item> q(1 + round % 3);
      std::atomic<std::size_t> started{0};
      auto producer = [&](std::uint64_t p) -> Task<void> {
        started.fetch_add(1);
        try {
          for (std::uint64_t s = 0;; ++s) {
            Item it{item(p, s), Counted()};  // not braced inside the co_await (g++ 12)
            co_await q.push(std::move(it));
            pushed_ok[p] = s + 1;
          }
        } catch (const QueueShutDown&) {
        }
      };
      auto consumer = [&](Received* out) -> Task<void> {
        started.fetch_add(1);
        try {
          for (;;) {
            Item it = co_await q.pop();
            out->items.push_back(it.v);
            q.task_done();
          }
        } catch (const QueueShutDown&) {
        }
      };
      auto body = [&]() -> Task<void> {
        std::vector<JoinHandle<void>> tasks;
        for (auto& r : received) tasks.push_back(weft::spawn(consumer(&r)));
        for (std::size_t p = 0; p < kProducers; ++p) tasks.push_back(weft::spawn(producer(p)));
        co_await weft::test::expect_soon([&] { return started.load() == kProducers + kConsumers; },
                                         "tasks started");
        for (std::size_t i = round % 7; i > 0; --i) co_await weft::yield();
        q.shutdown(true);
        EXPECT_THROW((void)q.try_pop(), QueueShutDown) << "an item was left after the shutdown";
        co_await join_all(tasks, kStressDeadline);
        auto joiner =
            weft::spawn([](Queue<Item>* queue) -> Task<void> { co_await queue->join(); }(&q));
        const bool joined = co_await weft::test::finished_within(joiner, kDeadline);
        EXPECT_TRUE(joined) << "a dropped item was not counted as done";
      };
      weft::run(body(), weft::test::options(2));
      EXPECT_EQ(q.unfinished(), 0u);
    }
    // Popped at most once, and only items whose push returned.
    std::size_t per = 0;
    for (std::uint64_t n : pushed_ok) per = n > per ? n : per;
    check(received, kProducers, per + 1, true, false);
    for (const Received& r : received) {
      for (std::uint64_t v : r.items) {
        ASSERT_LT(v & 0xffffffffu, pushed_ok[v >> 32]) << "popped an item whose push failed";
      }
    }
    ASSERT_EQ(Counted::live(), base) << "round " << round << ": an item leaked";
  }
}

}  // namespace

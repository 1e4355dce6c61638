// weft::Queue<T>: FIFO, bounded and unbounded, try_*, close() with waiters on both sides,
// join()/task_done(), move-only items, and cancellation that loses no item and no slot.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <weft/queue.hpp>

#include "expect_soon.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::JoinHandle;
using weft::Queue;
using weft::QueueClosed;
using weft::Task;
using weft::test::Counted;

using weft::test::expect_soon;

template <class T>
Task<T> pop_one(Queue<T>* q) {
  co_return co_await q->pop();
}
template <class T>
Task<void> push_one(Queue<T>* q, T v) {
  co_await q->push(std::move(v));
}

// How a task ended: with its value, QueueClosed or CancelledError.
enum class End { value, closed, cancelled };
template <class T>
Task<End> ending(JoinHandle<T>& h) {
  try {
    co_await h;
    co_return End::value;
  } catch (const QueueClosed&) {
    co_return End::closed;
  } catch (const CancelledError&) {
    co_return End::cancelled;
  }
}

TEST(Queue, IsFifoAndTriesWork) {
  auto body = []() -> Task<void> {
    Queue<int> q(3);
    EXPECT_EQ(q.capacity(), 3u);
    EXPECT_TRUE(q.empty());
    EXPECT_FALSE(q.try_pop().has_value());
    co_await q.push(1);
    EXPECT_TRUE(q.try_push(2));
    co_await q.push(3);
    EXPECT_EQ(q.size(), 3u);
    int four = 4;
    EXPECT_FALSE(q.try_push(four)) << "pushed beyond the capacity";
    EXPECT_EQ(co_await q.pop(), 1);
    EXPECT_EQ(q.try_pop(), std::optional<int>(2));
    EXPECT_EQ(co_await q.pop(), 3);
    EXPECT_TRUE(q.empty());

    Queue<int> unbounded;  // capacity 0
    for (int i = 0; i < 10'000; ++i) co_await unbounded.push(i);
    EXPECT_EQ(unbounded.size(), 10'000u);
    for (int i = 0; i < 10'000; ++i) EXPECT_EQ(co_await unbounded.pop(), i);
  };
  weft::run(body(), weft::test::options(2));
}

TEST(Queue, FullQueueMakesPushersWaitInOrder) {
  Queue<int> q(1);
  auto body = [&]() -> Task<void> {
    co_await q.push(0);
    std::vector<JoinHandle<void>> pushers;
    for (int i = 1; i <= 5; ++i) {
      pushers.push_back(weft::spawn(push_one(&q, i)));
      co_await weft::yield();  // one loop: pusher i reaches its wait before pusher i+1 starts
    }
    co_await weft::sleep(2ms);
    for (auto& p : pushers) EXPECT_FALSE(p.done()) << "a push did not wait for room";
    for (int i = 0; i <= 5; ++i) EXPECT_EQ(co_await q.pop(), i);
    for (auto& p : pushers) {
      EXPECT_TRUE(co_await weft::test::finished_within(p));
      co_await p;
    }
    EXPECT_TRUE(q.empty());
  };
  weft::run(body(), weft::test::options(1));
}

TEST(Queue, EmptyQueueMakesPoppersWaitAndHandsItemsInOrder) {
  Queue<int> q;
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<int>> poppers;
    for (int i = 0; i < 5; ++i) {
      poppers.push_back(weft::spawn(pop_one(&q)));
      co_await weft::yield();
    }
    for (int i = 0; i < 5; ++i) co_await q.push(i * 10);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(co_await poppers[static_cast<std::size_t>(i)], i * 10);
  };
  weft::run(body(), weft::test::options(1));
}

TEST(Queue, CloseWakesWaitingPoppersWithQueueClosed) {
  Queue<int> q;
  std::atomic<int> started{0};
  auto popper = [&]() -> Task<int> {
    started.fetch_add(1);
    co_return co_await q.pop();
  };
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<int>> poppers;
    for (int i = 0; i < 4; ++i) poppers.push_back(weft::spawn(popper()));
    co_await expect_soon([&] { return started.load() == 4; }, "poppers started");
    co_await weft::sleep(2ms);
    q.close();
    for (auto& p : poppers) {
      EXPECT_TRUE(co_await weft::test::finished_within(p)) << "a popper missed close()";
      EXPECT_EQ(co_await ending(p), End::closed);
    }
    EXPECT_THROW(co_await q.push(1), QueueClosed);
    EXPECT_THROW((void)q.try_push(1), QueueClosed);
    EXPECT_THROW(co_await q.pop(), QueueClosed);
    EXPECT_THROW((void)q.try_pop(), QueueClosed);
    EXPECT_TRUE(q.closed());
  };
  weft::run(body(), weft::test::options(2));
}

TEST(Queue, CloseWakesWaitingPushersAndLeftItemsAreDrained) {
  Queue<int> q(2);
  std::atomic<int> started{0};
  auto pusher = [&](int v) -> Task<void> {
    started.fetch_add(1);
    co_await q.push(v);
  };
  auto body = [&]() -> Task<void> {
    co_await q.push(1);
    co_await q.push(2);
    std::vector<JoinHandle<void>> pushers;
    for (int i = 0; i < 4; ++i) pushers.push_back(weft::spawn(pusher(100 + i)));
    co_await expect_soon([&] { return started.load() == 4; }, "pushers started");
    co_await weft::sleep(2ms);
    q.close();
    for (auto& p : pushers) {
      EXPECT_TRUE(co_await weft::test::finished_within(p)) << "a pusher missed close()";
      EXPECT_EQ(co_await ending(p), End::closed);
    }
    EXPECT_EQ(co_await q.pop(), 1);
    EXPECT_EQ(q.try_pop(), std::optional<int>(2));
    EXPECT_THROW(co_await q.pop(), QueueClosed);
  };
  weft::run(body(), weft::test::options(2));
}

TEST(Queue, JoinWaitsForTaskDone) {
  Queue<int> q;
  auto body = [&]() -> Task<void> {
    co_await q.join();  // nothing pushed: at once
    for (int i = 0; i < 3; ++i) co_await q.push(i);
    auto joiner = weft::spawn([](Queue<int>* queue) -> Task<void> { co_await queue->join(); }(&q));
    for (int i = 0; i < 3; ++i) {
      (void)co_await q.pop();
      co_await weft::sleep(1ms);
      EXPECT_FALSE(joiner.done()) << "join() returned with " << 3 - i << " items unfinished";
      q.task_done();
    }
    EXPECT_TRUE(co_await weft::test::finished_within(joiner));
    co_await joiner;
    EXPECT_EQ(q.unfinished(), 0u);
    EXPECT_THROW(q.task_done(), std::logic_error);
  };
  weft::run(body(), weft::test::options(2));
}

TEST(Queue, MoveOnlyItems) {
  auto body = []() -> Task<void> {
    Queue<std::unique_ptr<int>> q(1);
    co_await q.push(std::make_unique<int>(1));
    auto two = std::make_unique<int>(2);
    EXPECT_FALSE(q.try_push(std::move(two)));
    if (two == nullptr) {
      ADD_FAILURE() << "a failed try_push consumed its argument";
      co_return;
    }
    auto one = co_await q.pop();
    EXPECT_EQ(*one, 1);
    EXPECT_TRUE(q.try_push(std::move(two)));
    auto popped = q.try_pop();
    if (!popped.has_value()) {
      ADD_FAILURE() << "try_pop found nothing";
      co_return;
    }
    EXPECT_EQ(**popped, 2);
    auto popper = weft::spawn(pop_one(&q));
    co_await weft::yield();
    co_await q.push(std::make_unique<int>(3));
    EXPECT_EQ(*co_await popper, 3);
  };
  weft::run(body(), weft::test::options(2));
}

TEST(Queue, ItemsLeftInADestroyedQueueAreDestroyed) {
  const long base = Counted::live();
  {
    auto body = []() -> Task<void> {
      Queue<Counted> q;
      for (int i = 0; i < 10; ++i) co_await q.push(Counted{});
      (void)co_await q.pop();
    };
    weft::run(body(), weft::test::options(2));
  }
  EXPECT_EQ(Counted::live(), base);
}

// --- cancellation -------------------------------------------------------------------------------

TEST(Queue, CancelledWaitingPopperLeavesNoTrace) {
  Queue<int> q;
  auto body = [&]() -> Task<void> {
    auto a = weft::spawn(pop_one(&q));
    co_await weft::sleep(2ms);
    a.cancel();
    EXPECT_EQ(co_await ending(a), End::cancelled);
    co_await q.push(5);
    EXPECT_EQ(q.try_pop(), std::optional<int>(5)) << "the item went to a cancelled popper";
  };
  weft::run(body(), weft::test::options(2));
}

// One loop makes it deterministic: the push hands x to A and schedules it; the cancel
// reaches A before it runs. x must reach B.
TEST(Queue, GrantedThenCancelledPopperPassesItsItemToTheNextPopper) {
  Queue<int> q;
  auto body = [&]() -> Task<void> {
    auto a = weft::spawn(pop_one(&q));
    co_await weft::yield();
    auto b = weft::spawn(pop_one(&q));
    co_await weft::yield();
    co_await q.push(42);  // to A
    a.cancel();
    EXPECT_EQ(co_await ending(a), End::cancelled);
    EXPECT_TRUE(co_await weft::test::finished_within(b)) << "the item was lost with A";
    EXPECT_EQ(co_await b, 42);
    EXPECT_TRUE(q.empty());
  };
  weft::run(body(), weft::test::options(1));
}

TEST(Queue, GrantedThenCancelledPopperPutsItsItemBackAtTheFront) {
  Queue<int> q;
  auto body = [&]() -> Task<void> {
    auto a = weft::spawn(pop_one(&q));
    co_await weft::yield();
    co_await q.push(1);  // to A
    co_await q.push(2);  // into the queue
    a.cancel();
    EXPECT_EQ(co_await ending(a), End::cancelled);
    EXPECT_EQ(q.try_pop(), std::optional<int>(1)) << "order lost";
    EXPECT_EQ(q.try_pop(), std::optional<int>(2));
  };
  weft::run(body(), weft::test::options(1));
}

TEST(Queue, GrantedThenCancelledPusherPassesItsSlotOn) {
  Queue<int> q(1);
  auto body = [&]() -> Task<void> {
    co_await q.push(0);
    auto a = weft::spawn(push_one(&q, 1));
    co_await weft::yield();
    auto b = weft::spawn(push_one(&q, 2));
    co_await weft::yield();
    EXPECT_EQ(co_await q.pop(), 0);  // the room is reserved for A
    EXPECT_FALSE(q.try_push(99)) << "a newcomer took the room a waiter was promised";
    a.cancel();
    EXPECT_EQ(co_await ending(a), End::cancelled);
    EXPECT_TRUE(co_await weft::test::finished_within(b)) << "the slot was lost with A";
    co_await b;
    EXPECT_EQ(q.try_pop(), std::optional<int>(2)) << "A's item was pushed after all";
    EXPECT_TRUE(q.empty());
  };
  weft::run(body(), weft::test::options(1));
}

// Many rounds across 2 loops: poppers A then B wait; a push races a cancel of A. The item is
// delivered exactly once: to A (if the cancel came too late) or to B.
TEST(Queue, PushRacingCancelAcrossLoopsLosesNoItem) {
  const std::size_t rounds = weft::test::scaled(2'000, 200);
  std::size_t to_a = 0, to_b = 0;
  auto body = [&]() -> Task<void> {
    std::mt19937 rng(11);
    for (std::size_t r = 0; r < rounds; ++r) {
      Queue<int> q;
      std::atomic<int> started{0};
      auto popper = [](Queue<int>* queue, std::atomic<int>* s) -> Task<int> {
        s->fetch_add(1);
        co_return co_await queue->pop();
      };
      auto a = weft::spawn(popper(&q, &started));
      co_await expect_soon([&] { return started.load() == 1; }, "A started");
      co_await weft::yield();
      auto b = weft::spawn(popper(&q, &started));
      co_await expect_soon([&] { return started.load() == 2; }, "B started");
      co_await weft::yield();
      auto pusher = weft::spawn([](Queue<int>* queue, unsigned spin) -> Task<void> {
        for (unsigned i = 0; i < spin; ++i) co_await weft::yield();
        co_await queue->push(7);
      }(&q, static_cast<unsigned>(rng() % 3)));
      for (unsigned i = rng() % 3; i > 0; --i) co_await weft::yield();
      a.cancel();
      co_await pusher;
      const End a_end = co_await ending(a);
      if (a_end == End::value) {
        ++to_a;
        b.cancel();
        EXPECT_EQ(co_await ending(b), End::cancelled);
      } else {
        EXPECT_EQ(a_end, End::cancelled);
        if (const bool ok = co_await weft::test::finished_within(b); !ok) {
          ADD_FAILURE() << "round " << r << ": the item was lost";
          co_return;
        }
        EXPECT_EQ(co_await b, 7);
        ++to_b;
      }
      EXPECT_TRUE(q.empty()) << "round " << r << ": the item was duplicated";
    }
  };
  weft::run(body(), weft::test::options(2));
  EXPECT_EQ(to_a + to_b, rounds);
  std::printf("item to A in %zu rounds, to B in %zu\n", to_a, to_b);
}

}  // namespace

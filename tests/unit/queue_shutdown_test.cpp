// The asyncio parity of weft's queues: Python 3.13's Queue.shutdown(immediate) (asyncio's
// test_queues shutdown cases), full(), what try_push/try_pop say (full / empty / shut down),
// and the LIFO and priority orders, whose cancelled poppers lose no item either.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <weft/priority_queue.hpp>
#include <weft/queue.hpp>

#include "expect_soon.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::JoinHandle;
using weft::LifoQueue;
using weft::PriorityQueue;
using weft::Queue;
using weft::QueueShutDown;
using weft::Task;
using weft::test::Counted;

using weft::test::expect_soon;

// How a task ended: with its value, QueueShutDown or CancelledError.
enum class End { value, shut_down, cancelled };
template <class T>
Task<End> ending(JoinHandle<T>& h) {
  if (const bool ok = co_await weft::test::finished_within(h); !ok) {
    ADD_FAILURE() << "a task did not finish within 10 s";
    h.cancel();
    (void)co_await weft::test::finished_within(h);
  }
  try {
    co_await h;
    co_return End::value;
  } catch (const QueueShutDown&) {
    co_return End::shut_down;
  } catch (const CancelledError&) {
    co_return End::cancelled;
  }
}

// Until `n` spawned tasks counted themselves, each just before its queue operation. On one
// loop that means each is suspended in its wait: it does not suspend between the two. The
// tests that run on two loops end the same whether a task waits already or arrives later.
Task<void> wait_for_started(std::atomic<int>& started, int n) {
  co_await expect_soon([&] { return started.load() == n; }, "tasks started");
}

// --- full() ---------------------------------------------------------------------------------

TEST(Queue, FullMeansAPushWouldWait) {
  Queue<int> unbounded;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(unbounded.try_push(i));
  EXPECT_FALSE(unbounded.full()) << "an unbounded queue is never full";

  Queue<int> q(2);
  EXPECT_FALSE(q.full());
  ASSERT_TRUE(q.try_push(1));
  EXPECT_FALSE(q.full());
  ASSERT_TRUE(q.try_push(2));
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(q.try_push(3));
  EXPECT_EQ(q.try_pop(), std::optional<int>(1));
  EXPECT_FALSE(q.full());
}

// A slot promised to a woken pusher is taken: full() says what a newcomer's push would do.
TEST(Queue, FullCountsASlotPromisedToAWokenPusher) {
  Queue<int> q(1);
  std::atomic<int> started{0};
  auto body = [&]() -> Task<void> {
    co_await q.push(1);
    auto pusher = weft::spawn([](Queue<int>* queue, std::atomic<int>* s) -> Task<void> {
      s->fetch_add(1);
      co_await queue->push(2);
    }(&q, &started));
    co_await wait_for_started(started, 1);
    EXPECT_TRUE(q.full());
    EXPECT_EQ(q.try_pop(), std::optional<int>(1));  // the slot is now the pusher's
    EXPECT_TRUE(q.full()) << "the promised slot looked free";
    EXPECT_FALSE(q.try_push(99));
    co_await pusher;
    EXPECT_EQ(q.try_pop(), std::optional<int>(2));
  };
  weft::run(body(), weft::test::options(1));
}

// --- try_push / try_pop say which ---------------------------------------------------------

TEST(Queue, TryPushSaysFullOrShutDownAndTryPopSaysEmptyOrShutDown) {
  Queue<int> q(1);
  EXPECT_EQ(q.try_pop(), std::nullopt) << "empty: nullopt (asyncio's QueueEmpty)";
  ASSERT_TRUE(q.try_push(1));
  EXPECT_FALSE(q.try_push(2)) << "full: false (asyncio's QueueFull)";
  q.shutdown();
  EXPECT_THROW((void)q.try_push(3), QueueShutDown);
  EXPECT_EQ(q.try_pop(), std::optional<int>(1)) << "the item left is still there";
  EXPECT_THROW((void)q.try_pop(), QueueShutDown) << "shut down and empty";
}

// --- shutdown() -------------------------------------------------------------------------------

// asyncio's test_shutdown_empty / test_shutdown_nonempty: after shutdown() a push throws, a
// pop takes what is left and then throws; a popper waiting on the empty queue throws at once.
TEST(QueueShutdown, PlainShutdownLetsPopsDrainThenThrows) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    Queue<int> q;
    Queue<int> empty;
    std::atomic<int> started{0};
    auto body = [&]() -> Task<void> {
      auto popper = weft::spawn([](Queue<int>* e, std::atomic<int>* s) -> Task<int> {
        s->fetch_add(1);
        co_return co_await e->pop();
      }(&empty, &started));
      co_await wait_for_started(started, 1);
      co_await q.push(1);
      co_await q.push(2);
      q.shutdown();
      empty.shutdown();
      EXPECT_TRUE(q.is_shut_down());
      EXPECT_THROW(co_await q.push(3), QueueShutDown);
      EXPECT_EQ(co_await q.pop(), 1);
      EXPECT_EQ(co_await q.pop(), 2);
      EXPECT_THROW(co_await q.pop(), QueueShutDown);
      EXPECT_EQ(co_await ending(popper), End::shut_down);
    };
    weft::run(body(), weft::test::options(loops));
  }
}

// asyncio's test_shutdown_immediate: the items left are dropped, and every waiting popper
// and pusher gets QueueShutDown.
TEST(QueueShutdown, ImmediateDropsTheItemsAndWakesEveryPopperAndPusher) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    Counted::reset();
    {
      Queue<Counted> full(2);
      Queue<Counted> empty;
      std::atomic<int> started{0};
      auto body = [&]() -> Task<void> {
        co_await full.push(Counted());
        co_await full.push(Counted());
        std::vector<JoinHandle<void>> pushers;
        std::vector<JoinHandle<Counted>> poppers;
        for (int i = 0; i < 3; ++i) {
          pushers.push_back(weft::spawn([](Queue<Counted>* q, std::atomic<int>* s) -> Task<void> {
            s->fetch_add(1);
            co_await q->push(Counted());
          }(&full, &started)));
          poppers.push_back(
              weft::spawn([](Queue<Counted>* q, std::atomic<int>* s) -> Task<Counted> {
                s->fetch_add(1);
                co_return co_await q->pop();
              }(&empty, &started)));
        }
        co_await wait_for_started(started, 6);
        full.shutdown(true);
        empty.shutdown(true);
        EXPECT_EQ(full.size(), 0u) << "shutdown(immediate) kept items";
        EXPECT_EQ(full.unfinished(), 0u) << "dropped items still count for join()";
        EXPECT_THROW(co_await full.pop(), QueueShutDown);
        for (auto& p : pushers) EXPECT_EQ(co_await ending(p), End::shut_down);
        for (auto& p : poppers) EXPECT_EQ(co_await ending(p), End::shut_down);
        EXPECT_EQ(full.size(), 0u) << "a woken pusher pushed after all";
      };
      weft::run(body(), weft::test::options(loops));
    }
    EXPECT_EQ(Counted::live(), 0) << "an item leaked";
  }
}

// asyncio's test_shutdown_immediate_join / test_shutdown_[immediate_]put_join: the dropped
// items count as done, the items popped before must still be marked; a plain shutdown
// leaves join() waiting for every task_done().
TEST(QueueShutdown, JoinCountsDroppedItemsAsDoneButWaitsForPoppedOnes) {
  for (bool immediate : {true, false}) {
    SCOPED_TRACE(immediate ? "immediate" : "plain");
    Queue<int> q;
    std::atomic<bool> joined{false};
    auto body = [&]() -> Task<void> {
      for (int i = 0; i < 3; ++i) co_await q.push(i);
      EXPECT_EQ(co_await q.pop(), 0);  // popped, not yet done
      auto joiner = weft::spawn([](Queue<int>* queue, std::atomic<bool>* j) -> Task<void> {
        co_await queue->join();
        j->store(true);
      }(&q, &joined));
      q.shutdown(immediate);
      EXPECT_EQ(q.unfinished(), immediate ? 1u : 3u);
      EXPECT_FALSE(joined.load());
      if (!immediate) {
        EXPECT_EQ(co_await q.pop(), 1);
        EXPECT_EQ(co_await q.pop(), 2);
        q.task_done();
        q.task_done();
      }
      EXPECT_FALSE(joined.load()) << "join() returned with an item not done";
      q.task_done();  // the one popped first
      EXPECT_TRUE(co_await weft::test::finished_within(joiner))
          << "join() missed the last task_done";
      co_await joiner;
      EXPECT_THROW(q.task_done(), std::logic_error);
    };
    weft::run(body(), weft::test::options(1));
    EXPECT_TRUE(joined.load());
  }
}

// A slot promised to a pusher (woken by a pop) before the shutdown: the pusher still throws
// QueueShutDown and its item is not pushed.
TEST(QueueShutdown, APusherPromisedASlotThrowsAndItsItemStaysOut) {
  for (bool immediate : {false, true}) {
    SCOPED_TRACE(immediate ? "immediate" : "plain");
    Queue<int> q(1);
    std::atomic<int> started{0};
    auto body = [&]() -> Task<void> {
      co_await q.push(1);
      auto pusher = weft::spawn([](Queue<int>* queue, std::atomic<int>* s) -> Task<void> {
        s->fetch_add(1);
        co_await queue->push(2);
      }(&q, &started));
      co_await wait_for_started(started, 1);
      EXPECT_EQ(q.try_pop(), std::optional<int>(1));  // the slot is promised to the pusher
      q.shutdown(immediate);                          // before the pusher ran
      EXPECT_EQ(co_await ending(pusher), End::shut_down);
      EXPECT_EQ(q.size(), 0u);
      EXPECT_EQ(q.unfinished(), 1u) << "only the first item was ever pushed";
      EXPECT_FALSE(q.full());
    };
    weft::run(body(), weft::test::options(1));
  }
}

// A pop that was handed its item before shutdown(immediate) completed first: it keeps the
// item. If it is cancelled before it resumes, the item is dropped like the others, and
// counted as done.
TEST(QueueShutdown, AnItemHandedOverBeforeAnImmediateShutdownIsKeptOrDroppedNeverLost) {
  for (bool cancel : {false, true}) {
    SCOPED_TRACE(cancel ? "popper cancelled" : "popper runs");
    Counted::reset();
    {
      Queue<Counted> q;
      std::atomic<int> started{0};
      auto body = [&]() -> Task<void> {
        auto popper = weft::spawn([](Queue<Counted>* queue, std::atomic<int>* s) -> Task<Counted> {
          s->fetch_add(1);
          co_return co_await queue->pop();
        }(&q, &started));
        co_await wait_for_started(started, 1);
        co_await q.push(Counted());  // handed to the popper, which has not run (one loop)
        q.shutdown(true);
        if (cancel) popper.cancel();
        EXPECT_EQ(co_await ending(popper), cancel ? End::cancelled : End::value);
        EXPECT_EQ(q.size(), 0u);
        EXPECT_EQ(q.unfinished(), cancel ? 0u : 1u);
        EXPECT_THROW(co_await q.pop(), QueueShutDown);
      };
      weft::run(body(), weft::test::options(1));
    }
    EXPECT_EQ(Counted::live(), 0);
  }
}

// --- LifoQueue, PriorityQueue -------------------------------------------------------------------

TEST(LifoQueue, PopsTheItemPushedLastFirst) {
  LifoQueue<int> q;
  auto body = [&]() -> Task<void> {
    for (int v : {1, 2, 3}) co_await q.push(v);
    EXPECT_EQ(co_await q.pop(), 3);
    co_await q.push(4);
    EXPECT_EQ(co_await q.pop(), 4);
    EXPECT_EQ(co_await q.pop(), 2);
    EXPECT_EQ(q.try_pop(), std::optional<int>(1));
  };
  weft::run(body(), weft::test::options(1));
}

TEST(PriorityQueue, PopsTheSmallestFirst) {
  PriorityQueue<int> q;
  auto body = [&]() -> Task<void> {
    for (int v : {5, 1, 4, 1, 3, 9, 2}) co_await q.push(v);
    std::vector<int> out;
    while (auto v = q.try_pop()) out.push_back(*v);
    EXPECT_EQ(out, (std::vector<int>{1, 1, 2, 3, 4, 5, 9}));
  };
  weft::run(body(), weft::test::options(1));
}

struct Job {
  int priority = 0;
  std::string name;
};
struct ByPriority {
  bool operator()(const Job& a, const Job& b) const noexcept { return a.priority < b.priority; }
};

TEST(PriorityQueue, OrdersByTheGivenComparator) {
  PriorityQueue<int, std::greater<int>> largest_first;
  for (int v : {2, 7, 1}) ASSERT_TRUE(largest_first.try_push(v));
  EXPECT_EQ(largest_first.try_pop(), std::optional<int>(7));
  EXPECT_EQ(largest_first.try_pop(), std::optional<int>(2));

  PriorityQueue<Job, ByPriority> jobs(2);
  ASSERT_TRUE(jobs.try_push(Job{3, "low"}));
  ASSERT_TRUE(jobs.try_push(Job{1, "urgent"}));
  EXPECT_FALSE(jobs.try_push(Job{2, "over capacity"})) << "the capacity applies too";
  auto first = jobs.try_pop();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->name, "urgent");
}

// The cancelled-popper rule in every order: an item handed to a popper that is cancelled
// before it resumes goes back where the next pop finds it first (asyncio's
// test_cancelled_getters_not_being_held_in_self_getters / get-cancel cases).
TEST(PriorityQueue, AnItemOfACancelledPopperComesBackFirstInEveryOrder) {
  auto run_case = [](auto& q, int pushed, int expect_next) {
    std::atomic<int> started{0};
    auto body = [&]() -> Task<void> {
      auto popper = weft::spawn([](auto* queue, std::atomic<int>* s) -> Task<int> {
        s->fetch_add(1);
        co_return co_await queue->pop();
      }(&q, &started));
      co_await wait_for_started(started, 1);
      co_await q.push(pushed);  // handed to the popper
      co_await q.push(50);      // into the queue
      popper.cancel();          // before the popper ran (one loop)
      EXPECT_EQ(co_await ending(popper), End::cancelled);
      EXPECT_EQ(q.size(), 2u) << "the cancelled popper's item was lost";
      EXPECT_EQ(q.try_pop(), std::optional<int>(expect_next));
    };
    weft::run(body(), weft::test::options(1));
  };
  Queue<int> fifo;
  run_case(fifo, 10, 10);  // back at the front
  LifoQueue<int> lifo;
  run_case(lifo, 10, 10);  // back on top (it was the top when it was taken)
  PriorityQueue<int> smallest;
  run_case(smallest, 10, 10);  // the smallest again
  PriorityQueue<int> smallest2;
  run_case(smallest2, 90, 50);  // not the smallest any more: order by priority
}

}  // namespace

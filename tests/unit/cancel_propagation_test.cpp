// Cancelling a task cancels what it awaits (a join), and the task resumes only when that has
// finished; the propagation runs along a long chain of joins without growing the stack; a
// task that swallows its cancel is counted in the metrics.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Clock;
using weft::JoinHandle;
using weft::Task;

// --- the joinee is cancelled, and the joiner waits for its clean-up --------------------

struct CleanUp {
  std::atomic<bool> joinee_started{false};
  std::atomic<bool> joinee_cleaned{false};
  std::atomic<bool> joiner_saw_cleaned{false};
  std::atomic<bool> joiner_cancelled{false};
};

Task<int> slow_to_stop(CleanUp* c) {
  c->joinee_started.store(true);
  try {
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
  }
  co_await weft::sleep(30ms);  // asynchronous clean-up after the cancel
  c->joinee_cleaned.store(true);
  throw CancelledError();
}

Task<void> joiner(CleanUp* c) {
  JoinHandle<int> h = weft::spawn(slow_to_stop(c));
  try {
    (void)co_await h;
  } catch (const CancelledError&) {
    c->joiner_cancelled.store(true);
    c->joiner_saw_cleaned.store(c->joinee_cleaned.load());
    throw;
  }
}

Task<void> cancel_joiner(CleanUp* c) {
  JoinHandle<void> j = weft::spawn(joiner(c));
  EXPECT_TRUE(co_await weft::test::co_wait_until([c] { return c->joinee_started.load(); }));
  j.cancel();
  EXPECT_TRUE(co_await weft::test::finished_within(j));
}

TEST(CancelPropagation, CancelledJoinerCancelsTheJoineeAndWaitsForIt) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(loops);
    CleanUp c;
    weft::run(cancel_joiner(&c), weft::test::options(loops));
    EXPECT_TRUE(c.joiner_cancelled.load());
    EXPECT_TRUE(c.joinee_cleaned.load()) << "the joinee was not cancelled";
    EXPECT_TRUE(c.joiner_saw_cleaned.load()) << "the joiner resumed before the joinee ended";
  }
}

// --- a shielded join leaves the joinee alone --------------------------------------------

struct Shielded {
  std::atomic<bool> joinee_started{false};
  std::atomic<bool> joinee_cancelled{false};
  std::atomic<bool> joiner_cancelled_after_end{false};
  int value_after = 0;
};

Task<int> finishes_in_20ms(Shielded* s) {
  s->joinee_started.store(true);
  try {
    co_await weft::sleep(20ms);
  } catch (const CancelledError&) {
    s->joinee_cancelled.store(true);
    throw;
  }
  co_return 5;
}

Task<void> shielded_joiner(Shielded* s) {
  JoinHandle<int> h = weft::spawn(finishes_in_20ms(s));
  try {
    co_await h.shielded();
  } catch (const CancelledError&) {
    s->joiner_cancelled_after_end.store(h.done());
  }
  s->value_after = co_await h;  // the result stayed in the handle
}

Task<void> cancel_shielded_joiner(Shielded* s) {
  JoinHandle<void> j = weft::spawn(shielded_joiner(s));
  EXPECT_TRUE(co_await weft::test::co_wait_until([s] { return s->joinee_started.load(); }));
  j.cancel();
  EXPECT_TRUE(co_await weft::test::finished_within(j));
}

TEST(CancelPropagation, ShieldedJoinKeepsTheJoineeRunningAndDeliversTheCancelAfter) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(loops);
    Shielded s;
    weft::run(cancel_shielded_joiner(&s), weft::test::options(loops));
    EXPECT_FALSE(s.joinee_cancelled.load()) << "the cancel reached the shielded joinee";
    EXPECT_TRUE(s.joiner_cancelled_after_end.load());
    EXPECT_EQ(s.value_after, 5);
  }
}

// --- a chain of joins -------------------------------------------------------------------

std::atomic<std::uint64_t> chain_cancelled{0};
std::atomic<bool> chain_bottom_reached{false};

Task<void> link(std::uint64_t depth) {
  try {
    if (depth == 0) {
      chain_bottom_reached.store(true);
      co_await weft::sleep(1h);
    } else {
      co_await weft::spawn(link(depth - 1));
    }
  } catch (const CancelledError&) {
    chain_cancelled.fetch_add(1);
    throw;
  }
}

Task<void> cancel_chain(std::uint64_t depth) {
  JoinHandle<void> top = weft::spawn(link(depth));
  EXPECT_TRUE(co_await weft::test::co_wait_until([] { return chain_bottom_reached.load(); }));
  top.cancel();
  EXPECT_TRUE(co_await weft::test::finished_within(top));
}

TEST(CancelPropagation, RunsDownAChainOfJoinsWithoutRecursion) {
  // Deep enough that one stack frame per link would overflow an 8 MiB stack under ASan.
  const std::uint64_t depth = weft::test::scaled(100'000, 20'000);
  chain_cancelled.store(0);
  chain_bottom_reached.store(false);
  weft::run(cancel_chain(depth), weft::test::options(2));
  EXPECT_EQ(chain_cancelled.load(), depth + 1) << "every link was cancelled";
}

// --- swallowed cancels are counted ---------------------------------------------------------

Task<int> swallows(std::atomic<bool>* waiting) {
  try {
    waiting->store(true);
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
  }
  co_return 7;  // carries on: allowed, but not a clean cancellation
}

Task<int> obeys(std::atomic<bool>* waiting) {
  waiting->store(true);
  co_await weft::sleep(1h);
  co_return 0;
}

Task<int> cancel_and_join(Task<int> (*body)(std::atomic<bool>*)) {
  std::atomic<bool> waiting{false};
  JoinHandle<int> h = weft::spawn(body(&waiting));
  EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return waiting.load(); }));
  h.cancel();
  try {
    co_return co_await h;
  } catch (const CancelledError&) {
    co_return -1;
  }
}

TEST(CancelPropagation, SwallowedCancelIsCountedInMetrics) {
  weft::Runtime rt(weft::test::options(2));
  EXPECT_EQ(rt.block_on(cancel_and_join(&obeys)), -1);
  EXPECT_TRUE(weft::test::wait_until([&] { return rt.metrics().live_tasks == 0; }));
  EXPECT_EQ(rt.metrics().total().cancels_swallowed, 0u);
  EXPECT_EQ(rt.block_on(cancel_and_join(&swallows)), 7);
  EXPECT_TRUE(weft::test::wait_until([&] { return rt.metrics().live_tasks == 0; }));
  EXPECT_EQ(rt.metrics().total().cancels_swallowed, 1u);
}

}  // namespace

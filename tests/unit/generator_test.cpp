// weft::Generator: values in order, awaits inside the body, exceptions and cancellation
// reaching the consumer, and an abandoned generator destroying its body cleanly.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/generator.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Generator;
using weft::JoinHandle;
using weft::Task;
using weft::test::Counted;

Generator<int> count_to(int n) {
  Counted c;
  for (int i = 0; i < n; ++i) {
    if (i % 3 == 0) co_await weft::sleep(1ms);
    if (i % 3 == 1) co_await weft::yield();
    co_yield i;
  }
}

Task<std::vector<int>> collect(Generator<int> g) {
  std::vector<int> out;
  while (std::optional<int> v = co_await g.next()) out.push_back(*v);
  // Exhausted stays exhausted.
  EXPECT_FALSE((co_await g.next()).has_value());
  EXPECT_TRUE(g.done());
  co_return out;
}

TEST(Generator, YieldsEveryValueInOrderAcrossAwaits) {
  Counted::reset();
  const auto v = weft::run(collect(count_to(10)), weft::test::options(2));
  EXPECT_EQ(v, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(Counted::live(), 0);
}

Task<std::vector<int>> collect_empty() { co_return co_await collect(count_to(0)); }

TEST(Generator, EmptyBodyEndsAtOnce) {
  EXPECT_TRUE(weft::run(collect_empty(), weft::test::options(1)).empty());
}

Generator<long> naturals(long n) {
  for (long i = 0; i < n; ++i) co_yield i;
}

// A million values pulled without a suspension in between: each next() runs the body and
// gets control back with a plain return, so the stack stays flat on every compiler and
// optimisation level (g++ -O0 makes every symmetric transfer a real call; CI runs this in
// its gcc-debug build).
TEST(Generator, MillionValuesWithoutSuspendingDoNotGrowTheStack) {
  auto body = []() -> Task<long> {
    Generator<long> g = naturals(1'000'000);
    long sum = 0;
    while (std::optional<long> v = co_await g.next()) sum += *v;
    co_return sum;
  };
  weft::RuntimeOptions o = weft::test::options(1);
  o.stall_threshold = std::chrono::milliseconds(0);  // a long synchronous run is the point
  EXPECT_EQ(weft::run(body(), o), 499'999'500'000L);
}

// The two paths meet: values that come after a runtime suspension (the body resumed by its
// loop transfers back to the consumer) between values that come at once.
Generator<int> mixed(int n) {
  for (int i = 0; i < n; ++i) {
    if (i % 1000 == 999) co_await weft::yield();
    co_yield i;
  }
}

TEST(Generator, ValuesAfterASuspensionAndAtOnceInterleave) {
  auto body = []() -> Task<long> {
    Generator<int> g = mixed(100'000);
    long sum = 0;
    int expected = 0;
    while (std::optional<int> v = co_await g.next()) {
      EXPECT_EQ(*v, expected++);
      sum += *v;
    }
    co_return sum;
  };
  for (unsigned loops : {1u, 2u}) {
    weft::RuntimeOptions o = weft::test::options(loops);
    o.stall_threshold = std::chrono::milliseconds(0);
    EXPECT_EQ(weft::run(body(), o), 4'999'950'000L);
  }
}

Generator<std::unique_ptr<std::string>> words() {
  co_yield std::make_unique<std::string>("move");
  auto only = std::make_unique<std::string>("only");
  co_yield std::move(only);
}

Task<std::string> join_words() {
  auto g = words();
  std::string s;
  while (auto w = co_await g.next()) s += **w;
  co_return s;
}

TEST(Generator, MoveOnlyValues) {
  EXPECT_EQ(weft::run(join_words(), weft::test::options(1)), "moveonly");
}

Generator<int> fails_after(int n) {
  for (int i = 0; i < n; ++i) co_yield i;
  throw std::runtime_error("generator failed");
}

Task<int> sum_until_failure() {
  auto g = fails_after(3);
  int sum = 0;
  try {
    while (auto v = co_await g.next()) sum += *v;
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "generator failed");
    sum += 100;
  }
  EXPECT_FALSE((co_await g.next()).has_value()) << "the error is delivered once";
  co_return sum;
}

TEST(Generator, BodyExceptionReachesTheConsumer) {
  EXPECT_EQ(weft::run(sum_until_failure(), weft::test::options(1)), 0 + 1 + 2 + 100);
}

// Abandoned mid-way: the body, suspended at a co_yield, is destroyed with the Generator.
Task<int> take_two(Generator<int> g) {
  int sum = 0;
  for (int k = 0; k < 2; ++k) sum += *(co_await g.next());
  co_return sum;  // g destroyed here, the body still suspended
}

TEST(Generator, AbandonedMidWayDestroysTheBody) {
  Counted::reset();
  EXPECT_EQ(weft::run(take_two(count_to(1000)), weft::test::options(2)), 1);
  EXPECT_EQ(Counted::live(), 0) << "the body's locals were not destroyed";
}

// Cancelling the consumer while the body sleeps: the body unwinds, next() throws.
std::atomic<bool> body_sleeping{false};
std::atomic<int> body_caught{0};

Generator<int> slow_values() {
  Counted c;
  co_yield 1;
  try {
    body_sleeping.store(true);
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
    body_caught.fetch_add(1);
    throw;
  }
  co_yield 2;
}

Task<int> consume_slow() {
  auto g = slow_values();
  int got = 0;
  while (auto v = co_await g.next()) got = *v;
  co_return got;
}

Task<bool> cancel_consumer() {
  body_sleeping.store(false);
  JoinHandle<int> h = weft::spawn(consume_slow());
  EXPECT_TRUE(co_await weft::test::co_wait_until([] { return body_sleeping.load(); }));
  h.cancel();
  try {
    (void)co_await h;
  } catch (const CancelledError&) {
    co_return true;
  }
  co_return false;
}

TEST(Generator, CancellingTheConsumerUnwindsTheBody) {
  Counted::reset();
  body_caught.store(0);
  EXPECT_TRUE(weft::run(cancel_consumer(), weft::test::options(2)));
  EXPECT_EQ(body_caught.load(), 1);
  EXPECT_EQ(Counted::live(), 0);
}

}  // namespace

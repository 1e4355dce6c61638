// weft::Task<T>: laziness, values of every kind, exceptions, symmetric transfer.

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "test_support.hpp"

namespace {

using weft::Task;

Task<int> forty_two() { co_return 42; }
Task<void> nothing() { co_return; }
Task<std::unique_ptr<int>> move_only(int v) { co_return std::make_unique<int>(v); }
int global_value = 7;
Task<int&> reference() { co_return global_value; }
Task<int> throws() {
  throw std::runtime_error("boom");
  co_return 0;
}
// Runs off its end on the path taken: the bug a user's Task<int> may have. clang warns about
// it (-Wreturn-type), g++ 12 does not.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wreturn-type"
#endif
Task<int> forgets_co_return(bool answer) {
  co_await weft::yield();
  if (answer) co_return 1;
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

TEST(Task, ReturnsValuesOfEveryKind) {
  auto body = []() -> Task<int> {
    int a = co_await forty_two();
    co_await nothing();
    auto p = co_await move_only(5);
    int& r = co_await reference();
    r += 1;
    co_return a + *p + r;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options()), 42 + 5 + 8);
  EXPECT_EQ(global_value, 8);
}

TEST(Task, ExceptionReachesTheAwaiter) {
  auto body = []() -> Task<std::string> {
    try {
      co_await throws();
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "not thrown";
  };
  EXPECT_EQ(weft::run(body(), weft::test::options()), "boom");
}

TEST(Task, RunRethrowsTheTasksException) {
  EXPECT_THROW(weft::run(throws(), weft::test::options()), std::runtime_error);
}

TEST(Task, IsLazy) {
  bool ran = false;
  auto make = [&]() -> Task<void> {
    ran = true;
    co_return;
  };
  auto body = [&]() -> Task<bool> {
    Task<void> t = make();
    const bool before = ran;
    co_await std::move(t);
    co_return !before && ran;
  };
  EXPECT_TRUE(weft::run(body(), weft::test::options()));
}

// A million synchronously-completing awaits in a row: each callee returns to its awaiter
// with a plain return, so the stack stays flat on every compiler and level (with symmetric
// transfer alone, g++ -O0 overflowed the 8 MiB stack here; CI runs this in its gcc-debug
// build).
Task<int> one() { co_return 1; }
TEST(Task, MillionSequentialAwaitsDoNotGrowTheStack) {
  auto body = []() -> Task<long> {
    long sum = 0;
    for (int i = 0; i < 1'000'000; ++i) sum += co_await one();
    co_return sum;
  };
  weft::RuntimeOptions o = weft::test::options();
  o.stall_threshold = std::chrono::milliseconds(0);  // a long synchronous run is the point
  EXPECT_EQ(weft::run(body(), o), 1'000'000);
}

// Nested awaits where the innermost suspends on the runtime now and then: the chain comes
// back through the symmetric path (resumed by the loop) and the inline path alike.
Task<int> leaf(int i) {
  if (i % 100 == 99) co_await weft::yield();
  co_return 1;
}
Task<int> middle(int i) { co_return co_await leaf(i) + co_await leaf(i + 1); }

TEST(Task, NestedAwaitsMixingSuspensionsAndInlineEndsCountEveryOne) {
  auto body = []() -> Task<long> {
    long sum = 0;
    for (int i = 0; i < 100'000; ++i) sum += co_await middle(i);
    co_return sum;
  };
  for (unsigned loops : {1u, 2u}) {
    weft::RuntimeOptions o = weft::test::options(loops);
    o.stall_threshold = std::chrono::milliseconds(0);
    EXPECT_EQ(weft::run(body(), o), 200'000);
  }
}

TEST(Task, ATaskThatRunsOffItsEndIsAClearErrorNamingTheCoroutine) {
  auto body = []() -> Task<std::string> {
    try {
      (void)co_await forgets_co_return(false);
    } catch (const std::logic_error& e) {
      co_return e.what();
    }
    co_return "(no error)";
  };
  const std::string message = weft::run(body(), weft::test::options(1));
  EXPECT_NE(message.find("without co_return"), std::string::npos) << message;
  EXPECT_NE(message.find("forgets_co_return"), std::string::npos) << message;
  EXPECT_NE(message.find("task_test.cpp:"), std::string::npos) << message;
  EXPECT_EQ(message.find("taken twice"), std::string::npos) << message;
}

TEST(Task, NeverAwaitedTaskIsReported) {
  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options();
  o.on_report = log.sink();
  auto body = []() -> Task<void> {
    { Task<int> forgotten = forty_two(); }
    co_return;
  };
  weft::run(body(), o);
  ASSERT_EQ(log.count(weft::ReportKind::task_never_awaited), 1u);
  // The report names the coroutine and where it is defined.
  EXPECT_NE(log.reports()[0].task.find("task_test.cpp:"), std::string::npos);
  EXPECT_NE(log.reports()[0].task.find("forty_two"), std::string::npos) << log.reports()[0].task;
}

}  // namespace

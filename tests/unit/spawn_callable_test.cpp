// weft::spawn(callable, args...) and weft::make_task: the callable (a coroutine lambda's
// captures) and the arguments live in the task for as long as it runs, which a spawned
// `[captures]() -> Task<T> {...}()` does not give (its lambda dies at the end of the
// statement). Under ASan, a capture read after that would be a use after free.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <weft/make_task.hpp>
#include <weft/wait_for.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::test::Counted;

TEST(SpawnCallable, ALambdasCapturesOutliveTheStatementThatSpawnedIt) {
  auto body = []() -> Task<std::size_t> {
    JoinHandle<std::size_t> h;
    {
      std::string name(1000, 'x');  // on the heap: ASan sees a read after it is freed
      h = weft::spawn([name]() -> Task<std::size_t> {
        co_await weft::yield();  // the spawning statement and its scope have ended by now
        co_await weft::yield();
        co_return name.size();
      });
    }
    co_return co_await h;
  };
  for (unsigned loops : {1u, 2u}) EXPECT_EQ(weft::run(body(), weft::test::options(loops)), 1000u);
}

Task<std::string> repeat(std::unique_ptr<int> times, const std::string& word) {
  co_await weft::yield();
  std::string out;
  for (int i = 0; i < *times; ++i) out += word;
  co_return out;
}

TEST(SpawnCallable, ArgumentsAreOwnedByTheTaskAndMovedIntoTheCallee) {
  auto body = []() -> Task<std::string> {
    // A move-only argument by value, and a temporary bound to a const reference parameter:
    // the reference refers to the task's own copy, alive until the callee ends.
    auto h = weft::spawn(repeat, std::make_unique<int>(3), std::string("ab"));
    co_return co_await h;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), "ababab");
}

// A finished task's frame goes with the last reference to it (its handle here).
TEST(SpawnCallable, TheCallableAndItsArgumentsGoWithTheTask) {
  const long before = Counted::live();
  auto body = [before]() -> Task<void> {
    {
      auto h = weft::spawn(
          [c = Counted()](Counted arg) -> Task<void> {
            (void)c;
            (void)arg;
            co_await weft::yield();
          },
          Counted());
      co_await h;
    }
    EXPECT_EQ(Counted::live(), before) << "the task kept a copy of its callable or argument";
  };
  weft::run(body(), weft::test::options(1));
  EXPECT_EQ(Counted::live(), before);
}

TEST(SpawnCallable, AFailureReachesTheHandle) {
  auto body = []() -> Task<void> {
    auto h = weft::spawn(
        [](int code) -> Task<int> {
          co_await weft::yield();
          throw std::runtime_error("failed with " + std::to_string(code));
        },
        7);
    EXPECT_THROW(co_await h, std::runtime_error);
  };
  weft::run(body(), weft::test::options(2));
}

TEST(MakeTask, AnOwningTaskWorksWhereverATaskDoes) {
  auto body = []() -> Task<int> {
    const std::string text = "12345";
    // wait_for runs a Task in the awaiting task; the lambda temporary would die before it.
    // (Made before the co_await: g++ 12 mishandles a capturing lambda temporary inside a
    // co_await expression, BUILD_NOTES.md's "g++ 12 specifics".)
    Task<int> owned = weft::make_task([text]() -> Task<int> {
      co_await weft::yield();
      co_return static_cast<int>(text.size());
    });
    const int length = co_await weft::wait_for(std::move(owned), 10s);
    // With a name: spawn the owning task itself.
    auto h = weft::spawn(weft::make_task([](int x) -> Task<int> { co_return x * 2; }, length),
                         {.name = "doubler"});
    co_return co_await h;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options(2)), 10);
}

}  // namespace

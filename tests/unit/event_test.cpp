// weft::Event: set() wakes every waiter (on any loop), waits after set() return at once,
// clear() makes waits block again, and a cancelled waiter leaves nothing behind.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#include <weft/event.hpp>

#include "expect_soon.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Event;
using weft::JoinHandle;
using weft::Task;

using weft::test::expect_soon;

TEST(Event, SetWakesEveryWaiterOnEveryLoop) {
  const std::size_t n = weft::test::scaled(1'000, 100);
  Event event;
  std::atomic<std::size_t> started{0}, woken{0};
  auto waiter = [&]() -> Task<void> {
    started.fetch_add(1);
    co_await event.wait();
    woken.fetch_add(1);
  };
  auto body = [&]() -> Task<void> {
    std::vector<JoinHandle<void>> handles;
    for (std::size_t i = 0; i < n; ++i) handles.push_back(weft::spawn(waiter()));
    co_await expect_soon([&] { return started.load() == n; }, "all started");
    co_await weft::sleep(5ms);  // lets a wait that wrongly returns show itself
    EXPECT_EQ(woken.load(), 0u) << "a wait returned before set()";
    event.set();
    for (auto& handle : handles) {
      if (const bool ok = co_await weft::test::finished_within(handle); !ok) {
        ADD_FAILURE() << "a waiter missed set()";
        co_return;
      }
      co_await handle;
    }
  };
  weft::run(body(), weft::test::options(2));
  EXPECT_EQ(woken.load(), n);
  EXPECT_TRUE(event.is_set());
}

TEST(Event, SetFromAForeignThread) {
  Event event;
  std::atomic<bool> waiting{false};
  weft::Runtime rt(weft::test::options(2));
  auto handle = rt.spawn([](Event* e, std::atomic<bool>* w) -> Task<int> {
    w->store(true);
    co_await e->wait();
    co_return 7;
  }(&event, &waiting));
  ASSERT_TRUE(weft::test::wait_until([&] { return waiting.load(); }));
  event.set();
  ASSERT_TRUE(weft::test::wait_until([&] { return handle.done(); })) << "set() was lost";
  EXPECT_EQ(rt.block_on([](JoinHandle<int>* h) -> Task<int> { co_return co_await *h; }(&handle)),
            7);
}

TEST(Event, WaitAfterSetDoesNotBlockAndClearMakesItBlockAgain) {
  Event event;
  auto body = [&]() -> Task<void> {
    EXPECT_FALSE(event.is_set());
    event.set();
    event.set();  // idempotent
    EXPECT_TRUE(event.is_set());
    for (int i = 0; i < 1000; ++i) co_await event.wait();  // never blocks
    event.clear();
    EXPECT_FALSE(event.is_set());
    auto waiter = weft::spawn([](Event* e) -> Task<void> { co_await e->wait(); }(&event));
    co_await weft::sleep(5ms);
    EXPECT_FALSE(waiter.done()) << "wait() returned on a cleared event";
    event.set();
    EXPECT_TRUE(co_await weft::test::finished_within(waiter));
    co_await waiter;
  };
  weft::run(body(), weft::test::options(2));
}

TEST(Event, CancelledWaiterThrowsAndOthersStillWake) {
  Event event;
  std::atomic<int> started{0};
  auto waiter = [&]() -> Task<void> {
    started.fetch_add(1);
    co_await event.wait();
  };
  auto body = [&]() -> Task<void> {
    auto a = weft::spawn(waiter());
    auto b = weft::spawn(waiter());
    co_await expect_soon([&] { return started.load() == 2; }, "both started");
    co_await weft::sleep(1ms);
    a.cancel();
    EXPECT_THROW(co_await a, CancelledError);
    event.set();
    EXPECT_TRUE(co_await weft::test::finished_within(b));
    co_await b;
  };
  weft::run(body(), weft::test::options(2));
}

// Many rounds of set() racing a cancel: every waiter ends exactly once, either way.
TEST(Event, SetRacingCancelEndsEachWaiterOnce) {
  const std::size_t rounds = weft::test::scaled(2'000, 200);
  std::size_t cancelled = 0, woken = 0;
  auto body = [&]() -> Task<void> {
    for (std::size_t r = 0; r < rounds; ++r) {
      Event event;
      std::atomic<bool> started{false};
      auto waiter = weft::spawn([](Event* e, std::atomic<bool>* s) -> Task<void> {
        s->store(true);
        co_await e->wait();
      }(&event, &started));
      co_await expect_soon([&] { return started.load(); }, "waiter started");
      auto setter = weft::spawn([](Event* e) -> Task<void> {
        e->set();
        co_return;
      }(&event));
      waiter.cancel();
      co_await setter;
      if (const bool ok = co_await weft::test::finished_within(waiter); !ok) {
        ADD_FAILURE() << "waiter never ended in round " << r;
        co_return;
      }
      try {
        co_await waiter;
        ++woken;
      } catch (const CancelledError&) {
        ++cancelled;
      }
    }
  };
  weft::run(body(), weft::test::options(2));
  EXPECT_EQ(cancelled + woken, rounds);
}

}  // namespace

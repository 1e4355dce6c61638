// What a spawned task costs in memory: one block for its header and coroutine frame together
// (weft/detail/task_frame.hpp), from the frame pool, so that a burst of live tasks takes a
// slab now and then rather than a malloc per task. Counted with this binary's global operator
// new and delete (counting_heap.hpp).

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <utility>
#include <weft/weft.hpp>

#include "counting_heap.hpp"
#include "test_support.hpp"

namespace {

using weft::Task;

Task<void> bump(std::uint64_t* count) {
  ++*count;
  co_return;
}

// On one loop the spawned tasks queue behind their spawner, which does not suspend while it
// spawns: all `n` are alive at once when the last is spawned. Then it lets them all run.
Task<double> allocations_per_live_spawn(std::uint64_t n, std::uint64_t* ran) {
  const std::uint64_t before = weft::test::heap_allocations();
  for (std::uint64_t i = 0; i < n; ++i) weft::spawn(bump(ran)).detach();
  const std::uint64_t after = weft::test::heap_allocations();
  EXPECT_TRUE(
      co_await weft::test::co_wait_until([&] { return *ran == n; }, weft::test::kDeadline, {}));
  co_return static_cast<double>(after - before) / static_cast<double>(n);
}

TEST(SpawnMemory, ABurstOfLiveTasksTakesNoAllocationPerTask) {
  constexpr std::uint64_t kTasks = 100'000;
  std::uint64_t ran = 0;
  // A first burst warms up what grows once (the run queues' overflow storage).
  (void)weft::run(allocations_per_live_spawn(kTasks, &ran), weft::test::options(1));
  std::uint64_t ran_again = 0;
  const double per_task =
      weft::run(allocations_per_live_spawn(kTasks, &ran_again), weft::test::options(1));
  EXPECT_EQ(ran_again, kTasks);
  if (!weft::test::kCountsHeap) GTEST_SKIP() << "no heap accounting under TSan";
  // Slabs (one per ~140 tasks) and the injection queue's blocks; two blocks per task before.
  EXPECT_LT(per_task, 0.05) << per_task << " allocations per spawned task";
}

Task<void> noop() { co_return; }

Task<void> spawn_empty_and_awaited() {
  Task<void> empty;
  EXPECT_THROW((void)weft::spawn(std::move(empty)), std::invalid_argument);
  Task<void> awaited = noop();
  co_await awaited;
  EXPECT_THROW((void)weft::spawn(std::move(awaited)), std::invalid_argument);
}

TEST(SpawnMemory, SpawningAnEmptyOrAlreadyAwaitedTaskThrows) {
  weft::run(spawn_empty_and_awaited(), weft::test::options(1));
}

}  // namespace

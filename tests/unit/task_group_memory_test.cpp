// A long-lived TaskGroup (one group for the life of a server, a child per connection) holds
// memory for its live children only: a child that finished, and whose outcome the group has
// dealt with, is freed. Measured with this binary's counting global operator new/delete
// (counting_heap.hpp).

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <weft/task_group.hpp>

#include "counting_heap.hpp"
#include "test_support.hpp"

namespace {

using weft::Task;
using weft::TaskGroup;

long long live_bytes() { return weft::test::live_heap_bytes(); }

Task<void> short_child(std::atomic<std::uint64_t>* finished) {
  co_await weft::yield();
  finished->fetch_add(1, std::memory_order_relaxed);
}

// Spawns `batches` x `batch` children into `group`, one batch at a time: a batch is spawned,
// then the spawner waits until all of it has run (so at most one batch is live at once).
Task<bool> spawn_in_batches(TaskGroup& group, std::atomic<std::uint64_t>& finished,
                            std::uint64_t batches, std::uint64_t batch) {
  for (std::uint64_t b = 0; b < batches; ++b) {
    const std::uint64_t target = finished.load() + batch;
    for (std::uint64_t i = 0; i < batch; ++i) group.spawn(short_child(&finished));
    if (const bool ok = co_await weft::test::co_wait_until(
            [&] { return finished.load() >= target; }, weft::test::kDeadline, {});
        !ok)
      co_return false;
  }
  co_return true;
}

// 100,000 children through one running group. Before: ~470 bytes each stayed allocated until
// the group ended (44 MB). `bound`: what caches may still grow by once warmed up, whatever the
// number of children. On one loop that is almost nothing. On two, blocks that one loop
// allocates and the other frees wait in the freeing loop's frame pool (at most 256 per size
// class and thread), each keeping its 64 KiB slab, and slabs that emptied are kept about a
// second for the next burst: seen up to 6.5 MB.
void finished_children_are_freed_while_the_group_runs(unsigned loops, long long bound) {
  constexpr std::uint64_t kBatch = 250;
  constexpr std::uint64_t kWarmUpBatches = 100;  // 25,000: fills the pools first
  constexpr std::uint64_t kBatches = 400;        // 100,000 children
  long long before = 0;
  long long after = 0;
  bool freed = false;
  auto body = [&]() -> Task<void> {
    co_await weft::with_task_group([&](TaskGroup& group) -> Task<void> {
      std::atomic<std::uint64_t> finished{0};
      EXPECT_TRUE(co_await spawn_in_batches(group, finished, kWarmUpBatches, kBatch));
      before = live_bytes();
      EXPECT_TRUE(co_await spawn_in_batches(group, finished, kBatches, kBatch));
      EXPECT_EQ(finished.load(), (kWarmUpBatches + kBatches) * kBatch);
      // The group frees a child once it has dealt with its end, which may come just after
      // the child's last act: wait (bounded) for that, with the group still running.
      freed = co_await weft::test::co_wait_until([&] { return live_bytes() - before < bound; },
                                                 weft::test::kDeadline, {});
      after = live_bytes();
    });
  };
  weft::run(body(), weft::test::options(loops));
  if (!WEFT_TEST_COUNTS_HEAP) GTEST_SKIP() << "no heap accounting under TSan";
  EXPECT_TRUE(freed) << "live heap grew by " << (after - before) << " bytes over "
                     << kBatches * kBatch << " finished children";
}

TEST(TaskGroupMemory, FinishedChildrenAreFreedWhileTheGroupRunsOneLoop) {
  finished_children_are_freed_while_the_group_runs(1, 96 * 1024);
}

TEST(TaskGroupMemory, FinishedChildrenAreFreedWhileTheGroupRunsTwoLoops) {
  finished_children_are_freed_while_the_group_runs(2, 8 * 1024 * 1024);
}

}  // namespace

// A long-lived TaskGroup (one group for the life of a server, a child per connection) holds
// memory for its live children only: a child that finished, and whose outcome the group has
// dealt with, is freed. Measured with this binary's own global operator new/delete, which
// count the bytes live on the heap (they wrap malloc, so they work under ASan and TSan too).

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <weft/task_group.hpp>

#include "test_support.hpp"

// TSan's runtime defines the global operator new and delete itself, so there the counting
// is off: the test still runs the 100,000 children (for races), then reports itself skipped.
#if defined(__SANITIZE_THREAD__)
#define WEFT_TEST_COUNTS_HEAP 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_COUNTS_HEAP 0
#endif
#endif
#ifndef WEFT_TEST_COUNTS_HEAP
#define WEFT_TEST_COUNTS_HEAP 1
#endif

namespace {

std::atomic<long long> live_heap_bytes{0};

#if WEFT_TEST_COUNTS_HEAP
// Every block carries its size in front of it, so delete knows what it frees. The header is
// as large as the strictest alignment handed out, so the block after it stays aligned.
constexpr std::size_t kHeader = alignof(std::max_align_t);

void* counted_allocate(std::size_t size, std::size_t alignment) {
  const std::size_t header = alignment > kHeader ? alignment : kHeader;
  void* base = nullptr;
  if (posix_memalign(&base, header < sizeof(void*) ? sizeof(void*) : header, header + size) != 0)
    return nullptr;
  auto* block = static_cast<unsigned char*>(base) + header;
  reinterpret_cast<std::size_t*>(block)[-1] = size;
  reinterpret_cast<std::size_t*>(block)[-2] = header;
  // Relaxed: a statistic, read after the work it counts has been joined.
  live_heap_bytes.fetch_add(static_cast<long long>(size), std::memory_order_relaxed);
  return block;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  auto* block = static_cast<unsigned char*>(p);
  const std::size_t size = reinterpret_cast<std::size_t*>(block)[-1];
  const std::size_t header = reinterpret_cast<std::size_t*>(block)[-2];
  live_heap_bytes.fetch_sub(static_cast<long long>(size), std::memory_order_relaxed);
  std::free(block - header);
}

void* counted_new(std::size_t size, std::size_t alignment) {
  void* p = counted_allocate(size == 0 ? 1 : size, alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

#endif  // WEFT_TEST_COUNTS_HEAP

}  // namespace

#if WEFT_TEST_COUNTS_HEAP
void* operator new(std::size_t size) { return counted_new(size, kHeader); }
void* operator new[](std::size_t size) { return counted_new(size, kHeader); }
void* operator new(std::size_t size, std::align_val_t a) {
  return counted_new(size, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t size, std::align_val_t a) {
  return counted_new(size, static_cast<std::size_t>(a));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocate(size == 0 ? 1 : size, kHeader);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocate(size == 0 ? 1 : size, kHeader);
}
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }
#endif  // WEFT_TEST_COUNTS_HEAP

namespace {

using weft::Task;
using weft::TaskGroup;

long long live_bytes() { return live_heap_bytes.load(std::memory_order_relaxed); }

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
// allocates and the other frees pile up in the freeing loop's frame pool, up to its per-class
// cap (4096 idle blocks per size class and thread: a few MB at most, seen up to 1.2 MB).
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

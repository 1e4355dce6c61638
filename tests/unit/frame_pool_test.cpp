// The frame pool (weft/detail/frame_pool.hpp): blocks of every size class are distinct and
// keep what is written to them, a burst is carved from slabs, and the slabs go back once every
// block has come back, whichever thread frees them.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>
#include <weft/detail/frame_pool.hpp>

namespace {

using weft::detail::frame_allocate;
using weft::detail::frame_deallocate;
using weft::detail::frame_pool_slabs_live;
using weft::detail::frame_pool_trim;

struct Block {
  void* p;
  std::size_t size;
  unsigned char fill;
};

// Sizes that hit every class, its edges and the unpooled sizes above the largest.
std::size_t size_for(std::size_t i) { return 1 + (i * 37) % 2400; }

std::vector<Block> allocate_filled(std::size_t n) {
  std::vector<Block> blocks;
  blocks.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Block b{frame_allocate(size_for(i)), size_for(i), static_cast<unsigned char>(i * 7 + 1)};
    std::memset(b.p, b.fill, b.size);
    blocks.push_back(b);
  }
  return blocks;
}

bool intact(const Block& b) {
  const auto* bytes = static_cast<const unsigned char*>(b.p);
  for (std::size_t i = 0; i < b.size; ++i)
    if (bytes[i] != b.fill) return false;
  return true;
}

TEST(FramePool, BlocksOfEverySizeAreDistinctAndKeepTheirContents) {
  std::vector<Block> blocks = allocate_filled(20'000);
  std::size_t damaged = 0;
  for (const Block& b : blocks) damaged += intact(b) ? 0 : 1;
  EXPECT_EQ(damaged, 0u);
  // Pooled blocks keep the alignment of operator new, which coroutine frames rely on.
  for (const Block& b : blocks)
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.p) % __STDCPP_DEFAULT_NEW_ALIGNMENT__, 0u);
  // Freed and allocated again (now from the free lists): still distinct.
  for (std::size_t i = 0; i < blocks.size(); i += 2) frame_deallocate(blocks[i].p, blocks[i].size);
  std::vector<Block> again = allocate_filled(10'000);
  for (std::size_t i = 1; i < blocks.size(); i += 2) damaged += intact(blocks[i]) ? 0 : 1;
  for (const Block& b : again) damaged += intact(b) ? 0 : 1;
  EXPECT_EQ(damaged, 0u);
  for (std::size_t i = 1; i < blocks.size(); i += 2) frame_deallocate(blocks[i].p, blocks[i].size);
  for (const Block& b : again) frame_deallocate(b.p, b.size);
}

// A burst allocated on one thread and freed on another (a spawner's tasks finishing on a
// sibling loop): the slabs it took all go back once both threads are done, so a burst does not
// leave its memory behind. Each thread's pool gives its listed blocks and its current slab back
// when the thread exits; trim() then frees the empty slabs kept for the next burst.
TEST(FramePool, SlabsOfABurstFreedOnAnotherThreadAllGoBack) {
  constexpr std::size_t kBlocks = 200'000;
  constexpr std::size_t kSize = 300;
  frame_pool_trim();
  const std::int64_t before = frame_pool_slabs_live();
  std::vector<void*> blocks;
  std::thread producer([&] {
    blocks.reserve(kBlocks);
    for (std::size_t i = 0; i < kBlocks; ++i) blocks.push_back(frame_allocate(kSize));
  });
  producer.join();
  // 200,000 blocks of 320 bytes: about a thousand 64 KiB slabs, not one allocation each.
  const std::int64_t during = frame_pool_slabs_live() - before;
  EXPECT_GE(during, static_cast<std::int64_t>(kBlocks * 320 / (64 * 1024)));
  EXPECT_LE(during, static_cast<std::int64_t>(kBlocks * 320 / (60 * 1024)));
  std::thread consumer([&] {
    for (void* p : blocks) frame_deallocate(p, kSize);
  });
  consumer.join();
  frame_pool_trim();
  EXPECT_EQ(frame_pool_slabs_live(), before);
}

// Blocks freed on a thread whose pool is gone (a thread_local destroyed after it) still go
// back to their slab.
TEST(FramePool, ABlockFreedAfterItsThreadsPoolEndedGoesBack) {
  frame_pool_trim();
  const std::int64_t before = frame_pool_slabs_live();
  struct FreesLate {
    void* block = nullptr;
    ~FreesLate() { frame_deallocate(block, 100); }
  };
  std::thread t([] {
    // Constructed before the pool's own thread_local, so destroyed after it.
    thread_local FreesLate late;
    late.block = frame_allocate(100);
    std::memset(late.block, 0xab, 100);
  });
  t.join();
  frame_pool_trim();
  EXPECT_EQ(frame_pool_slabs_live(), before);
}

}  // namespace

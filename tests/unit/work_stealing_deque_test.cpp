// weft::detail::WorkStealingDeque, single-threaded: the owner's FIFO order, growth (also
// when the indices have wrapped around the ring), the three answers of steal(), steal-half
// (how many, in which order, into a deque that may have to grow), and the owner after a
// steal. The concurrent promises are in tests/stress/deque_stress_test.cpp.

#include "weft/detail/work_stealing_deque.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

using Deque = weft::detail::WorkStealingDeque<std::uint64_t>;
using weft::detail::StealStatus;

// Everything the owner can still pop, in order.
std::vector<std::uint64_t> drain(Deque::Owner& owner) {
  std::vector<std::uint64_t> out;
  std::uint64_t v = 0;
  while (owner.pop(v)) out.push_back(v);
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {  // [first, last)
  std::vector<std::uint64_t> out;
  for (std::uint64_t v = first; v < last; ++v) out.push_back(v);
  return out;
}

TEST(WorkStealingDeque, OwnerPopsInFifoOrder) {
  auto [owner, stealer] = Deque::make(256);
  for (std::uint64_t v = 1; v <= 100; ++v) owner.push(v);
  EXPECT_EQ(owner.size(), 100);
  EXPECT_EQ(stealer.size(), 100);
  EXPECT_EQ(drain(owner), range(1, 101));
  EXPECT_EQ(owner.size(), 0);
  EXPECT_TRUE(stealer.empty());
  std::uint64_t v = 77;
  EXPECT_FALSE(owner.pop(v));  // empty stays empty
}

TEST(WorkStealingDeque, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(Deque::make(4).first.capacity(), 4);
  EXPECT_EQ(Deque::make(5).first.capacity(), 8);
  EXPECT_EQ(Deque::make(256).first.capacity(), 256);
  EXPECT_EQ(Deque::make(1).first.capacity(), 2);
}

TEST(WorkStealingDeque, CapacityGrowsAndKeepsEveryItem) {
  auto [owner, stealer] = Deque::make(4);
  ASSERT_EQ(owner.capacity(), 4);
  for (std::uint64_t v = 1; v <= 4; ++v) owner.push(v);
  EXPECT_EQ(owner.capacity(), 4);  // exactly full: no growth yet
  owner.push(5);
  EXPECT_EQ(owner.capacity(), 8);
  for (std::uint64_t v = 6; v <= 100; ++v) owner.push(v);
  EXPECT_EQ(owner.capacity(), 128);
  EXPECT_EQ(owner.size(), 100);
  EXPECT_EQ(drain(owner), range(1, 101));
}

// Interleaved push/pop moves top and bottom far past the capacity, so slot i is i & mask
// for indices that have wrapped many times; growing then has to copy a wrapped range
// [top, bottom) into the bigger ring in order.
TEST(WorkStealingDeque, GrowsWhileTheIndicesHaveWrapped) {
  auto [owner, stealer] = Deque::make(4);
  std::uint64_t next_push = 1;
  std::uint64_t next_pop = 1;
  std::uint64_t v = 0;
  // 3 in, 2 out, 1000 times: the ring of 4 wraps hundreds of times while holding < 4 items
  // until the backlog reaches 4, then it must grow with a wrapped range.
  for (int round = 0; round < 1000; ++round) {
    for (int k = 0; k < 3; ++k) owner.push(next_push++);
    for (int k = 0; k < 2; ++k) {
      ASSERT_TRUE(owner.pop(v));
      ASSERT_EQ(v, next_pop++) << "round " << round;
    }
  }
  EXPECT_EQ(owner.size(), 1000);
  EXPECT_GE(owner.capacity(), 1024);
  EXPECT_EQ(drain(owner), range(next_pop, next_push));

  // Fill-to-capacity boundary on a wrapped ring: top = bottom = 2 mod 4 before the fill.
  auto [small, small_stealer] = Deque::make(4);
  small.push(1);
  small.push(2);
  ASSERT_TRUE(small.pop(v));
  ASSERT_TRUE(small.pop(v));
  for (std::uint64_t x = 10; x < 14; ++x) small.push(x);  // indices 2..5 occupy slots 2,3,0,1
  EXPECT_EQ(small.capacity(), 4);
  small.push(14);  // grows with a wrapped [2, 6)
  EXPECT_EQ(small.capacity(), 8);
  EXPECT_EQ(small_stealer.steal().item, 10u);
  EXPECT_EQ(drain(small), range(11, 15));
}

TEST(WorkStealingDeque, StealOnEmptySaysEmpty) {
  auto [owner, stealer] = Deque::make(4);
  auto r = stealer.steal();
  EXPECT_EQ(r.status, StealStatus::empty);
  EXPECT_EQ(r.count, 0);

  auto [dest, dest_stealer] = Deque::make(4);
  r = stealer.steal_half_into(dest);
  EXPECT_EQ(r.status, StealStatus::empty);
  EXPECT_EQ(r.count, 0);
  EXPECT_EQ(dest.size(), 0);

  // Empty again after the items are gone, whoever took them.
  owner.push(1);
  owner.push(2);
  EXPECT_EQ(stealer.steal().status, StealStatus::success);
  std::uint64_t v = 0;
  EXPECT_TRUE(owner.pop(v));
  EXPECT_EQ(stealer.steal().status, StealStatus::empty);
  EXPECT_EQ(stealer.steal_half_into(dest).status, StealStatus::empty);
}

TEST(WorkStealingDeque, StealTakesTheOldestItem) {
  auto [owner, stealer] = Deque::make(4);
  for (std::uint64_t v = 1; v <= 6; ++v) owner.push(v);
  const Deque::Stealer copy = stealer;  // stealers are copyable handles to the same deque
  auto r = stealer.steal();
  ASSERT_EQ(r.status, StealStatus::success);
  EXPECT_EQ(r.item, 1u);
  EXPECT_EQ(r.count, 1);
  r = copy.steal();
  ASSERT_EQ(r.status, StealStatus::success);
  EXPECT_EQ(r.item, 2u);
  EXPECT_EQ(owner.size(), 4);
  EXPECT_EQ(drain(owner), range(3, 7));
}

// ceil(n / 2) for every n up to 40: the first is returned, the other count - 1 land in the
// thief's deque in the victim's order, and the victim keeps the newer half in order.
TEST(WorkStealingDeque, StealHalfTakesTheOlderHalfRoundedUpInOrder) {
  for (std::uint64_t n = 1; n <= 40; ++n) {
    SCOPED_TRACE(n);
    auto [victim, stealer] = Deque::make(4);
    auto [thief, thief_stealer] = Deque::make(4);
    for (std::uint64_t v = 1; v <= n; ++v) victim.push(v);
    const auto r = stealer.steal_half_into(thief);
    const auto expected = static_cast<std::int64_t>((n + 1) / 2);
    ASSERT_EQ(r.status, StealStatus::success);
    EXPECT_EQ(r.count, expected);
    EXPECT_EQ(r.item, 1u);
    EXPECT_EQ(thief.size(), expected - 1);
    EXPECT_EQ(victim.size(), static_cast<std::int64_t>(n) - expected);
    EXPECT_EQ(drain(thief), range(2, static_cast<std::uint64_t>(expected) + 1));
    EXPECT_EQ(drain(victim), range(static_cast<std::uint64_t>(expected) + 1, n + 1));
  }
}

TEST(WorkStealingDeque, StealHalfRespectsMaxBatch) {
  auto [victim, stealer] = Deque::make(256);
  auto [thief, thief_stealer] = Deque::make(256);
  for (std::uint64_t v = 1; v <= 1000; ++v) victim.push(v);
  auto r = stealer.steal_half_into(thief);  // default batch: 128
  ASSERT_EQ(r.status, StealStatus::success);
  EXPECT_EQ(r.count, 128);
  EXPECT_EQ(r.item, 1u);
  EXPECT_EQ(drain(thief), range(2, 129));
  r = stealer.steal_half_into(thief, 5);
  ASSERT_EQ(r.status, StealStatus::success);
  EXPECT_EQ(r.count, 5);
  EXPECT_EQ(r.item, 129u);
  EXPECT_EQ(drain(thief), range(130, 134));
  EXPECT_EQ(victim.size(), 1000 - 133);
}

// The thief's own deque already holds items (and its indices have wrapped): the stolen ones
// go behind them, and its ring grows to make room.
TEST(WorkStealingDeque, StealHalfAppendsToANonEmptyThiefAndGrowsIt) {
  auto [victim, stealer] = Deque::make(4);
  auto [thief, thief_stealer] = Deque::make(4);
  std::uint64_t v = 0;
  for (std::uint64_t x = 1000; x < 1003; ++x) thief.push(x);
  ASSERT_TRUE(thief.pop(v));  // thief: top 1, bottom 3, holds 1001 and 1002
  for (std::uint64_t x = 1; x <= 20; ++x) victim.push(x);
  const auto r = stealer.steal_half_into(thief);
  ASSERT_EQ(r.status, StealStatus::success);
  EXPECT_EQ(r.count, 10);
  EXPECT_EQ(r.item, 1u);
  EXPECT_GE(thief.capacity(), 16);
  std::vector<std::uint64_t> expected = {1001, 1002};
  for (std::uint64_t x = 2; x <= 10; ++x) expected.push_back(x);
  EXPECT_EQ(drain(thief), expected);
  EXPECT_EQ(drain(victim), range(11, 21));
}

TEST(WorkStealingDeque, OwnerPopsTheNextItemAfterASteal) {
  auto [owner, stealer] = Deque::make(4);
  auto [thief, thief_stealer] = Deque::make(4);
  for (std::uint64_t v = 1; v <= 5; ++v) owner.push(v);
  ASSERT_EQ(stealer.steal().item, 1u);
  std::uint64_t v = 0;
  ASSERT_TRUE(owner.pop(v));
  EXPECT_EQ(v, 2u);
  ASSERT_EQ(stealer.steal_half_into(thief).item, 3u);  // takes 3 and 4 (ceil(3/2) = 2)
  ASSERT_TRUE(owner.pop(v));
  EXPECT_EQ(v, 5u);
  EXPECT_FALSE(owner.pop(v));
  // The owner keeps working normally after thieves took from it.
  owner.push(6);
  ASSERT_TRUE(owner.pop(v));
  EXPECT_EQ(v, 6u);
  EXPECT_EQ(drain(thief), std::vector<std::uint64_t>{4});
}

// Pointers are the runtime's item type.
TEST(WorkStealingDeque, HoldsPointers) {
  int cells[3] = {};
  auto [owner, stealer] = weft::detail::WorkStealingDeque<int*>::make(4);
  for (int& c : cells) owner.push(&c);
  EXPECT_EQ(stealer.steal().item, &cells[0]);
  int* p = nullptr;
  ASSERT_TRUE(owner.pop(p));
  EXPECT_EQ(p, &cells[1]);
  ASSERT_TRUE(owner.pop(p));
  EXPECT_EQ(p, &cells[2]);
}

}  // namespace

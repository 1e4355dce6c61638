// detail::MpmcRing: FIFO through many laps at every small capacity (1 included), full and
// empty as the slots say, the gates and the note, reservations that no other push takes,
// items left destroyed, and threads pushing and popping at once losing and duplicating
// nothing.

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <thread>
#include <vector>
#include <weft/detail/mpmc_ring.hpp>

#include "test_support.hpp"

namespace {

using Ring = weft::detail::MpmcRing<std::uint64_t>;
using Mode = Ring::Mode;
using Result = Ring::Result;
using End = Ring::End;
using weft::test::Counted;

Result push(Ring& ring, std::uint64_t v, Mode mode = Mode::fast) { return ring.try_push(v, mode); }
std::optional<std::uint64_t> pop(Ring& ring, Mode mode = Mode::fast) {
  std::optional<std::uint64_t> out;
  const Result r = ring.try_pop(out, mode);
  EXPECT_EQ(r == Result::done || r == Result::done_flagged, out.has_value());
  return out;
}

TEST(MpmcRing, IsFifoThroughManyLapsAndSaysFullAndEmpty) {
  for (std::size_t capacity : {1u, 2u, 3u, 4u, 7u}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    Ring ring(capacity);
    std::uint64_t next_in = 0, next_out = 0;
    std::mt19937 rng(static_cast<unsigned>(capacity));
    for (int round = 0; round < 2'000; ++round) {
      // A random number of pushes then pops, so the ends meet at every offset of the slots.
      for (unsigned n = rng() % (capacity + 2); n > 0; --n) {
        const bool room = next_in - next_out < capacity;
        EXPECT_EQ(push(ring, next_in), room ? Result::done : Result::none);
        if (room) ++next_in;
        EXPECT_EQ(ring.size(), next_in - next_out);
      }
      for (unsigned n = rng() % (capacity + 2); n > 0; --n) {
        const auto v = pop(ring);
        if (next_out == next_in) {
          EXPECT_FALSE(v.has_value()) << "popped from an empty ring";
        } else {
          ASSERT_TRUE(v.has_value()) << "an item was lost";
          ASSERT_EQ(*v, next_out) << "out of order";
          ++next_out;
        }
      }
    }
    EXPECT_EQ(ring.pushed(), next_in);
  }
}

TEST(MpmcRing, GatesStopFastOperationsButNotTheOwner) {
  Ring ring(4);
  ASSERT_EQ(push(ring, 1), Result::done);
  ring.set_flags(End::tail, Ring::kGate);
  ring.set_flags(End::head, Ring::kGate);
  EXPECT_EQ(push(ring, 2), Result::gated);
  EXPECT_EQ(pop(ring), std::nullopt);
  EXPECT_EQ(push(ring, 2, Mode::owner), Result::done);
  EXPECT_EQ(pop(ring, Mode::owner), std::optional<std::uint64_t>(1));
  EXPECT_EQ(ring.flags(End::tail), Ring::kGate) << "an owner operation dropped the gate";
  ring.set_flags(End::tail, 0);
  ring.set_flags(End::head, 0);
  EXPECT_EQ(push(ring, 3), Result::done);
  EXPECT_EQ(pop(ring), std::optional<std::uint64_t>(2));
  EXPECT_EQ(pop(ring), std::optional<std::uint64_t>(3));
}

TEST(MpmcRing, FastOperationsReportAFlagSetOnTheirEnd) {
  Ring ring(4);
  ring.set_flags(End::head, Ring::kNote);  // pops go on, but report it
  ASSERT_EQ(push(ring, 1), Result::done) << "the head's note reached a push";
  std::optional<std::uint64_t> out;
  EXPECT_EQ(ring.try_pop(out, Mode::fast), Result::done_flagged);
  EXPECT_EQ(out, std::optional<std::uint64_t>(1));
  EXPECT_EQ(ring.flags(End::head), Ring::kNote) << "a pop dropped the note";
  ring.set_flags(End::head, 0);
  ASSERT_EQ(push(ring, 2), Result::done);
  out.reset();
  EXPECT_EQ(ring.try_pop(out, Mode::fast), Result::done);
}

TEST(MpmcRing, ReservedRoomIsTakenOnlyByThePushItWasReservedFor) {
  for (std::size_t capacity : {1u, 2u, 3u}) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    Ring ring(capacity);
    for (std::uint64_t i = 0; i + 1 < capacity; ++i) ASSERT_EQ(push(ring, i), Result::done);
    ASSERT_TRUE(ring.room());
    ASSERT_TRUE(ring.reserve());  // the last slot
    EXPECT_EQ(ring.reserved(), 1u);
    EXPECT_FALSE(ring.room());
    EXPECT_FALSE(ring.reserve()) << "reserved room that is not there";
    EXPECT_EQ(push(ring, 100), Result::none) << "a push took the reserved room";
    EXPECT_EQ(push(ring, 100, Mode::owner), Result::none) << "so did an owner push";
    std::uint64_t reserved_item = capacity - 1;
    ASSERT_TRUE(ring.push_reserved(reserved_item));
    EXPECT_EQ(ring.reserved(), 0u);
    for (std::uint64_t i = 0; i < capacity; ++i) EXPECT_EQ(pop(ring), std::optional(i));
    EXPECT_EQ(pop(ring), std::nullopt);
  }
}

// Pushes after a reservation go past the reserved room; the reserved push comes later, into
// room that stayed free; an unused reservation frees its room again.
TEST(MpmcRing, PushesLookPastTheReservedRoom) {
  Ring ring(4);
  ASSERT_TRUE(ring.reserve());
  ASSERT_TRUE(ring.reserve());
  EXPECT_EQ(push(ring, 1), Result::done);
  EXPECT_EQ(push(ring, 2), Result::done);
  EXPECT_EQ(push(ring, 3), Result::none) << "a push took reserved room";
  EXPECT_EQ(ring.size(), 2u);
  std::uint64_t late = 9;
  ASSERT_TRUE(ring.push_reserved(late));
  ring.unreserve();
  EXPECT_EQ(push(ring, 4), Result::done) << "an unreserved slot stayed taken";
  for (std::uint64_t v : {1u, 2u, 9u, 4u}) EXPECT_EQ(pop(ring), std::optional<std::uint64_t>(v));
}

TEST(MpmcRing, ReservationsStopAtTheirLimit) {
  Ring ring(Ring::kMaxReserved + 10);
  for (std::uint64_t i = 0; i < Ring::kMaxReserved; ++i) ASSERT_TRUE(ring.reserve());
  EXPECT_FALSE(ring.reserve()) << "the count would overflow into the flags";
  EXPECT_EQ(ring.reserved(), Ring::kMaxReserved);
  EXPECT_EQ(ring.flags(End::tail), 0u);
  for (std::uint64_t i = 0; i < 10; ++i) EXPECT_EQ(push(ring, i), Result::done);
  EXPECT_EQ(push(ring, 10), Result::none);
}

TEST(MpmcRing, ItemsLeftAreDestroyedWithTheRing) {
  const long base = Counted::live();
  {
    using CountedRing = weft::detail::MpmcRing<Counted>;
    CountedRing ring(3);
    for (int i = 0; i < 5; ++i) {  // wraps: the items left sit across the end of the slots
      Counted c;
      ASSERT_EQ(ring.try_push(c, CountedRing::Mode::fast), CountedRing::Result::done);
      if (i < 3) {
        std::optional<Counted> out;
        (void)ring.try_pop(out, CountedRing::Mode::fast);
      }
    }
    EXPECT_EQ(Counted::live(), base + 2);
  }
  EXPECT_EQ(Counted::live(), base);
}

// Threads push and pop at once (capacity 2: full and empty all the time): each item comes
// out exactly once, and each popper sees each pusher's items in order.
TEST(MpmcRing, ThreadsLoseAndDuplicateNothing) {
  constexpr std::uint64_t kThreads = 3;
  const std::uint64_t per = weft::test::scaled(100'000, 5'000);
  Ring ring(2);
  std::vector<std::vector<std::uint64_t>> got(kThreads);
  std::atomic<std::uint64_t> popped{0};
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::uint64_t next = 0;
      while (next < per || popped.load(std::memory_order_relaxed) < kThreads * per) {
        if (next < per && push(ring, t << 32 | next) == Result::done) ++next;
        if (auto v = pop(ring)) {
          got[t].push_back(*v);
          popped.fetch_add(1, std::memory_order_relaxed);
        }
        if (next == per) std::this_thread::yield();
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<std::vector<char>> seen(kThreads, std::vector<char>(per, 0));
  for (const auto& items : got) {
    std::vector<std::int64_t> last(kThreads, -1);
    for (std::uint64_t v : items) {
      const std::uint64_t from = v >> 32, seq = v & 0xffffffffu;
      ASSERT_LT(from, kThreads);
      ASSERT_LT(seq, per);
      ASSERT_EQ(seen[from][seq], 0) << "item " << from << "/" << seq << " popped twice";
      seen[from][seq] = 1;
      ASSERT_GT(static_cast<std::int64_t>(seq), last[from]) << "a pusher's items out of order";
      last[from] = static_cast<std::int64_t>(seq);
    }
  }
  EXPECT_EQ(popped.load(), kThreads * per);
  EXPECT_EQ(ring.size(), 0u);
}

}  // namespace

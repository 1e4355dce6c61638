// WorkStealingDeque under contention (docs/reliability.md, Scheduler: "the deque never loses or
// duplicates a task"): one owner pushing and popping, 8 thieves stealing one item or half
// a deque into their own deques (which the other thieves rob in turn), 50k items a round.
// Every item must be taken exactly once. At an initial capacity of 4 every deque grows many
// times while thieves read it, so the growth and wrap-around paths race with steals; at 256
// the common path is hammered. A second test checks crossbeam's lesson: `retry` is not
// `empty`, so a thief that keeps trying after `retry` misses nothing, and `empty` is only
// ever said of an empty deque.
//
// Items are 1..n (0 is the "no item" value of a failed steal). Each round has a deadline: an
// item lost for good would otherwise leave the threads waiting forever; instead the round
// stops and the test names the missing items.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <latch>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "weft/detail/work_stealing_deque.hpp"

namespace {

using Deque = weft::detail::WorkStealingDeque<std::uint64_t>;
using weft::detail::StealStatus;
using Clock = std::chrono::steady_clock;

constexpr int kThieves = 8;
// Far above a healthy round (tens of ms in release, a few seconds under TSan), far below
// the CTest timeout.
constexpr auto kRoundDeadline = std::chrono::seconds(60);

// Exactly-once bookkeeping shared by every thread of a round.
class Ledger {
 public:
  explicit Ledger(std::size_t n) : n_(n), taken_(n) {}

  void take(std::uint64_t item) {
    if (item == 0 || item > n_) {
      out_of_range_.fetch_add(1, std::memory_order_relaxed);
    } else {
      taken_[item - 1].fetch_add(1, std::memory_order_relaxed);
    }
    total_.fetch_add(1, std::memory_order_relaxed);
  }
  [[nodiscard]] bool all_taken() const { return total_.load(std::memory_order_relaxed) >= n_; }

  // Called after every thread of the round has been joined. Empty string: exactly once each.
  [[nodiscard]] std::string check() const {
    std::size_t lost = 0, duplicated = 0;
    std::ostringstream examples;
    int shown = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      const unsigned c = taken_[i].load(std::memory_order_relaxed);
      if (c == 1) continue;
      (c == 0 ? lost : duplicated) += 1;
      if (shown++ < 10) examples << " item " << i + 1 << " taken " << c << "x;";
    }
    const std::size_t bad = out_of_range_.load(std::memory_order_relaxed);
    if (lost == 0 && duplicated == 0 && bad == 0) return {};
    std::ostringstream out;
    out << lost << " lost, " << duplicated << " duplicated, " << bad << " out-of-range items (of "
        << n_ << "):" << examples.str();
    return out.str();
  }

 private:
  const std::size_t n_;
  std::vector<std::atomic<std::uint8_t>> taken_;
  std::atomic<std::size_t> total_{0};
  std::atomic<std::size_t> out_of_range_{0};
};

// How the items were taken, summed over the rounds: proof that each path really ran.
struct PathCounts {
  std::atomic<std::uint64_t> owner_pops{0};
  std::atomic<std::uint64_t> single_steals{0};
  std::atomic<std::uint64_t> half_steals{0};   // steal_half_into that moved > 1 item
  std::atomic<std::uint64_t> from_thieves{0};  // successful steals from another thief's deque
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> owner_growths{0};  // rounds whose owner deque grew
};

// One round: `n` items through a fresh owner deque and 8 fresh thief deques.
// Returns the ledger's verdict (empty when every item was taken exactly once).
std::string run_round(std::size_t n, std::int64_t capacity, std::uint64_t seed, PathCounts& paths) {
  Ledger ledger(n);
  // Named handles, not structured bindings: lambdas cannot capture those in C++20.
  auto made = Deque::make(capacity);
  Deque::Owner& owner = made.first;
  const Deque::Stealer& owner_stealer = made.second;
  std::vector<Deque::Owner> thief_owners;
  std::vector<Deque::Stealer> thief_stealers;
  for (int k = 0; k < kThieves; ++k) {
    auto [o, s] = Deque::make(capacity);
    thief_owners.push_back(std::move(o));
    thief_stealers.push_back(std::move(s));
  }
  const Clock::time_point deadline = Clock::now() + kRoundDeadline;
  std::atomic<bool> abort{false};
  std::latch start(kThieves + 1);
  std::atomic<int> running{0};

  // Checks the clock every 1024 calls; sets `abort` once the round is out of time.
  auto out_of_time = [&](std::uint64_t& calls) {
    if (abort.load(std::memory_order_relaxed)) return true;
    if ((++calls & 1023) == 0 && Clock::now() > deadline) abort.store(true);
    return abort.load(std::memory_order_relaxed);
  };

  std::vector<std::thread> thieves;
  for (int k = 0; k < kThieves; ++k) {
    thieves.emplace_back([&, k] {
      std::mt19937_64 rng(seed * 131 + static_cast<std::uint64_t>(k));
      Deque::Owner& mine = thief_owners[static_cast<std::size_t>(k)];
      std::uint64_t calls = 0;
      start.arrive_and_wait();
      running.fetch_add(1, std::memory_order_release);
      while (!ledger.all_taken() && !out_of_time(calls)) {
        // Work through some of our own deque, leaving the rest for other thieves to rob.
        std::uint64_t v = 0;
        const int own = 1 + static_cast<int>(rng() % 8);
        int popped = 0;
        while (popped < own && mine.pop(v)) {
          ledger.take(v);
          ++popped;
        }
        // Mostly rob the owner; sometimes another thief.
        const bool rob_thief = rng() % 4 == 0;
        int victim_index = static_cast<int>(rng() % kThieves);
        if (victim_index == k) victim_index = (victim_index + 1) % kThieves;
        const Deque::Stealer& victim =
            rob_thief ? thief_stealers[static_cast<std::size_t>(victim_index)] : owner_stealer;
        const bool half = rng() % 2 == 0;
        const auto r =
            half ? victim.steal_half_into(mine, 1 + static_cast<std::int64_t>(rng() % 128))
                 : victim.steal();
        switch (r.status) {
          case StealStatus::success:
            ledger.take(r.item);
            (half && r.count > 1 ? paths.half_steals : paths.single_steals)
                .fetch_add(1, std::memory_order_relaxed);
            if (rob_thief) paths.from_thieves.fetch_add(1, std::memory_order_relaxed);
            break;
          case StealStatus::retry:
            paths.retries.fetch_add(1, std::memory_order_relaxed);
            break;  // lost a race, not "no work": try again at once
          case StealStatus::empty:
            if (popped == 0) std::this_thread::yield();  // 9 threads share 2 cores
            break;
        }
      }
    });
  }

  // The owner: bursts of pushes with a few pops in between, then it helps drain.
  {
    std::mt19937_64 rng(seed);
    std::uint64_t calls = 0;
    std::uint64_t v = 0;
    start.arrive_and_wait();
    // Wait until every thief is up, or the owner does most of the round alone.
    while (running.load(std::memory_order_acquire) < kThieves) std::this_thread::yield();
    // The backlog the owner lets build up before it waits for the thieves: bounded, so
    // that they (not the owner's final drain) take most items; above the initial capacity
    // at times, so that the deque grows under their feet.
    const std::int64_t backlog = 128 << (seed % 3);
    std::uint64_t next = 1;
    while (next <= n && !out_of_time(calls)) {
      const std::uint64_t burst = 1 + rng() % 64;
      for (std::uint64_t i = 0; i < burst && next <= n; ++i) owner.push(next++);
      for (std::uint64_t i = rng() % 4; i > 0 && owner.pop(v); --i) {
        ledger.take(v);
        paths.owner_pops.fetch_add(1, std::memory_order_relaxed);
      }
      while (owner.size() > backlog && !out_of_time(calls)) std::this_thread::yield();
    }
    if (owner.capacity() > capacity) paths.owner_growths.fetch_add(1, std::memory_order_relaxed);
    while (!ledger.all_taken() && !out_of_time(calls)) {
      if (owner.pop(v)) {
        ledger.take(v);
        paths.owner_pops.fetch_add(1, std::memory_order_relaxed);
      } else {
        std::this_thread::yield();
      }
    }
  }
  for (auto& t : thieves) t.join();

  std::string verdict = ledger.check();
  if (abort.load()) verdict = "round timed out (an item was lost for good?): " + verdict;
  std::int64_t left = owner.size();
  for (const auto& o : thief_owners) left += o.size();
  if (verdict.empty() && left != 0) verdict = std::to_string(left) + " items left in the deques";
  return verdict;
}

void run_rounds(std::int64_t capacity) {
  const std::size_t n = weft::test::scaled(50'000, 5'000);
  const std::size_t rounds = weft::test::scaled(200, 10);
  PathCounts paths;
  for (std::size_t round = 0; round < rounds; ++round) {
    const std::string verdict = run_round(n, capacity, 1000 + round, paths);
    ASSERT_TRUE(verdict.empty()) << "capacity " << capacity << ", round " << round << ": "
                                 << verdict;
  }
  // Every way of taking an item ran, or this test proved less than it claims.
  EXPECT_GT(paths.owner_pops.load(), 0u);
  EXPECT_GT(paths.single_steals.load(), 0u);
  EXPECT_GT(paths.half_steals.load(), 0u);
  EXPECT_GT(paths.from_thieves.load(), 0u);
  if (capacity <= 4) {
    EXPECT_GT(paths.owner_growths.load(), 0u);
  }
  std::printf(
      "capacity %lld, %zu rounds of %zu: owner pops %llu, steals %llu, half steals %llu, "
      "from thieves %llu, retries %llu, owner grew in %llu rounds\n",
      static_cast<long long>(capacity), rounds, n,
      static_cast<unsigned long long>(paths.owner_pops.load()),
      static_cast<unsigned long long>(paths.single_steals.load()),
      static_cast<unsigned long long>(paths.half_steals.load()),
      static_cast<unsigned long long>(paths.from_thieves.load()),
      static_cast<unsigned long long>(paths.retries.load()),
      static_cast<unsigned long long>(paths.owner_growths.load()));
}

TEST(DequeStress, EachItemTakenExactlyOnceAtCapacity4) { run_rounds(4); }

TEST(DequeStress, EachItemTakenExactlyOnceAtCapacity256) { run_rounds(256); }

// The owner pushes n items (growing from 4 slots) while 8 thieves steal; then it stops
// pushing and pops alongside them. Thieves that get `retry` go straight back; they stop only
// on `empty`. Once pushing is over the deque can only shrink, so an `empty` answer (from a
// thief or a false pop from the owner) while items are still in the deque would be a lie
// that strands work: checked on every such answer. Exactly-once accounting shows that a
// `retry` never consumed the item it lost.
TEST(DequeStress, RetryIsNotEmptyAndThievesThatRetryMissNothing) {
  const std::size_t n = weft::test::scaled(50'000, 5'000);
  const std::size_t rounds = weft::test::scaled(100, 10);
  std::uint64_t retries = 0;
  for (std::size_t round = 0; round < rounds; ++round) {
    Ledger ledger(n);
    auto made = Deque::make(4);
    Deque::Owner& owner = made.first;
    const Deque::Stealer& stealer = made.second;
    std::vector<Deque::Owner> thief_owners;
    for (int k = 0; k < kThieves; ++k) thief_owners.push_back(Deque::make(4).first);
    std::atomic<bool> pushing_done{false};
    std::atomic<std::uint64_t> false_empties{0};
    std::atomic<std::uint64_t> round_retries{0};
    std::latch start(kThieves + 1);
    std::atomic<int> running{0};

    std::vector<std::thread> thieves;
    for (int k = 0; k < kThieves; ++k) {
      thieves.emplace_back([&, k] {
        Deque::Owner& mine = thief_owners[static_cast<std::size_t>(k)];
        std::uint64_t local_retries = 0;
        std::uint64_t v = 0;
        start.arrive_and_wait();
        running.fetch_add(1, std::memory_order_release);
        for (std::uint64_t i = 0;; ++i) {
          // Acquire pairs with the owner's release store: every push happened before.
          const bool done_before = pushing_done.load(std::memory_order_acquire);
          const auto r = (i + static_cast<std::uint64_t>(k)) % 2 == 0
                             ? stealer.steal()
                             : stealer.steal_half_into(mine);
          if (r.status == StealStatus::retry) {
            ++local_retries;
            if (r.count != 0) false_empties.fetch_add(1);  // a retry must not take anything
            continue;
          }
          if (r.status == StealStatus::success) {
            ledger.take(r.item);
            while (mine.pop(v)) ledger.take(v);
            continue;
          }
          // empty
          if (!done_before) {
            std::this_thread::yield();
            continue;
          }
          if (!stealer.empty()) false_empties.fetch_add(1);
          break;
        }
        round_retries.fetch_add(local_retries);
      });
    }
    start.arrive_and_wait();
    // Every thief is up and stealing (finding nothing yet) before the first push.
    while (running.load(std::memory_order_acquire) < kThieves) std::this_thread::yield();
    for (std::uint64_t item = 1; item <= n; ++item) owner.push(item);
    pushing_done.store(true, std::memory_order_release);
    std::uint64_t v = 0;
    while (owner.pop(v)) ledger.take(v);
    if (!stealer.empty()) false_empties.fetch_add(1);  // the owner's pop said empty
    for (auto& t : thieves) t.join();

    const std::string verdict = ledger.check();
    ASSERT_TRUE(verdict.empty()) << "round " << round << ": " << verdict;
    ASSERT_EQ(false_empties.load(), 0u)
        << "round " << round << ": `empty` (or a retry that took an item) while items remained";
    EXPECT_GT(owner.capacity(), 4);
    retries += round_retries.load();
  }
  // With 8 thieves on one `top`, lost CASes are routine; none at all would mean this test
  // never exercised what it is about.
  EXPECT_GT(retries, 0u) << "no thief ever lost a race";
  std::printf("retries seen: %llu\n", static_cast<unsigned long long>(retries));
}

}  // namespace

#pragma once

// Idle: which loops are parked and how many are searching for work, so that new work wakes
// at most one loop and never a herd (the protocol of Tokio's idle.rs, rewritten).
//
// `state_` packs the number of searching loops (low 16 bits) and of unparked loops (high
// 16 bits). The parked set is a bitmask (one bit per loop, in 64-bit words), changed only by
// atomic RMWs: an I/O-bound loop parks and unparks tens of thousands of times a second, and
// a mutex here was contended by two loops parking at once (and cost three lock/unlock
// pairs per park cycle on a cache line both loops write).
//
// The bit and the count are two words, so they are kept in an order that every reader can
// rely on:
//   - a parking loop sets its bit, then decrements the unparked count: whoever sees the
//     count say "parked" finds the bit set (or already claimed by another notifier, who
//     counted it back);
//   - a notifier first reserves a wake-up in the count (CAS: unparked + 1, searching + 1,
//     only if should_notify still holds — so concurrent notifiers wake one loop, not two),
//     then claims a bit (fetch_and); if it finds none, the only parked loop it counted was
//     leaving on its own, and it gives the reservation back. That loop is unparked and will
//     re-check every queue before it parks again, so the work is not stranded;
//   - a loop leaving on its own clears its bit; if the bit was already clear, a notifier
//     claimed it and counted it as unparked and searching.
//
// Rules:
//   - notify_one() (after new work is queued) wakes a parked loop only if no loop is
//     searching: a searching loop will find the work itself. The woken loop starts out
//     searching, so a burst of spawns wakes one loop, not all.
//   - At most half of the loops search at once (bounded stealing contention).
//   - A searching loop that finds work stops searching; if it was the last searcher it
//     wakes another loop, which keeps the work spreading (each thief brings in one more).
//   - Every parking loop re-checks every queue after it joins the parked set and before it
//     blocks (Loop::park; Tokio re-checks only for the last searcher): work queued while it
//     searched or decided to park, whose notify_one() saw a searcher or no parked loop and
//     did nothing, is not stranded.
// Lost wake-ups are excluded by seq_cst on both sides: a producer queues work, then reads
// `state_` through a seq_cst RMW (or fence + load); a parking loop updates `state_` with a
// seq_cst RMW, then re-checks the queues. One of the two sees the other.

#include <atomic>
#include <cstdint>
#include <memory>

namespace weft::detail {

class Idle {
 public:
  explicit Idle(unsigned num_loops);

  // -1, or the index of a parked loop the caller must unpark (now counted as searching).
  [[nodiscard]] int loop_to_notify() noexcept;

  [[nodiscard]] bool transition_to_searching() noexcept;
  // True if the caller was the last searcher (it should then notify another loop).
  [[nodiscard]] bool transition_from_searching() noexcept;
  // Adds `loop` to the parked set. True if it was the last searcher.
  [[nodiscard]] bool transition_to_parked(unsigned loop, bool searching) noexcept;
  // A loop that woke up for its own reasons (I/O, timer, shutdown) leaves the parked set.
  // False if it was no longer there: a notifier removed it and counted it as searching.
  [[nodiscard]] bool leave_parked(unsigned loop) noexcept;
  [[nodiscard]] bool is_parked(unsigned loop) const noexcept;
  // True if some loop other than the caller (which is unparked) is not parked. Relaxed:
  // a hint for spinning, never part of the wake-up protocol.
  [[nodiscard]] bool others_unparked() const noexcept {
    return (state_.load(std::memory_order_relaxed) >> 16) > 1;
  }

 private:
  static constexpr std::uint32_t kSearchMask = 0xffff;
  static constexpr std::uint32_t kUnparkedOne = 1u << 16;

  [[nodiscard]] bool should_notify(std::uint32_t s) const noexcept {
    return (s & kSearchMask) == 0 && (s >> 16) < num_loops_;
  }

  [[nodiscard]] std::atomic<std::uint64_t>& parked_word(unsigned loop) const noexcept {
    return parked_[loop / 64];
  }
  [[nodiscard]] static std::uint64_t parked_bit(unsigned loop) noexcept {
    return std::uint64_t{1} << (loop % 64);
  }

  const unsigned num_loops_;
  std::atomic<std::uint32_t> state_;
  const std::unique_ptr<std::atomic<std::uint64_t>[]> parked_;  // bit i: loop i is parked
};

}  // namespace weft::detail

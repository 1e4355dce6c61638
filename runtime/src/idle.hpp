#pragma once

// Idle: which loops are parked and how many are searching for work, so that new work wakes
// at most one loop and never a herd (the protocol of Tokio's idle.rs, rewritten).
//
// `state_` packs the number of searching loops (low 16 bits) and of unparked loops (high
// 16 bits). The parked set is a vector under a mutex: it changes only when a loop parks or
// is woken, both of which already cost a syscall.
//
// Rules:
//   - notify_one() (after new work is queued) wakes a parked loop only if no loop is
//     searching: a searching loop will find the work itself. The woken loop starts out
//     searching, so a burst of spawns wakes one loop, not all.
//   - At most half of the loops search at once (bounded stealing contention).
//   - A searching loop that finds work stops searching; if it was the last searcher it
//     wakes another loop, which keeps the work spreading (each thief brings in one more).
//   - The last searcher to park re-checks every queue before it blocks: work queued while
//     it searched, whose notify_one() saw it searching and did nothing, is not stranded.
// Lost wake-ups are excluded by seq_cst on both sides: a producer queues work, then reads
// `state_` through a seq_cst RMW (or fence + load); a parking loop updates `state_` with a
// seq_cst RMW, then re-checks the queues. One of the two sees the other.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

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
  [[nodiscard]] bool transition_to_parked(unsigned loop, bool searching);
  // A loop that woke up for its own reasons (I/O, timer, shutdown) leaves the parked set.
  // False if it was no longer there: a notifier removed it and counted it as searching.
  [[nodiscard]] bool leave_parked(unsigned loop);
  [[nodiscard]] bool is_parked(unsigned loop);
  // True if some loop other than the caller (which is unparked) is not parked. Relaxed:
  // a hint for spinning, never part of the wake-up protocol.
  [[nodiscard]] bool others_unparked() const noexcept {
    return (state_.load(std::memory_order_relaxed) >> 16) > 1;
  }
  [[nodiscard]] unsigned num_searching() const noexcept {
    return state_.load(std::memory_order_relaxed) & kSearchMask;
  }

 private:
  static constexpr std::uint32_t kSearchMask = 0xffff;
  static constexpr std::uint32_t kUnparkedOne = 1u << 16;

  [[nodiscard]] bool should_notify(std::uint32_t s) const noexcept {
    return (s & kSearchMask) == 0 && (s >> 16) < num_loops_;
  }

  const unsigned num_loops_;
  std::atomic<std::uint32_t> state_;
  std::mutex mutex_;
  std::vector<unsigned> parked_;  // guarded by mutex_
};

}  // namespace weft::detail

#include "idle.hpp"

#include "sanitizers.hpp"

namespace weft::detail {

Idle::Idle(unsigned num_loops)
    : num_loops_(num_loops),
      state_(num_loops * kUnparkedOne),
      parked_(std::make_unique<std::atomic<std::uint64_t>[]>((num_loops + 63) / 64)) {}

int Idle::loop_to_notify() noexcept {
  // The producer's half of the Dekker pair (see the header): its work is queued; this
  // seq_cst read is ordered after it.
  std::uint32_t s = seq_cst_read(state_);
  do {
    if (!should_notify(s)) return -1;
    // The woken loop is unparked and searching from this moment, so concurrent notifiers
    // see a searcher and do not wake a second loop.
  } while (!state_.compare_exchange_weak(s, s + kUnparkedOne + 1, std::memory_order_seq_cst));
  const unsigned words = (num_loops_ + 63) / 64;
  for (unsigned w = 0; w < words; ++w) {
    std::uint64_t bits = parked_[w].load(std::memory_order_seq_cst);
    while (bits != 0) {
      const std::uint64_t bit = bits & (~bits + 1);  // the lowest set bit
      const std::uint64_t was = parked_[w].fetch_and(~bit, std::memory_order_seq_cst);
      if ((was & bit) != 0)
        return static_cast<int>(w * 64 + static_cast<unsigned>(__builtin_ctzll(bit)));
      bits = was & ~bit;  // another notifier or the loop itself took it; try the others
    }
  }
  // The parked loop we counted is leaving on its own (see the header): give the wake back.
  state_.fetch_sub(kUnparkedOne + 1, std::memory_order_seq_cst);
  return -1;
}

bool Idle::transition_to_searching() noexcept {
  const std::uint32_t s = state_.load(std::memory_order_relaxed);
  // Relaxed read: the bound is a heuristic; exceeding it by one under a race is harmless.
  if (2 * (s & kSearchMask) >= num_loops_) return false;
  state_.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

bool Idle::transition_from_searching() noexcept {
  return (state_.fetch_sub(1, std::memory_order_seq_cst) & kSearchMask) == 1;
}

bool Idle::transition_to_parked(unsigned loop, bool searching) noexcept {
  // The bit before the count (see the header).
  parked_word(loop).fetch_or(parked_bit(loop), std::memory_order_seq_cst);
  const std::uint32_t dec = kUnparkedOne + (searching ? 1 : 0);
  const std::uint32_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
  return searching && (prev & kSearchMask) == 1;
}

bool Idle::leave_parked(unsigned loop) noexcept {
  const std::uint64_t was =
      parked_word(loop).fetch_and(~parked_bit(loop), std::memory_order_seq_cst);
  if ((was & parked_bit(loop)) == 0) return false;  // a notifier claimed us
  state_.fetch_add(kUnparkedOne, std::memory_order_seq_cst);
  return true;
}

bool Idle::is_parked(unsigned loop) const noexcept {
  return (parked_word(loop).load(std::memory_order_seq_cst) & parked_bit(loop)) != 0;
}

}  // namespace weft::detail

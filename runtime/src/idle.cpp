#include "idle.hpp"

#include <algorithm>

#include "sanitizers.hpp"

namespace weft::detail {

Idle::Idle(unsigned num_loops) : num_loops_(num_loops), state_(num_loops * kUnparkedOne) {
  parked_.reserve(num_loops);
}

int Idle::loop_to_notify() noexcept {
  // The producer's half of the Dekker pair (see the header): its work is queued; this
  // seq_cst read is ordered after it.
  if (!should_notify(seq_cst_read(state_))) return -1;
  std::lock_guard lock(mutex_);
  if (!should_notify(state_.load(std::memory_order_seq_cst)) || parked_.empty()) return -1;
  const unsigned loop = parked_.back();
  parked_.pop_back();
  // The woken loop is unparked and searching from this moment, so concurrent notifiers
  // see a searcher and do not wake a second loop.
  state_.fetch_add(kUnparkedOne + 1, std::memory_order_seq_cst);
  return static_cast<int>(loop);
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

bool Idle::transition_to_parked(unsigned loop, bool searching) {
  std::lock_guard lock(mutex_);
  const std::uint32_t dec = kUnparkedOne + (searching ? 1 : 0);
  const std::uint32_t prev = state_.fetch_sub(dec, std::memory_order_seq_cst);
  parked_.push_back(loop);
  return searching && (prev & kSearchMask) == 1;
}

bool Idle::leave_parked(unsigned loop) {
  std::lock_guard lock(mutex_);
  auto it = std::find(parked_.begin(), parked_.end(), loop);
  if (it == parked_.end()) return false;
  parked_.erase(it);
  state_.fetch_add(kUnparkedOne, std::memory_order_seq_cst);
  return true;
}

bool Idle::is_parked(unsigned loop) {
  std::lock_guard lock(mutex_);
  return std::find(parked_.begin(), parked_.end(), loop) != parked_.end();
}

}  // namespace weft::detail

#pragma once

// Parker: lets a loop block in its reactor and lets any thread wake it, with an eventfd
// write only when the loop is really blocked (or about to be).
//
// State: EMPTY (running), PARKED (blocked or committed to block), NOTIFIED (a wake-up is
// owed). unpark() swaps in NOTIFIED and writes the eventfd only if it replaced PARKED;
// begin_park() moves EMPTY -> PARKED, or consumes a pending NOTIFIED and does not block.
// Both are seq_cst RMWs on one word, so a work item published before unpark() is seen by
// the loop's re-check after begin_park(), or the loop is already PARKED and gets the write.

#include <atomic>
#include <cstdint>

#include "reactor.hpp"

namespace weft::detail {

class Parker {
 public:
  explicit Parker(Reactor& reactor) noexcept : reactor_(reactor) {}

  // Loop thread. False: a wake-up was pending (now consumed); do not block.
  [[nodiscard]] bool begin_park() noexcept {
    std::uint32_t expected = kEmpty;
    if (state_.compare_exchange_strong(expected, kParked, std::memory_order_seq_cst)) return true;
    // Consume the pending wake-up(s); the caller re-checks every work source next.
    state_.exchange(kEmpty, std::memory_order_acquire);
    return false;
  }
  // Loop thread, after the reactor returned. True if another thread unparked us.
  bool end_park() noexcept {
    // Acquire pairs with unpark()'s exchange: work published before it is visible.
    return state_.exchange(kEmpty, std::memory_order_acquire) == kNotified;
  }
  // Any thread.
  void unpark() noexcept {
    if (state_.exchange(kNotified, std::memory_order_seq_cst) == kParked) reactor_.notify();
  }

 private:
  static constexpr std::uint32_t kEmpty = 0;
  static constexpr std::uint32_t kParked = 1;
  static constexpr std::uint32_t kNotified = 2;

  Reactor& reactor_;
  std::atomic<std::uint32_t> state_{kEmpty};
};

}  // namespace weft::detail

#pragma once

// SpinLock: a lock for critical sections of a few dozen instructions whose owner is almost
// never contended: a loop's task registry, which the loop changes on every spawn and
// completion and a task dump walks now and then (task_dump.cpp). Uncontended it costs one
// exchange and one store, where a std::mutex also costs a call and, when contended, a futex
// round trip the dump could then impose on the loop. A dump holds it for a bounded number of
// tasks at a time, so a loop never spins for long.

#include <atomic>

namespace weft::detail {

class SpinLock {
 public:
  void lock() noexcept {
    // Acquire pairs with unlock()'s release: the previous holder's writes are visible.
    while (locked_.exchange(true, std::memory_order_acquire)) {
      // Wait on plain loads, so the cache line is not bounced by failed exchanges.
      while (locked_.load(std::memory_order_relaxed)) relax();
    }
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  static void relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  std::atomic<bool> locked_{false};
};

}  // namespace weft::detail

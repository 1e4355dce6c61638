#pragma once

// RegistryGuard: mutual exclusion between a loop, which changes its registry of live tasks on
// every spawn and completion, and a task dump on another thread, which walks it now and then
// (task_dump.cpp). Asymmetric, so the loop pays two plain stores and a load per change, and
// the rare dump pays for both sides.
//
// The protocol, a Dekker pair whose heavy half is a membarrier(2):
//   owner:  busy = true; if dumping: busy = false, wait until !dumping, start again;
//           change the list; busy = false (release).
//   dump:   dumping = true; membarrier(PRIVATE_EXPEDITED); wait until !busy (acquire);
//           walk; dumping = false (release).
// The membarrier makes every thread of the process execute a full barrier before it returns,
// so the owner's `busy = true` and its load of `dumping` cannot both have passed the dump's
// store and load in the wrong order: either the dump sees busy (and waits for the change to
// end), or the owner sees dumping (and steps back). Without that barrier the owner would need
// a locked instruction per change: an exchange on every spawn and completion cost the spawn
// benchmarks 10-20%.
//
// Orderings: the owner's `busy = false` is a release and the dump's wait an acquire, so the
// dump sees the list as the last change left it; the dump's `dumping = false` is a release
// and the owner's check an acquire, so the walk's reads happen before the owner's next change.
//
// Where membarrier's expedited command is not available (an old kernel, a seccomp filter),
// the owner runs a seq_cst fence between its store and its load instead.

#include <atomic>
#include <mutex>

namespace weft::detail {

class RegistryGuard {
 public:
  // Once per process, before any guard is used: registers for membarrier's expedited command.
  static void init_process() noexcept;

  // The owner's side (the loop's thread only).
  void owner_lock() noexcept {
    for (;;) {
      busy_.store(true, std::memory_order_relaxed);
      if (!membarrier_available()) {
        std::atomic_thread_fence(std::memory_order_seq_cst);
      } else {
        std::atomic_signal_fence(std::memory_order_seq_cst);  // the compiler keeps the order
      }
      if (!dumping_.load(std::memory_order_acquire)) return;
      busy_.store(false, std::memory_order_release);
      while (dumping_.load(std::memory_order_acquire)) relax();
    }
  }
  void owner_unlock() noexcept { busy_.store(false, std::memory_order_release); }

  // The dump's side (any thread; dumps of one loop take turns).
  void dump_lock();
  void dump_unlock() noexcept {
    dumping_.store(false, std::memory_order_release);
    dumps_.unlock();
  }

  // The two sides as scopes.
  class OwnerScope {
   public:
    explicit OwnerScope(RegistryGuard& guard) noexcept : guard_(guard) { guard_.owner_lock(); }
    ~OwnerScope() { guard_.owner_unlock(); }
    OwnerScope(const OwnerScope&) = delete;
    OwnerScope& operator=(const OwnerScope&) = delete;

   private:
    RegistryGuard& guard_;
  };
  class DumpScope {
   public:
    explicit DumpScope(RegistryGuard& guard) : guard_(guard) { guard_.dump_lock(); }
    ~DumpScope() { guard_.dump_unlock(); }
    DumpScope(const DumpScope&) = delete;
    DumpScope& operator=(const DumpScope&) = delete;

   private:
    RegistryGuard& guard_;
  };

 private:
  // Written once by init_process() before any loop starts (thread creation orders it), then
  // read by every change of a registry: relaxed, and inline, so the owner's side is a load.
  static bool membarrier_available() noexcept {
    return expedited_membarrier_.load(std::memory_order_relaxed);
  }
  static inline std::atomic<bool> expedited_membarrier_{false};
  static void relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  std::atomic<bool> busy_{false};
  std::atomic<bool> dumping_{false};
  std::mutex dumps_;
};

}  // namespace weft::detail

#include "registry_guard.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace weft::detail {

namespace {

std::once_flag membarrier_once;

long membarrier(int command) noexcept { return ::syscall(__NR_membarrier, command, 0U, 0); }

}  // namespace

void RegistryGuard::init_process() noexcept {
  std::call_once(membarrier_once, [] {
    const long supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return;
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) return;
    expedited_membarrier_.store(true, std::memory_order_relaxed);
  });
}

void RegistryGuard::dump_lock() {
  dumps_.lock();
  dumping_.store(true, std::memory_order_relaxed);
  if (membarrier_available()) {
    // Every running thread of the process executes a full barrier before this returns: the
    // owner's busy store and its dumping load are ordered around ours (see the header).
    (void)membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
  while (busy_.load(std::memory_order_acquire)) relax();
}

}  // namespace weft::detail

#pragma once

#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif

#include <atomic>

namespace weft::detail {

// Reads `word` with the ordering of "seq_cst fence, then relaxed load": the reading half of
// a Dekker pair whose other half is a seq_cst RMW on `word`. TSan does not model fences, so
// under TSan the read is a seq_cst RMW instead (stronger, and visible to the tool); in
// normal builds the fence keeps the cache line shared between loops.
template <class T>
T seq_cst_read(std::atomic<T>& word) noexcept {
#if defined(WEFT_TSAN)
  return word.fetch_add(0, std::memory_order_seq_cst);
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return word.load(std::memory_order_relaxed);
#endif
}

}  // namespace weft::detail

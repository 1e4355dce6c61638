#include "weft/detail/frame_pool.hpp"

#include <array>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif

#if defined(WEFT_ASAN)
#include <sanitizer/asan_interface.h>
#define WEFT_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define WEFT_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define WEFT_POISON(p, n) ((void)(p), (void)(n))
#define WEFT_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace weft::detail {
namespace {

// 64-byte classes up to 2 KiB cover the frames weft and typical handlers create (measured
// frames of the benchmark tasks are 96-400 bytes). Guess, tune with bytes-per-spawn figures.
constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 32;
// Per class, at most this many idle blocks stay on one thread; the rest go back to malloc.
constexpr std::size_t kMaxIdlePerClass = 4096;

struct FreeBlock {
  FreeBlock* next;
};

class ThreadFramePool {
 public:
  ThreadFramePool() = default;
  ThreadFramePool(const ThreadFramePool&) = delete;
  ThreadFramePool& operator=(const ThreadFramePool&) = delete;

  ~ThreadFramePool() {
    for (std::size_t c = 0; c < kClasses; ++c) {
      FreeBlock* b = heads_[c];
      while (b != nullptr) {
        WEFT_UNPOISON(b, (c + 1) * kGranule);
        FreeBlock* next = b->next;
        ::operator delete(b);
        b = next;
      }
    }
  }

  void* allocate(std::size_t cls) {
    FreeBlock* b = heads_[cls];
    if (b == nullptr) return ::operator new((cls + 1) * kGranule);
    WEFT_UNPOISON(b, (cls + 1) * kGranule);
    heads_[cls] = b->next;
    --counts_[cls];
    return b;
  }

  void deallocate(void* p, std::size_t cls) noexcept {
    if (counts_[cls] >= kMaxIdlePerClass) {
      ::operator delete(p);
      return;
    }
    auto* b = static_cast<FreeBlock*>(p);
    b->next = heads_[cls];
    heads_[cls] = b;
    ++counts_[cls];
    WEFT_POISON(b, (cls + 1) * kGranule);
  }

 private:
  std::array<FreeBlock*, kClasses> heads_{};
  std::array<std::size_t, kClasses> counts_{};
};

// The pool's thread_local has a destructor; once it has run (thread exit), frames freed
// late on this thread go straight to the allocator.
thread_local bool tls_pool_alive = false;

ThreadFramePool* thread_pool() {
  thread_local struct Holder {
    ThreadFramePool pool;
    Holder() { tls_pool_alive = true; }
    ~Holder() { tls_pool_alive = false; }
  } holder;
  return tls_pool_alive ? &holder.pool : nullptr;
}

constexpr std::size_t class_of(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }

}  // namespace

void* frame_allocate(std::size_t size) {
  const std::size_t cls = class_of(size);
  if (cls >= kClasses) return ::operator new(size);
  ThreadFramePool* pool = thread_pool();
  return pool != nullptr ? pool->allocate(cls) : ::operator new((cls + 1) * kGranule);
}

void frame_deallocate(void* block, std::size_t size) noexcept {
  const std::size_t cls = class_of(size);
  if (cls >= kClasses) {
    ::operator delete(block);
    return;
  }
  // A thread in the middle of exiting (its pool destroyed) frees directly.
  if (ThreadFramePool* pool = thread_pool()) {
    pool->deallocate(block, cls);
  } else {
    ::operator delete(block);
  }
}

}  // namespace weft::detail

#include "weft/detail/frame_pool.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <new>
#include <utility>

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

// The frame pool: size classes of 64 bytes up to 2 KiB, per-thread free lists in front, and
// slabs behind them.
//
// Free lists. Each thread keeps one list per class and takes from it without a lock. A block
// freed on another thread joins *that* thread's list (frames migrate with work stealing).
// A list holds at most kMaxIdlePerClass blocks; past that, a freed block goes back to its slab.
//
// Slabs. A list that is empty carves a block from the thread's current slab: 64 KiB aligned
// to 64 KiB, cut by a bump pointer into blocks of any class. So a burst of a million live
// tasks costs one slab allocation per ~170 frames instead of a malloc per frame, and the
// blocks of one burst sit next to each other. A block finds its slab by masking its address.
//
// A slab goes back to the allocator once every block carved from it has come back, from
// whichever thread. Its `outstanding` counter must not cost an atomic on every carve, so the
// carving thread pays in advance: a slab starts at kCarvingCredit, every returned block
// takes one away (any thread, fetch_sub), and when the carving thread retires the slab (it
// is full) it takes away the credit it did not use, kCarvingCredit - carved. The counter
// reaches zero exactly once, after the last of those subtractions, and whoever makes it
// reach zero frees the slab. Before retirement it cannot reach zero: the unused credit is
// still in it. acq_rel on the subtractions: the freer of the slab must see every write to
// the blocks by the threads that returned them.
//
// What stays idle: at most kMaxIdlePerClass blocks per class per thread, and each thread's
// current slab. Blocks above the largest class go straight to ::operator new. Under
// AddressSanitizer a listed block and a slab's uncarved tail are poisoned, so a use after
// free is still caught.

namespace weft::detail {
namespace {

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 32;  // blocks up to 2 KiB
constexpr std::size_t kMaxIdlePerClass = 256;
constexpr std::size_t kSlabSize = std::size_t{64} << 10;
// The slab's header takes the first cache line, so its counter shares a line with no block.
constexpr std::size_t kSlabHeader = 64;
constexpr std::uint32_t kCarvingCredit = 1u << 30;  // more blocks than a slab can hold

constexpr std::size_t class_of(std::size_t size) { return (size + kGranule - 1) / kGranule - 1; }
constexpr std::size_t class_bytes(std::size_t cls) { return (cls + 1) * kGranule; }

// Slabs allocated and not yet freed, for frame_pool_slabs_live() (tests, diagnostics). A
// counter only: relaxed everywhere, since nobody reads a slab's memory through it.
std::atomic<std::int64_t> g_slabs_live{0};

class EmptySlabs;
EmptySlabs& empty_slabs();

struct Slab {
  std::atomic<std::uint32_t> outstanding{0};

  Slab* next_empty = nullptr;  // link in EmptySlabs, while the slab is there

  static Slab* create(std::uint32_t initial);
  static Slab* of(void* block) {
    return reinterpret_cast<Slab*>(reinterpret_cast<std::uintptr_t>(block) & ~(kSlabSize - 1));
  }
  std::byte* first_block() { return reinterpret_cast<std::byte*>(this) + kSlabHeader; }
  std::byte* end() { return reinterpret_cast<std::byte*>(this) + kSlabSize; }

  // Takes `n` from the counter; the caller that brings it to zero hands the slab to
  // EmptySlabs.
  void settle(std::uint32_t n) noexcept;
};
static_assert(sizeof(Slab) <= kSlabHeader);

// Slabs whose blocks have all come back wait here to be carved again, so a program that
// repeats a burst (a million tasks, then none, then a million) reuses the same memory instead
// of returning it and faulting it in again. Memory a program stopped needing goes back after
// a second or two: every kDecay, the slabs that stayed unused for the whole period (the
// smallest the stack got) are freed, down to kKeepEmpty. The check runs when a slab comes or
// goes (once per ~140 frames) and when a runtime's monitor thread samples its loops
// (frame_pool_decay), under a mutex that only those moments take.
class EmptySlabs {
 public:
  Slab* take() {
    {
      std::lock_guard guard(lock_);
      if (top_ != nullptr) {
        Slab* slab = top_;
        top_ = slab->next_empty;
        --count_;
        low_water_ = std::min(low_water_, count_);
        return slab;
      }
      low_water_ = 0;
    }
    void* mem = ::operator new (kSlabSize, std::align_val_t{kSlabSize});
    g_slabs_live.fetch_add(1, std::memory_order_relaxed);
    return ::new (mem) Slab{};
  }

  void give(Slab* slab) noexcept {
    Slab* to_free = nullptr;
    {
      std::lock_guard guard(lock_);
      slab->next_empty = top_;
      top_ = slab;
      ++count_;
      to_free = decay_locked(std::chrono::steady_clock::now());
    }
    free_list(to_free);
  }

  // The decay when no slab comes or goes (frame_pool_decay).
  void decay() noexcept {
    const auto now = std::chrono::steady_clock::now();
    // Relaxed: a hint that spares the lock between decays; decay_locked() decides.
    if (now.time_since_epoch().count() < next_decay_.load(std::memory_order_relaxed)) return;
    Slab* to_free = nullptr;
    {
      std::lock_guard guard(lock_);
      to_free = decay_locked(now);
    }
    free_list(to_free);
  }

  // Frees every empty slab now (frame_pool_trim).
  void trim() noexcept {
    Slab* to_free = nullptr;
    {
      std::lock_guard guard(lock_);
      to_free = std::exchange(top_, nullptr);
      count_ = 0;
      low_water_ = 0;
    }
    free_list(to_free);
  }

 private:
  // Once per kDecay: unlinks the slabs unused for the whole period (the low-water mark, less
  // what is always kept) and returns them, to be freed outside the lock.
  Slab* decay_locked(std::chrono::steady_clock::time_point now) noexcept {
    if (now - last_decay_ < kDecay) return nullptr;
    last_decay_ = now;
    next_decay_.store((now + kDecay).time_since_epoch().count(), std::memory_order_relaxed);
    Slab* to_free = nullptr;
    std::size_t n = low_water_ > kKeepEmpty ? low_water_ - kKeepEmpty : 0;
    while (n-- > 0) {
      Slab* s = top_;
      top_ = s->next_empty;
      --count_;
      s->next_empty = to_free;
      to_free = s;
    }
    low_water_ = count_;
    return to_free;
  }

  static void free_list(Slab* list) noexcept {
    while (list != nullptr) {
      Slab* s = std::exchange(list, list->next_empty);
      s->~Slab();
      WEFT_UNPOISON(s, kSlabSize);
      ::operator delete (s, std::align_val_t{kSlabSize});
      g_slabs_live.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  static constexpr auto kDecay = std::chrono::seconds(1);
  static constexpr std::size_t kKeepEmpty = 16;  // 1 MiB

  std::mutex lock_;
  Slab* top_ = nullptr;
  std::size_t count_ = 0;
  std::size_t low_water_ = 0;
  std::chrono::steady_clock::time_point last_decay_{};
  std::atomic<std::chrono::steady_clock::rep> next_decay_{0};
};

// Never destroyed: slabs come back from threads that outlive static destruction.
EmptySlabs& empty_slabs() {
  static auto* slabs = new EmptySlabs;
  return *slabs;
}

void Slab::settle(std::uint32_t n) noexcept {
  if (outstanding.fetch_sub(n, std::memory_order_acq_rel) == n) {
    WEFT_POISON(first_block(), kSlabSize - kSlabHeader);
    empty_slabs().give(this);
  }
}

Slab* Slab::create(std::uint32_t initial) {
  Slab* slab = empty_slabs().take();
  // Relaxed: only this thread can touch the slab until it hands out its first block, and a
  // block reaches another thread only through a synchronizing hand-over (a task moving
  // between loops), which carries this store with it.
  slab->outstanding.store(initial, std::memory_order_relaxed);
  WEFT_POISON(slab->first_block(), kSlabSize - kSlabHeader);
  return slab;
}

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
      for (FreeBlock* b = heads_[c]; b != nullptr;) {
        WEFT_UNPOISON(b, class_bytes(c));
        FreeBlock* next = b->next;
        Slab::of(b)->settle(1);
        b = next;
      }
    }
    retire_current_slab();
  }

  void* allocate(std::size_t cls) {
    if (FreeBlock* b = heads_[cls]) {
      WEFT_UNPOISON(b, class_bytes(cls));
      heads_[cls] = b->next;
      --counts_[cls];
      return b;
    }
    return carve(class_bytes(cls));
  }

  void deallocate(void* p, std::size_t cls) noexcept {
    if (counts_[cls] >= kMaxIdlePerClass) {
      Slab::of(p)->settle(1);
      return;
    }
    auto* b = static_cast<FreeBlock*>(p);
    b->next = heads_[cls];
    heads_[cls] = b;
    ++counts_[cls];
    WEFT_POISON(b, class_bytes(cls));
  }

 private:
  void* carve(std::size_t bytes) {
    if (current_ == nullptr || static_cast<std::size_t>(current_->end() - cursor_) < bytes) {
      retire_current_slab();
      current_ = Slab::create(kCarvingCredit);
      cursor_ = current_->first_block();
      carved_ = 0;
    }
    std::byte* block = cursor_;
    cursor_ += bytes;
    ++carved_;
    WEFT_UNPOISON(block, bytes);
    return block;
  }

  void retire_current_slab() noexcept {
    if (current_ == nullptr) return;
    Slab* slab = std::exchange(current_, nullptr);
    slab->settle(kCarvingCredit - carved_);
  }

  std::array<FreeBlock*, kClasses> heads_{};
  std::array<std::size_t, kClasses> counts_{};
  Slab* current_ = nullptr;
  std::byte* cursor_ = nullptr;
  std::uint32_t carved_ = 0;
};

// The pool's thread_local has a destructor; once it has run (thread exit), frames freed
// late on this thread go straight back to their slabs.
thread_local bool tls_pool_alive = false;

ThreadFramePool* thread_pool() {
  thread_local struct Holder {
    ThreadFramePool pool;
    Holder() { tls_pool_alive = true; }
    ~Holder() { tls_pool_alive = false; }
  } holder;
  return tls_pool_alive ? &holder.pool : nullptr;
}

}  // namespace

void* frame_allocate(std::size_t size) {
  const std::size_t cls = class_of(size);
  if (cls >= kClasses) return ::operator new(size);
  if (ThreadFramePool* pool = thread_pool()) return pool->allocate(cls);
  // A thread whose pool is gone (it is exiting) gets a slab of its own for this one block,
  // so every pooled block has a slab and frees the same way. Rare: a frame made by a
  // thread_local's destructor.
  Slab* slab = Slab::create(1);
  void* block = slab->first_block();
  WEFT_UNPOISON(block, class_bytes(cls));
  return block;
}

void frame_deallocate(void* block, std::size_t size) noexcept {
  const std::size_t cls = class_of(size);
  if (cls >= kClasses) {
    ::operator delete(block);
    return;
  }
  if (ThreadFramePool* pool = thread_pool()) {
    pool->deallocate(block, cls);
  } else {
    Slab::of(block)->settle(1);
  }
}

void frame_pool_trim() noexcept { empty_slabs().trim(); }

void frame_pool_decay() noexcept { empty_slabs().decay(); }

std::int64_t frame_pool_slabs_live() noexcept {
  return g_slabs_live.load(std::memory_order_relaxed);
}

}  // namespace weft::detail

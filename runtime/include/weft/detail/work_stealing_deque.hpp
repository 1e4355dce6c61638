#pragma once

// WorkStealingDeque: each loop's run queue. One owner thread pushes at the bottom; the owner
// and any number of thieves take from the top. It is the Chase–Lev deque (growable circular
// array, C11 orderings after Lê, Pop, Cohen and Zappa Nardelli, PPoPP 2013) with one change:
// the owner takes from the *top* too, through the same CAS as a thief. That makes the owner's
// order FIFO — a runtime needs it so that a task which yields or re-spawns cannot starve the
// older tasks queued behind it — and it removes the one race that makes Chase–Lev subtle
// (the owner's bottom pop against a thief's top CAS for the last item), so a thief can take
// a whole batch (steal half) with a single CAS on `top`.
//
// Invariants:
//   - Indices are signed 64-bit and only grow; slot i lives at buffer[i & mask].
//   - Only the owner writes slots and `bottom_`; an item at index i is published by the
//     release store of bottom_ > i and read after an acquire load of bottom_ > i.
//   - Every take (owner or thief) reads its slots *before* a CAS on `top_` that claims them;
//     a failed CAS means someone else took them and the values read are discarded.
//   - Slots are atomics (relaxed): a thief with a stale `top` may read a slot the owner is
//     overwriting; its CAS then fails, but the read itself must not be a data race.
//   - Growth copies [top, bottom) into a buffer twice the size and publishes it with
//     release before the bottom_ store that needs it; thieves load it with acquire after
//     bottom_. An old buffer is never freed while the deque lives (a thief may still be
//     reading it); their total size is below the current buffer's, so this costs < 2x.
//   - The owner reuses a slot only after observing (acquire on top_) the CAS that retired
//     the index that last used it, so that thief's read of it happened before.
//
// steal() says Empty, Success or Retry (crossbeam's lesson): a thief that loses a CAS has
// not seen an empty queue and must not park because of it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace weft::detail {

enum class StealStatus { empty, success, retry };

template <class T>
struct StealResult {
  StealStatus status = StealStatus::empty;
  T item{};                // the (first) item taken, valid on success
  std::int64_t count = 0;  // items taken (steal_half moves count - 1 into the thief's deque)
};

template <class T>
class WorkStealingDeque {
  static_assert(std::is_trivially_copyable_v<T> && std::atomic<T>::is_always_lock_free,
                "items are stored in lock-free atomics: use pointers or integers");

  struct Buffer {
    explicit Buffer(std::int64_t capacity)
        : mask(capacity - 1), slots(std::make_unique<std::atomic<T>[]>(capacity)) {}
    std::int64_t capacity() const noexcept { return mask + 1; }
    T get(std::int64_t i) const noexcept { return slots[i & mask].load(std::memory_order_relaxed); }
    void put(std::int64_t i, T v) noexcept { slots[i & mask].store(v, std::memory_order_relaxed); }
    const std::int64_t mask;
    const std::unique_ptr<std::atomic<T>[]> slots;
  };

  struct Shared {
    explicit Shared(std::int64_t capacity) {
      std::int64_t c = 2;
      while (c < capacity) c *= 2;
      buffers.push_back(std::make_unique<Buffer>(c));
      buffer.store(buffers.back().get(), std::memory_order_relaxed);
    }
    alignas(64) std::atomic<std::int64_t> top{0};
    alignas(64) std::atomic<std::int64_t> bottom{0};
    std::atomic<Buffer*> buffer{nullptr};
    // Every buffer ever used; only the owner appends. Freed with the deque.
    std::vector<std::unique_ptr<Buffer>> buffers;
  };

 public:
  class Stealer;

  // The owner's handle: push and pop. Not thread-safe; one per deque, move-only: a copy
  // would let a second thread push, and only one thread may write bottom_ and the slots.
  class Owner {
   public:
    Owner() = default;
    explicit Owner(std::shared_ptr<Shared> s) : s_(std::move(s)) {}
    Owner(const Owner&) = delete;
    Owner& operator=(const Owner&) = delete;
    Owner(Owner&&) noexcept = default;
    Owner& operator=(Owner&&) noexcept = default;
    ~Owner() = default;

    void push(T item) {
      Shared& s = *s_;
      const std::int64_t b = s.bottom.load(std::memory_order_relaxed);  // only we write it
      // Acquire pairs with thieves' acq_rel CAS on top: their reads of the slot we are about
      // to reuse happened before.
      const std::int64_t t = s.top.load(std::memory_order_acquire);
      Buffer* buf = s.buffer.load(std::memory_order_relaxed);  // only we write it
      if (b - t >= buf->capacity()) buf = grow(buf, t, b);
      buf->put(b, item);
      // Release publishes the slot (and a new buffer) to thieves that acquire bottom.
      s.bottom.store(b + 1, std::memory_order_release);
    }

    // Takes the oldest item, or returns false when empty. Loses only to a thief that took
    // the same item, and then retries: the owner never reports empty while items remain.
    bool pop(T& out) {
      Shared& s = *s_;
      std::int64_t t = s.top.load(std::memory_order_acquire);
      for (;;) {
        const std::int64_t b = s.bottom.load(std::memory_order_relaxed);
        if (t >= b) return false;
        out = s.buffer.load(std::memory_order_relaxed)->get(t);  // read before the CAS
        // acq_rel, like a thief's: the CAS orders this take against theirs.
        if (s.top.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
          return true;
      }
    }

    [[nodiscard]] std::int64_t size() const noexcept {
      const std::int64_t b = s_->bottom.load(std::memory_order_relaxed);
      const std::int64_t t = s_->top.load(std::memory_order_relaxed);
      return b > t ? b - t : 0;
    }
    [[nodiscard]] std::int64_t capacity() const noexcept {
      return s_->buffer.load(std::memory_order_relaxed)->capacity();
    }

   private:
    friend class Stealer;

    Buffer* grow(Buffer* old, std::int64_t t, std::int64_t b) {
      auto bigger = std::make_unique<Buffer>(old->capacity() * 2);
      for (std::int64_t i = t; i < b; ++i) bigger->put(i, old->get(i));
      Buffer* raw = bigger.get();
      s_->buffers.push_back(std::move(bigger));
      // Release: a thief that acquires this pointer sees the copied slots.
      s_->buffer.store(raw, std::memory_order_release);
      return raw;
    }

    // Used by a thief that is also the owner of `this`: reserves room for n more items and
    // returns the index of the first free slot. The items become visible with publish().
    Buffer* reserve(std::int64_t n, std::int64_t& first) {
      Shared& s = *s_;
      first = s.bottom.load(std::memory_order_relaxed);
      const std::int64_t t = s.top.load(std::memory_order_acquire);
      Buffer* buf = s.buffer.load(std::memory_order_relaxed);
      while (first + n - t > buf->capacity()) buf = grow(buf, t, first);
      return buf;
    }
    void publish(std::int64_t new_bottom) {
      s_->bottom.store(new_bottom, std::memory_order_release);
    }

    std::shared_ptr<Shared> s_;
  };

  // A thief's handle: copyable, usable from any thread.
  class Stealer {
   public:
    Stealer() = default;
    explicit Stealer(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

    StealResult<T> steal() const {
      Shared& s = *s_;
      std::int64_t t = s.top.load(std::memory_order_acquire);
      // Acquire: items below the bottom we read, and the buffer holding them, are visible.
      const std::int64_t b = s.bottom.load(std::memory_order_acquire);
      if (t >= b) return {};
      const T item = s.buffer.load(std::memory_order_acquire)->get(t);  // read before CAS
      if (!s.top.compare_exchange_strong(t, t + 1, std::memory_order_acq_rel,
                                         std::memory_order_relaxed))
        return {StealStatus::retry, T{}, 0};
      return {StealStatus::success, item, 1};
    }

    // Takes half (rounded up, at most max_batch) of the items into `dest` (the thief's own
    // deque) with one CAS, and returns the first of them for the thief to run now.
    StealResult<T> steal_half_into(Owner& dest, std::int64_t max_batch = 128) const {
      Shared& s = *s_;
      std::int64_t t = s.top.load(std::memory_order_acquire);
      const std::int64_t b = s.bottom.load(std::memory_order_acquire);
      const std::int64_t available = b - t;
      if (available <= 0) return {};
      std::int64_t n = available - available / 2;
      if (n > max_batch) n = max_batch;
      const Buffer* src = s.buffer.load(std::memory_order_acquire);
      const T first_item = src->get(t);
      std::int64_t first_free = 0;
      Buffer* dst = dest.reserve(n - 1, first_free);
      // Copy into our own unpublished slots first: the CAS below makes them ours.
      for (std::int64_t i = 1; i < n; ++i) dst->put(first_free + i - 1, src->get(t + i));
      if (!s.top.compare_exchange_strong(t, t + n, std::memory_order_acq_rel,
                                         std::memory_order_relaxed))
        return {StealStatus::retry, T{}, 0};
      if (n > 1) dest.publish(first_free + n - 1);
      return {StealStatus::success, first_item, n};
    }

    [[nodiscard]] std::int64_t size() const noexcept {
      const std::int64_t b = s_->bottom.load(std::memory_order_acquire);
      const std::int64_t t = s_->top.load(std::memory_order_acquire);
      return b > t ? b - t : 0;
    }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }

   private:
    std::shared_ptr<Shared> s_;
  };

  // Creates a deque with room for `capacity` items before it first grows (rounded up to a
  // power of two, at least 2).
  static std::pair<Owner, Stealer> make(std::int64_t capacity = 256) {
    auto shared = std::make_shared<Shared>(capacity);
    return {Owner{shared}, Stealer{shared}};
  }
};

}  // namespace weft::detail

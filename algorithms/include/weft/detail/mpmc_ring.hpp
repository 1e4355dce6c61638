#pragma once

// MpmcRing<T>: a bounded ring that any number of threads push to and pop from without a lock
// (Dmitry Vyukov's bounded MPMC queue: a sequence number per slot), whose two ends an owner
// can close with a gate. weft::Queue (queue.hpp) runs its FIFO bounded queue on it: pushes
// and pops take the ring while nobody waits, and the queue's mutex only when someone must.
//
// The ring: `capacity` slots; tail_ counts the positions ever claimed by pushes, head_ those
// claimed by pops. Position p lives in slot p % capacity, whose `seq` says whose turn it is:
//   seq == 2p                 free for the push of position p;
//   seq == 2p + 1             holds the item of position p, for the pop of p;
//   seq == 2(p + capacity)    the pop of p moved the item out: free for the push one lap on.
// (Vyukov's numbers are p, p + 1, p + capacity: doubled, "holds p" and "free for p + 1"
// differ at capacity 1 too.) A push reads tail_ = p, checks seq == 2p (less: the ring is
// full, the item one lap back is still there), claims p with a CAS on tail_, constructs the
// item, then stores seq = 2p + 1.
// A pop mirrors it on head_. The CASes only claim (relaxed): what orders the item's bytes is
// seq, stored with release after writing them and loaded with acquire before touching them,
// so a slot's push, pop and next push happen one after the other. Relaxed on seq would let a
// pop read the bytes before the push wrote them.
//
// Reservations. The owner may reserve room for pushes it will make later (a woken waiter's):
// the tail word counts them (kReservedOne units, at most kMaxReserved) beside the position,
// and the slots of positions tail .. tail + reserved - 1 are free and stay so. Every push
// other than a reserved one looks past them: it claims position p only if the slot of
// p + reserved is free too (for that lap), so the reserved room is never taken. The count
// and the position being one word, that check and the claim are one step: a reservation
// made after the push read the word fails its CAS. push_reserved() claims the tail and uses
// up one reservation in one CAS; the room stays free until then, since only pushes fill a
// slot and each looks past the reserved ones. Positions get the 54 bits left: 1.8e16 pushes,
// 5.7 years at 10^8 pushes a second.
//
// "Full" and "empty" are what the slot at the end says, so a claim that is not finished
// counts: a pop that claimed p but has not yet moved the item out leaves the ring full for a
// pusher one lap later, and a push that claimed p but has not yet stored seq leaves it empty
// for a popper. The owner's protocol below is what keeps that from losing a wake-up.
//
// Gates. The top two bits of each end's word are flags only the owner changes, with an RMW
// (fetch_or / fetch_and) under its own lock; the CASes of pushes and pops carry them (and the
// reserved count) over.
//   kGate  a fast push (tail_) or pop (head_) refuses: Result::gated, the caller takes the
//          owner's lock instead. Being in the word the claim's CAS compares, the check and the
//          claim are one step: a claim either precedes the gate in tail_'s modification order,
//          or fails and sees the gate on its retry.
//   kNote  fast operations go on, but report it.
// The handshake (Dekker's). A fast operation that completes stores its slot's seq with
// seq_cst, then loads its end's word with seq_cst, and returns done_flagged if a flag is set:
// the owner must then look, under its lock, at what it did. The owner does the other half:
// it sets a flag (a seq_cst RMW), then inspects the slots with seq_cst loads (owner mode,
// room, reserve). All four are in the one total order S of seq_cst operations. If the
// operation's load does not see the flag, it read a value before the RMW, so it precedes the
// RMW in S; its store precedes its load; so the owner's later loads of that slot see the
// store. Otherwise the operation sees the flag. Either way the owner learns of it. An owner
// that looks later (another thread, after the lock; or after a flag it found already set)
// strongly happens after the RMW, so its loads follow it in S too: it sees what the first
// one would have.
// Weaker fails: with a release store and an acquire load (of another variable) both sides may
// read the old values — each store can still sit in its core's store buffer when the later
// load runs — and the owner sleeps by a ready item. A seq_cst fence between a release store
// and the load would do as well, but clang emits mfence for it (and for an idempotent RMW
// such as fetch_or(0)), which on this project's AMD machines costs several times the xchg a
// seq_cst store compiles to: measured, it made the fast path slower than the mutex. The
// seq_cst load is a plain load on x86.
//
// Owner operations (Mode::owner: the caller holds the lock the flags are changed under) go
// through the gates; they still CAS, since fast operations of an open end run beside them.
// They store seq with release: the owner looks at everything under its lock anyway.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace weft::detail {

template <class T>
class MpmcRing {
  static_assert(std::is_nothrow_move_constructible_v<T>, "items are moved in noexcept steps");

 public:
  static constexpr std::uint64_t kGate = std::uint64_t{1} << 63;
  static constexpr std::uint64_t kNote = std::uint64_t{1} << 62;
  static constexpr std::uint64_t kFlags = kGate | kNote;
  static constexpr unsigned kReservedShift = 54;  // tail_ only: bits 54..61
  static constexpr std::uint64_t kReservedOne = std::uint64_t{1} << kReservedShift;
  static constexpr std::uint64_t kMaxReserved = 255;
  static constexpr std::uint64_t kPosition = kReservedOne - 1;

  enum class End : unsigned char { tail, head };
  enum class Mode : unsigned char { fast, owner };
  // none: the ring is full (push) or empty (pop), as the slot at that end says.
  enum class Result : unsigned char { done, done_flagged, none, gated };

  // capacity >= 1. Allocates every slot now.
  explicit MpmcRing(std::size_t capacity)
      : capacity_(capacity),
        mask_((capacity & (capacity - 1)) == 0 ? capacity - 1 : 0),
        power_of_two_((capacity & (capacity - 1)) == 0),
        slots_(new Slot[capacity]) {
    for (std::size_t i = 0; i < capacity; ++i) {
      slots_[i].seq.store(2 * std::uint64_t{i}, std::memory_order_relaxed);
    }
  }
  MpmcRing(const MpmcRing&) = delete;
  MpmcRing& operator=(const MpmcRing&) = delete;
  // No operation may run any more: every claimed position was finished.
  ~MpmcRing() {
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed) & kPosition;
    for (std::uint64_t p = head_.load(std::memory_order_relaxed) & kPosition; p != tail; ++p) {
      item(slot(p))->~T();
    }
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  // Moves from `value` only if it returns done or done_flagged. Looks past the reserved room.
  Result try_push(T& value, Mode mode) noexcept {
    std::uint64_t word = tail_.load(std::memory_order_relaxed);
    for (;;) {
      if (mode == Mode::fast && (word & kGate) != 0) return Result::gated;
      const std::uint64_t pos = word & kPosition;
      const std::uint64_t reserved = (word >> kReservedShift) & kMaxReserved;
      // Its own slot (acquire: the pop that freed it moved the old item out first), and the
      // one past the reserved room.
      std::int64_t lap = turn(pos, 0, mode);
      if (lap == 0 && reserved != 0) lap = turn(pos + reserved, 0, mode);
      if (lap == 0) {
        // On failure `word` is reloaded: a pusher took pos, or the owner changed the flags or
        // the reservations. +1 moves only the position.
        if (tail_.compare_exchange_weak(word, word + 1, std::memory_order_relaxed)) {
          Slot& s = slot(pos);
          ::new (static_cast<void*>(s.bytes)) T(std::move(value));
          return publish(s, 2 * pos + 1, tail_, mode);
        }
      } else if (lap < 0) {
        return Result::none;  // an item one lap back is still there (or being moved out)
      } else {
        word = tail_.load(std::memory_order_relaxed);  // the position was taken: read anew
      }
    }
  }

  // `out` is empty; it holds the item if this returns done or done_flagged.
  Result try_pop(std::optional<T>& out, Mode mode) noexcept {
    std::uint64_t word = head_.load(std::memory_order_relaxed);
    for (;;) {
      if (mode == Mode::fast && (word & kGate) != 0) return Result::gated;
      const std::uint64_t pos = word & kPosition;
      Slot& s = slot(pos);
      const std::int64_t lap = turn(pos, 1, mode);
      if (lap == 0) {
        if (head_.compare_exchange_weak(word, (pos + 1) | (word & kFlags),
                                        std::memory_order_relaxed)) {
          T* it = item(s);
          out.emplace(std::move(*it));
          it->~T();
          return publish(s, 2 * (pos + capacity_), head_, mode);
        }
      } else if (lap < 0) {
        return Result::none;  // the push of pos has not stored its item (or not claimed it)
      } else {
        word = head_.load(std::memory_order_relaxed);
      }
    }
  }

  // --- for the owner, under its lock ---

  // The flags of an end now (exact: only the owner changes them).
  [[nodiscard]] std::uint64_t flags(End end) const noexcept {
    return word(end).load(std::memory_order_relaxed) & kFlags;
  }
  // Sets or clears flags to `want`. RMWs, so no concurrent claim is undone; seq_cst, for the
  // handshake (clearing needs no order, but costs the same).
  void set_flags(End end, std::uint64_t want) noexcept {
    const std::uint64_t have = flags(end);
    if ((have & ~want) != 0) word(end).fetch_and(~(have & ~want), std::memory_order_seq_cst);
    if ((want & ~have) != 0) word(end).fetch_or(want & ~have, std::memory_order_seq_cst);
  }

  // Reserves room for one push_reserved() past the tail (and the room reserved already).
  // False if there is none, or kMaxReserved reservations are out.
  [[nodiscard]] bool reserve() noexcept {
    std::uint64_t word = tail_.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t reserved = (word >> kReservedShift) & kMaxReserved;
      if (reserved == kMaxReserved) return false;
      const std::int64_t lap = turn((word & kPosition) + reserved, 0, Mode::owner);
      if (lap < 0) return false;
      if (lap > 0) {
        word = tail_.load(std::memory_order_relaxed);
      } else if (tail_.compare_exchange_weak(word, word + kReservedOne,
                                             std::memory_order_relaxed)) {
        return true;
      }
    }
  }
  // A reservation given back unused.
  void unreserve() noexcept { tail_.fetch_sub(kReservedOne, std::memory_order_relaxed); }
  // The push a reservation was made for: at the tail, whose slot is free. False (nothing
  // moved) only if that were broken.
  [[nodiscard]] bool push_reserved(T& value) noexcept {
    std::uint64_t word = tail_.load(std::memory_order_relaxed);
    for (;;) {
      const std::uint64_t pos = word & kPosition;
      const std::int64_t lap = turn(pos, 0, Mode::owner);
      if (lap < 0) return false;
      if (lap > 0) {
        word = tail_.load(std::memory_order_relaxed);  // `word` is old: pos was taken since
      } else if (tail_.compare_exchange_weak(word, word + 1 - kReservedOne,
                                             std::memory_order_relaxed)) {
        Slot& s = slot(pos);
        ::new (static_cast<void*>(s.bytes)) T(std::move(value));
        s.seq.store(2 * pos + 1, std::memory_order_release);
        return true;
      }
    }
  }
  [[nodiscard]] std::size_t reserved() const noexcept {
    return static_cast<std::size_t>((tail_.load(std::memory_order_relaxed) >> kReservedShift) &
                                    kMaxReserved);
  }

  // Positions ever claimed by pushes: every item that entered, or is entering, the ring.
  [[nodiscard]] std::uint64_t pushed() const noexcept {
    return tail_.load(std::memory_order_relaxed) & kPosition;
  }
  // Items in the ring, counting claimed pushes and not claimed pops. A snapshot while an end
  // is open. head_ first, with acquire: every push up to it was claimed before, so the tail
  // read after is not behind it.
  [[nodiscard]] std::size_t size() const noexcept {
    const std::uint64_t head = head_.load(std::memory_order_acquire) & kPosition;
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed) & kPosition;
    return tail > head ? static_cast<std::size_t>(tail - head) : 0;
  }
  // True if a push now would find room past the reserved room: the slot of the position
  // past it is free (its item one lap back was popped and moved out). seq_cst: the owner's
  // half of the handshake.
  [[nodiscard]] bool room() const noexcept {
    const std::uint64_t word = tail_.load(std::memory_order_relaxed);
    const std::uint64_t reserved = (word >> kReservedShift) & kMaxReserved;
    return turn((word & kPosition) + reserved, 0, Mode::owner) == 0;
  }

 private:
  struct Slot {
    std::atomic<std::uint64_t> seq{0};
    alignas(T) unsigned char bytes[sizeof(T)];
  };

  Slot& slot(std::uint64_t pos) const noexcept {
    return slots_[power_of_two_ ? pos & mask_ : pos % capacity_];
  }
  static T* item(Slot& s) noexcept { return std::launder(reinterpret_cast<T*>(s.bytes)); }
  // Whose turn the slot of `pos` is: 0 if it is the push's of pos (`full` 0) or the pop's
  // (`full` 1); less if it is still a lap behind (ring full / empty there); more if `pos` is
  // already past (another operation took it).
  std::int64_t turn(std::uint64_t pos, std::uint64_t full, Mode mode) const noexcept {
    return static_cast<std::int64_t>(slot(pos).seq.load(load_order(mode)) - 2 * pos - full);
  }
  std::atomic<std::uint64_t>& word(End end) noexcept { return end == End::tail ? tail_ : head_; }
  const std::atomic<std::uint64_t>& word(End end) const noexcept {
    return end == End::tail ? tail_ : head_;
  }

  // A slot's seq, loaded before its item is touched: acquire pairs with the release (or
  // seq_cst) store of the operation before. The owner loads with seq_cst: its half of the
  // handshake.
  static constexpr std::memory_order load_order(Mode mode) noexcept {
    return mode == Mode::owner ? std::memory_order_seq_cst : std::memory_order_acquire;
  }
  // Stores a slot's new seq (release at least: the item's bytes before it), and for a fast
  // operation re-reads its end's flags: the operation's half of the handshake.
  static Result publish(Slot& s, std::uint64_t seq, const std::atomic<std::uint64_t>& end,
                        Mode mode) noexcept {
    if (mode == Mode::owner) {
      s.seq.store(seq, std::memory_order_release);
      return Result::done;
    }
    s.seq.store(seq, std::memory_order_seq_cst);
    return (end.load(std::memory_order_seq_cst) & kFlags) != 0 ? Result::done_flagged
                                                               : Result::done;
  }

  const std::size_t capacity_;
  const std::size_t mask_;
  const bool power_of_two_;
  const std::unique_ptr<Slot[]> slots_;
  // Each end on its own cache line (the class's size rounds up to 64 after head_): pushers
  // and poppers on different cores do not share one. Over-aligned, so the owner allocates the
  // ring (operator new honours alignas; a coroutine frame holding the owner might not).
  alignas(64) std::atomic<std::uint64_t> tail_{0};
  alignas(64) std::atomic<std::uint64_t> head_{0};
};

}  // namespace weft::detail

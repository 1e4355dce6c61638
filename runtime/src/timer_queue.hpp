#pragma once

// TimerQueue: one loop's timers, in a hierarchical timing wheel (Varghese & Lauck, 1987; the
// shape Tokio uses): 6 levels of 64 slots, where a slot of level L spans 64^L ticks of
// 2^20 ns (1.05 ms), so the wheel covers 64^6 ticks (2.2 years; later deadlines wait in the
// last level and are placed again when it comes round). Only the owning loop's thread
// touches it; another thread cancels a timer by posting the node to that loop.
//
// Why a wheel: arming and cancelling are O(1) (append to / unlink from a slot's list, one
// bit in the level's occupancy word), which is what a deadline on every read needs; the
// 4-ary heap it replaces paid O(log n) on both, and a vector that grew with the timer count.
//
// The invariant that makes the levels work: a node sits at the lowest level at which its
// tick and `elapsed_` (the tick the wheel has processed up to) differ only in that level's 6
// bits, in the slot those bits name. So every node of level L is due before any node of a
// level above it, and the earliest occupied slot of the lowest occupied level holds the next
// timers. Processing a slot of level L > 0 moves `elapsed_` to its start and places its
// nodes again, each lower. Each node is placed at most once per level: O(1) amortised.
//
// Precision: a node keeps its exact deadline. A level-0 slot (one tick) fires only the nodes
// whose deadline has come, in (deadline, sequence) order, so timers with equal deadlines
// fire in the order they were set and none fires early; the loop parks until the exact
// deadline of the earliest level-0 node (epoll_pwait2 takes nanoseconds).
//
// Two kinds of node:
// - A sleep's: fires by waking its task. It is freed by the loop exactly once: when it
//   fires and its task accepts the wake-up, or when a cancel for it is processed. A node
//   whose task had already been claimed by a canceller when it fired stays allocated until
//   that cancel arrives — see the wait protocol in task_header.hpp.
// - A task deadline's (task_deadline.hpp): fires by requesting the deadline's cancel of its
//   task, and is freed by whoever finishes with it last — see DeadlineState below.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft::detail {

class Loop;
class TaskHeader;

// A deadline node's life, on one atomic that its loop (which fires it) and the deadline's
// scope (which ends it, on whatever loop its task then runs) both RMW:
//   armed -> firing -> fired   the loop fired it: the cancel was requested between the two
//                              stores; the scope, having seen `fired` (acquire, pairing with
//                              the loop's release), frees the node;
//   armed -> cancelled         the scope ended first, on another loop: it posts the node to
//                              the loop, which unlinks and frees it;
//   armed -> (freed)           the scope ended first on the node's own loop: it unlinks and
//                              frees the node at once (that thread is the only firer).
// The CAS out of `armed` decides between the two parties; whoever loses never touches the
// node again except as stated (the scope waits for `fired` before freeing).
enum class DeadlineState : std::uint8_t { armed, firing, fired, cancelled };

struct TimerNode {
  std::int64_t deadline_ns;
  std::uint64_t sequence;
  TaskHeader* task;
  Loop* home;
  // The slot's list, and where the node is: only the owning loop's thread touches these.
  TimerNode* prev = nullptr;
  TimerNode* next = nullptr;
  std::uint8_t level = 0;
  std::uint8_t slot = 0;
  bool linked = false;  // in the wheel (not yet fired or cancelled)
  bool is_deadline = false;
  std::atomic<DeadlineState> deadline_state{DeadlineState::armed};
};

class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;
  ~TimerQueue();

  TimerNode* insert(std::int64_t deadline_ns, TaskHeader* task, Loop* home);
  TimerNode* insert_deadline(std::int64_t deadline_ns, TaskHeader* task, Loop* home);
  // The cancel for a sleep's `node` arrived: frees it. True if it was still waiting (the
  // canceller removed it), false if it had fired already.
  bool cancel(TimerNode* node) noexcept;
  // On the node's loop: the deadline's scope has ended. Unlinks and frees it; true if it had
  // fired.
  bool release_deadline(TimerNode* node) noexcept;
  // A deadline node posted by its scope after armed -> cancelled: unlinks and frees it.
  void drop_cancelled_deadline(TimerNode* node) noexcept;
  static void free_node(TimerNode* n) noexcept;

  // Fires every timer due at `now_ns`; returns how many fired.
  std::size_t fire_expired(std::int64_t now_ns);

  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // When the loop must look again, only when !empty(): the exact deadline of the earliest
  // timer if it sits in level 0, else the start of the earliest occupied slot (a lower
  // bound: the loop wakes, places that slot's nodes lower, and parks again).
  [[nodiscard]] std::int64_t next_deadline_ns() noexcept;

  // Shutdown only: frees every node without waking anyone.
  void clear() noexcept;

  static constexpr unsigned kTickShift = 20;  // 1.05 ms: "1 ms or better" with exact deadlines
  static constexpr unsigned kLevels = 6;
  static constexpr unsigned kSlotBits = 6;
  static constexpr unsigned kSlots = 1u << kSlotBits;

 private:
  struct Slot {
    TimerNode* head = nullptr;
    TimerNode* tail = nullptr;
    bool sorted = true;  // level 0: the list is in (deadline, sequence) order
  };
  struct Due {
    unsigned level;
    unsigned slot;
    std::uint64_t start_tick;
  };

  static bool earlier(const TimerNode* a, const TimerNode* b) noexcept {
    return a->deadline_ns < b->deadline_ns ||
           (a->deadline_ns == b->deadline_ns && a->sequence < b->sequence);
  }
  static std::uint64_t tick_of(std::int64_t ns) noexcept {
    return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns) >> kTickShift;
  }
  void link(TimerNode* n) noexcept;
  void unlink(TimerNode* n) noexcept;
  // The earliest occupied slot, if any (lowest level first: see the invariant).
  [[nodiscard]] bool next_due(Due& due) const noexcept;
  void sort_slot(Slot& slot);
  void fire(TimerNode* node) noexcept;
  void fire_deadline(TimerNode* node) noexcept;

  Slot slots_[kLevels][kSlots];
  std::uint64_t occupied_[kLevels] = {};  // bit s: slot s of that level has nodes
  std::uint64_t elapsed_ = 0;             // ticks before this one are processed
  std::size_t size_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::size_t fired_pending_cancel_ = 0;  // sleep nodes kept for a cancel in flight
  std::vector<TimerNode*> scratch_;       // sort_slot's buffer, kept to avoid reallocation
};

}  // namespace weft::detail

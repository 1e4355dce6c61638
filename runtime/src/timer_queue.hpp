#pragma once

// TimerQueue: one loop's timers, a 4-ary min-heap of nodes ordered by (deadline, sequence),
// so timers with equal deadlines fire in the order they were set. Only the owning loop's
// thread touches it; another thread cancels a timer by posting the node to that loop.
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
  std::size_t index;  // position in the heap, or kNotInHeap
  bool is_deadline = false;
  std::atomic<DeadlineState> deadline_state{DeadlineState::armed};
  static constexpr std::size_t kNotInHeap = static_cast<std::size_t>(-1);
};

class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;
  ~TimerQueue();

  TimerNode* insert(std::int64_t deadline_ns, TaskHeader* task, Loop* home);
  TimerNode* insert_deadline(std::int64_t deadline_ns, TaskHeader* task, Loop* home);
  // On the node's loop: the deadline's scope has ended. Unlinks and frees it; true if it had
  // fired.
  bool release_deadline(TimerNode* node) noexcept;
  // A deadline node posted by its scope after armed -> cancelled: unlinks and frees it.
  void drop_cancelled_deadline(TimerNode* node) noexcept;
  static void free_node(TimerNode* n) noexcept;
  // The cancel for `node` arrived: frees it. True if it was still waiting (the canceller
  // removed it), false if it had fired already.
  bool cancel(TimerNode* node) noexcept;

  // Fires every timer due at `now_ns`; returns how many fired.
  std::size_t fire_expired(std::int64_t now_ns);

  [[nodiscard]] bool empty() const noexcept { return heap_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return heap_.size(); }
  // Deadline of the earliest timer; only when !empty().
  [[nodiscard]] std::int64_t next_deadline_ns() const noexcept {
    return heap_.front()->deadline_ns;
  }

  // Shutdown only: frees every node without waking anyone.
  void clear() noexcept;

 private:
  static bool earlier(const TimerNode* a, const TimerNode* b) noexcept {
    return a->deadline_ns < b->deadline_ns ||
           (a->deadline_ns == b->deadline_ns && a->sequence < b->sequence);
  }
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void place(std::size_t i, TimerNode* n) noexcept {
    heap_[i] = n;
    n->index = i;
  }
  void erase_at(std::size_t i) noexcept;
  void fire_deadline(TimerNode* node) noexcept;

  std::vector<TimerNode*> heap_;
  std::uint64_t next_sequence_ = 0;
  std::size_t fired_pending_cancel_ = 0;  // nodes kept for a cancel in flight
};

}  // namespace weft::detail

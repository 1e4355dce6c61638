#pragma once

// TimerQueue: one loop's timers, a 4-ary min-heap of nodes ordered by (deadline, sequence),
// so timers with equal deadlines fire in the order they were set. Only the owning loop's
// thread touches it; another thread cancels a timer by posting the node to that loop.
//
// A node is freed by the loop exactly once: when it fires and its task accepts the wake-up,
// or when a cancel for it is processed. A node whose task had already been claimed by a
// canceller when it fired stays allocated (marked fired) until that cancel arrives — see
// the wait protocol in task_header.hpp.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace weft::detail {

class Loop;
class TaskHeader;

struct TimerNode {
  std::int64_t deadline_ns;
  std::uint64_t sequence;
  TaskHeader* task;
  Loop* home;
  std::size_t index;  // position in the heap, or kNotInHeap
  static constexpr std::size_t kNotInHeap = static_cast<std::size_t>(-1);
};

class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;
  ~TimerQueue();

  TimerNode* insert(std::int64_t deadline_ns, TaskHeader* task, Loop* home);
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
  static void free_node(TimerNode* n) noexcept;

  std::vector<TimerNode*> heap_;
  std::uint64_t next_sequence_ = 0;
  std::size_t fired_pending_cancel_ = 0;  // nodes kept for a cancel in flight
};

}  // namespace weft::detail

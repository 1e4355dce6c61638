#include "timer_queue.hpp"

#include <new>

#include "weft/detail/frame_pool.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

namespace {
constexpr std::size_t kArity = 4;  // 4-ary: shallower than binary, children share a line
}

TimerQueue::~TimerQueue() { clear(); }

TimerNode* TimerQueue::insert(std::int64_t deadline_ns, TaskHeader* task, Loop* home) {
  void* mem = frame_allocate(sizeof(TimerNode));
  auto* node = ::new (mem) TimerNode{deadline_ns, next_sequence_++, task, home, 0};
  heap_.push_back(node);
  node->index = heap_.size() - 1;
  sift_up(node->index);
  return node;
}

TimerNode* TimerQueue::insert_deadline(std::int64_t deadline_ns, TaskHeader* task, Loop* home) {
  TimerNode* node = insert(deadline_ns, task, home);
  node->is_deadline = true;
  return node;
}

bool TimerQueue::release_deadline(TimerNode* node) noexcept {
  // Only this thread fires the node, so it is either still in the heap or fully fired.
  const bool fired = node->index == TimerNode::kNotInHeap;
  if (!fired) erase_at(node->index);
  free_node(node);
  return fired;
}

void TimerQueue::drop_cancelled_deadline(TimerNode* node) noexcept {
  if (node->index != TimerNode::kNotInHeap) erase_at(node->index);
  free_node(node);
}

void TimerQueue::fire_deadline(TimerNode* node) noexcept {
  DeadlineState expected = DeadlineState::armed;
  // Relaxed: the CAS only decides against the scope's armed -> cancelled; nothing is read
  // through it. If the scope won, its posted node (through the mailbox) is freed there.
  if (!node->deadline_state.compare_exchange_strong(expected, DeadlineState::firing,
                                                    std::memory_order_relaxed))
    return;
  node->task->request_deadline_cancel();
  // Release: the scope that sees `fired` (acquire) may free the node; the request above
  // happened before.
  node->deadline_state.store(DeadlineState::fired, std::memory_order_release);
}

bool TimerQueue::cancel(TimerNode* node) noexcept {
  const bool waiting = node->index != TimerNode::kNotInHeap;
  if (waiting) {
    erase_at(node->index);
  } else {
    --fired_pending_cancel_;
  }
  free_node(node);
  return waiting;
}

std::size_t TimerQueue::fire_expired(std::int64_t now_ns) {
  std::size_t fired = 0;
  while (!heap_.empty() && heap_.front()->deadline_ns <= now_ns) {
    TimerNode* node = heap_.front();
    erase_at(0);
    ++fired;
    if (node->is_deadline) {
      fire_deadline(node);  // its scope frees it
    } else if (node->task->wake() == WakeResult::claimed_by_canceller) {
      ++fired_pending_cancel_;  // the canceller's message frees it
    } else {
      free_node(node);
    }
  }
  return fired;
}

void TimerQueue::clear() noexcept {
  for (TimerNode* n : heap_) {
    if (n->is_deadline) {
      // Its scope lives in a frame the runtime destroys later (perhaps on no loop at all):
      // it frees the node then, finding it `fired` without any cancel having gone out.
      // (A node whose scope already won, armed -> cancelled, is in a mailbox, which
      // shutdown drained before this.)
      n->index = TimerNode::kNotInHeap;
      DeadlineState armed = DeadlineState::armed;
      n->deadline_state.compare_exchange_strong(
          armed, DeadlineState::fired, std::memory_order_release, std::memory_order_relaxed);
    } else {
      free_node(n);
    }
  }
  heap_.clear();
}

void TimerQueue::erase_at(std::size_t i) noexcept {
  TimerNode* removed = heap_[i];
  removed->index = TimerNode::kNotInHeap;
  TimerNode* last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  place(i, last);
  if (i > 0 && earlier(last, heap_[(i - 1) / kArity])) {
    sift_up(i);
  } else {
    sift_down(i);
  }
}

void TimerQueue::sift_up(std::size_t i) noexcept {
  TimerNode* n = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (!earlier(n, heap_[parent])) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void TimerQueue::sift_down(std::size_t i) noexcept {
  TimerNode* n = heap_[i];
  const std::size_t size = heap_.size();
  for (;;) {
    const std::size_t first = i * kArity + 1;
    if (first >= size) break;
    std::size_t best = first;
    const std::size_t end = first + kArity < size ? first + kArity : size;
    for (std::size_t c = first + 1; c < end; ++c)
      if (earlier(heap_[c], heap_[best])) best = c;
    if (!earlier(heap_[best], n)) break;
    place(i, heap_[best]);
    i = best;
  }
  place(i, n);
}

void TimerQueue::free_node(TimerNode* n) noexcept {
  n->~TimerNode();
  frame_deallocate(n, sizeof(TimerNode));
}

}  // namespace weft::detail

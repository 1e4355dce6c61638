#pragma once

/// @file
/// weft::PriorityQueue<T, Compare> (asyncio.PriorityQueue): a weft::Queue whose pop() takes the
/// smallest item by `Compare` (std::less<T> by default; std::greater<T> for the largest
/// first). Everything else — capacity, hand-off to waiting poppers and pushers, cancellation,
/// shutdown(), join()/task_done() — is Queue's (queue.hpp).
///
/// Items with equal priority come out in no particular order (a binary heap, as Python's
/// heapq): give them a sequence number as a tie-breaker when the order among them matters,
/// as asyncio's documentation suggests with (priority, count, item) tuples.
///
/// `Compare` runs under the queue's mutex and must not throw (a throwing comparison would
/// leave the heap broken; a handed-over item is taken in a noexcept step).

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

#include "weft/queue.hpp"

namespace weft {

namespace detail {
template <class T, class Compare>
class HeapOrder;
}  // namespace detail

template <class T, class Compare = std::less<T>>
/// A Queue that pops its smallest item first (by `Compare`), as asyncio.PriorityQueue; see this
/// file's description.
class PriorityQueue : public Queue<T, detail::HeapOrder<T, Compare>> {
 public:
  /// capacity 0: unbounded.
  explicit PriorityQueue(std::size_t capacity = 0, Compare compare = Compare())
      : Queue<T, detail::HeapOrder<T, Compare>>(
            capacity, detail::HeapOrder<T, Compare>(std::move(compare))) {}
};

namespace detail {
// The order of a PriorityQueue: a binary heap whose top is the smallest item by `Compare`.
template <class T, class Compare>
class HeapOrder {
 public:
  explicit HeapOrder(Compare compare) : compare_(std::move(compare)) {}

  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  void push(T&& item) {
    items_.push_back(std::move(item));
    std::push_heap(items_.begin(), items_.end(), larger());
  }
  T take() noexcept {
    std::pop_heap(items_.begin(), items_.end(), larger());
    T item(std::move(items_.back()));
    items_.pop_back();
    return item;
  }
  // A cancelled popper's item goes back into the heap, by its priority like any push.
  void put_back(T&& item) { push(std::move(item)); }
  void move_all_to(std::vector<T>& out) noexcept {
    for (T& item : items_) out.push_back(std::move(item));
    items_.clear();
  }

 private:
  // std's heap algorithms keep the largest on top by their comparison: ask them with the
  // arguments swapped to keep the smallest there.
  [[nodiscard]] auto larger() const noexcept {
    return [this](const T& a, const T& b) { return compare_(b, a); };
  }

  Compare compare_;
  std::vector<T> items_;
};
}  // namespace detail

}  // namespace weft

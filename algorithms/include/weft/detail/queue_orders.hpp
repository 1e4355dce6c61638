#pragma once

// The orders a weft::Queue keeps its items in (queue.hpp): FifoOrder (asyncio.Queue) and
// LifoOrder (asyncio.LifoQueue); HeapOrder (priority_queue.hpp) is the third. Each only
// stores items, under the queue's mutex; every rule about waiting is the queue's. A FIFO
// bounded queue keeps its items in a ring instead (queue.hpp), and its FifoOrder holds only
// the items that cancelled poppers gave back (the stash).

#include <cstddef>
#include <deque>
#include <utility>
#include <vector>

namespace weft::detail {

// What an Order does: empty(), size(), push(T&&), take() (the next item; noexcept; the
// order is not empty), put_back(T&&) (an item take() returned comes back because its popper
// was cancelled: where the next take() finds it first) and move_all_to(out) (noexcept; `out`
// has room for every item).

// First in, first out (asyncio.Queue).
template <class T>
class FifoOrder {
 public:
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  void push(T&& item) { items_.push_back(std::move(item)); }
  // The next item to hand out; the order is not empty.
  T take() noexcept {
    T item(std::move(items_.front()));
    items_.pop_front();
    return item;
  }
  // An item take() returned comes back (its popper was cancelled): where it was.
  void put_back(T&& item) { items_.push_front(std::move(item)); }
  // `out` has room for every item (reserved), so this does not throw.
  void move_all_to(std::vector<T>& out) noexcept {
    for (T& item : items_) out.push_back(std::move(item));
    items_.clear();
  }

 private:
  std::deque<T> items_;
};

// Last in, first out (asyncio.LifoQueue).
template <class T>
class LifoOrder {
 public:
  [[nodiscard]] bool empty() const noexcept { return items_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
  void push(T&& item) { items_.push_back(std::move(item)); }
  T take() noexcept {
    T item(std::move(items_.back()));
    items_.pop_back();
    return item;
  }
  void put_back(T&& item) { items_.push_back(std::move(item)); }
  // `out` has room for every item (reserved), so this does not throw.
  void move_all_to(std::vector<T>& out) noexcept {
    for (T& item : items_) out.push_back(std::move(item));
    items_.clear();
  }

 private:
  std::vector<T> items_;
};
}  // namespace weft::detail

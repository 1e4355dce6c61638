#pragma once

// The FIFO of waiters that weft's blocking primitives keep (Semaphore, Queue, Event,
// to_thread's slots, weft::signal): a doubly linked list threaded through the waiters
// themselves. A waiter lives in its task's frame, inside the awaiter, so linking it allocates
// nothing, and unlinking a cancelled waiter from the middle is O(1). The loops' registries of
// live tasks (runtime/src/task_list.hpp) thread it through the TaskHeaders the same way.
//
// Not thread-safe: every call happens under the owning primitive's mutex. `linked` lets a
// waiter's cancel path tell "still waiting" (unlink it) from "already handed over" (the
// waker took it off the list) under that same mutex.

#include <cstddef>

namespace weft::detail {

// The links of one element: a base class of the element type T (T derives from
// IntrusiveListNode<T>), so an element is in at most one list at a time.
template <class T>
struct IntrusiveListNode {
  T* prev = nullptr;
  T* next = nullptr;
  bool linked = false;
};

template <class T>
class IntrusiveList {
 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // The first element (nullptr if none): the oldest, unless push_front put one before it;
  // follow `next` for the rest.
  [[nodiscard]] T* front() const noexcept { return head_; }

  void push_back(T& element) noexcept {
    IntrusiveListNode<T>& node = element;
    node.prev = tail_;
    node.next = nullptr;
    if (tail_ != nullptr) {
      static_cast<IntrusiveListNode<T>&>(*tail_).next = &element;
    } else {
      head_ = &element;
    }
    tail_ = &element;
    node.linked = true;
    ++size_;
  }

  // Links `element` before every other, so front() returns it (the task registries list
  // the newest task first).
  void push_front(T& element) noexcept {
    IntrusiveListNode<T>& node = element;
    node.prev = nullptr;
    node.next = head_;
    if (head_ != nullptr) {
      static_cast<IntrusiveListNode<T>&>(*head_).prev = &element;
    } else {
      tail_ = &element;
    }
    head_ = &element;
    node.linked = true;
    ++size_;
  }

  // The oldest element, unlinked; nullptr if none.
  T* pop_front() noexcept {
    T* element = head_;
    if (element != nullptr) unlink(*element);
    return element;
  }

  // Precondition: `element` is linked in this list.
  void unlink(T& element) noexcept {
    IntrusiveListNode<T>& node = element;
    if (node.prev != nullptr) {
      static_cast<IntrusiveListNode<T>&>(*node.prev).next = node.next;
    } else {
      head_ = node.next;
    }
    if (node.next != nullptr) {
      static_cast<IntrusiveListNode<T>&>(*node.next).prev = node.prev;
    } else {
      tail_ = node.prev;
    }
    node.prev = node.next = nullptr;
    node.linked = false;
    --size_;
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace weft::detail

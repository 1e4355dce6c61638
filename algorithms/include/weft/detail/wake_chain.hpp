#pragma once

// WakeChain: the waiters a primitive took out of its WaitList under its mutex, woken only
// after that mutex is released. A wake may schedule the task onto another loop (an atomic
// RMW, a queue push, perhaps an eventfd write): keeping that outside the critical section
// keeps the section short and keeps the primitive's lock out of the scheduler's paths.
//
// The chain reuses the popped waiters' `next` links: once a waker popped a waiter it is
// unlinked, a canceller finds it `in_flight` and leaves it alone, and its task cannot resume
// before wake() — so the chain owns those links until it wakes each waiter, reading `next`
// before the wake that may let the waiter's frame move on.

#include "weft/detail/wait_list.hpp"

namespace weft::detail {

class WakeChain {
 public:
  WakeChain() = default;
  WakeChain(const WakeChain&) = delete;
  WakeChain& operator=(const WakeChain&) = delete;
  // Declare the chain before the std::unique_lock: if the section throws, the lock goes
  // first and the waiters already granted something are still woken.
  ~WakeChain() { wake_all(); }

  // `w` was just popped (unlinked) under the primitive's mutex and given what it waited for.
  void add(ListWaiter& w) noexcept {
    w.next = nullptr;
    if (tail_ != nullptr) {
      tail_->next = &w;
    } else {
      head_ = &w;
    }
    tail_ = &w;
  }

  // Call with the primitive's mutex released. Wakes in FIFO order.
  void wake_all() noexcept {
    ListWaiter* w = head_;
    head_ = tail_ = nullptr;
    while (w != nullptr) {
      ListWaiter* next = w->next;
      wake_list_waiter(*w);
      w = next;
    }
  }

 private:
  ListWaiter* head_ = nullptr;
  ListWaiter* tail_ = nullptr;
};

}  // namespace weft::detail

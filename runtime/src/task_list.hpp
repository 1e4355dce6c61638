#pragma once

#include <cstddef>

#include "weft/detail/task_header.hpp"

namespace weft::detail {

// An intrusive list of live tasks (a loop's registry). Not thread-safe: the owner guards it.
class TaskList {
 public:
  void push_front(TaskHeader* t) noexcept {
    t->registry_prev_ = nullptr;
    t->registry_next_ = head_;
    if (head_ != nullptr) head_->registry_prev_ = t;
    head_ = t;
    ++size_;
  }
  void unlink(TaskHeader* t) noexcept {
    if (t->registry_prev_ != nullptr) {
      t->registry_prev_->registry_next_ = t->registry_next_;
    } else {
      head_ = t->registry_next_;
    }
    if (t->registry_next_ != nullptr) t->registry_next_->registry_prev_ = t->registry_prev_;
    t->registry_prev_ = t->registry_next_ = nullptr;
    --size_;
  }
  template <class F>
  void for_each(F&& f) {
    for (TaskHeader* t = head_; t != nullptr;) {
      TaskHeader* next = t->registry_next_;  // f may unlink t
      f(t);
      t = next;
    }
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

 private:
  TaskHeader* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace weft::detail

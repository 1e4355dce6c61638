#pragma once

#include <cstddef>

#include "weft/detail/intrusive_list.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

// A registry of live tasks (a loop's, or the scheduler's foreign one): the shared intrusive
// list (intrusive_list.hpp) threaded through the TaskHeaders, newest first, with a for_each
// whose callback may unlink the task it is given. Not thread-safe: the owner guards it.
class TaskList {
 public:
  void push_front(TaskHeader* t) noexcept { list_.push_front(*t); }
  void unlink(TaskHeader* t) noexcept { list_.unlink(*t); }
  template <class F>
  void for_each(F&& f) {
    for (TaskHeader* t = list_.front(); t != nullptr;) {
      TaskHeader* next = static_cast<IntrusiveListNode<TaskHeader>&>(*t).next;  // f may unlink t
      f(t);
      t = next;
    }
  }
  [[nodiscard]] std::size_t size() const noexcept { return list_.size(); }
  // The newest task (nullptr if none); follow the node's `next` for older ones.
  [[nodiscard]] TaskHeader* front() const noexcept { return list_.front(); }
  [[nodiscard]] bool empty() const noexcept { return list_.empty(); }

 private:
  IntrusiveList<TaskHeader> list_;
};

}  // namespace weft::detail

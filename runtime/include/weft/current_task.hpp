#pragma once

/// @file
/// weft::current_task(): the running task's handle to itself (asyncio.current_task()), so a
/// task can name itself, read its id or cancel itself.
///
/// A TaskRef holds a counted reference to the task, like a JoinHandle, so it stays safe to
/// use after the task has finished (cancel() then returns false) wherever it was stored. It
/// gives no access to the result and no way to await: a task's result belongs to its
/// JoinHandle, and a task awaiting itself would wait forever.

#include <cstdint>
#include <string>
#include <utility>

#include "weft/detail/task_header.hpp"
#include "weft/runtime_export.hpp"

namespace weft {

/// A counted reference to a running task, for naming or cancelling it from where no JoinHandle
/// is at hand (see this file's description). Copying takes another reference; the task's
/// frame lives while one is held. An empty TaskRef refers to no task.
class WEFT_RUNTIME_API TaskRef {
 public:
  TaskRef() noexcept = default;
  /// Another reference to the same task.
  TaskRef(const TaskRef& other) noexcept : task_(other.task_) {
    if (task_ != nullptr) task_->add_ref();
  }
  /// Takes over `other`'s reference; `other` becomes empty.
  TaskRef(TaskRef&& other) noexcept : task_(std::exchange(other.task_, nullptr)) {}
  /// Drops this reference and takes `other`'s.
  TaskRef& operator=(TaskRef other) noexcept {
    std::swap(task_, other.task_);
    return *this;
  }
  ~TaskRef() {
    if (task_ != nullptr) task_->release();
  }

  /// False for an empty TaskRef.
  [[nodiscard]] bool valid() const noexcept { return task_ != nullptr; }
  /// The task's id, as JoinHandle::id() gives it; 0 for an empty TaskRef.
  [[nodiscard]] std::uint64_t id() const noexcept { return task_ != nullptr ? task_->id_ : 0; }
  /// The name shown in reports; empty for an empty TaskRef.
  [[nodiscard]] std::string name() const;
  /// Renames the task (as JoinHandle::set_name); any thread may call it.
  void set_name(std::string name);
  /// As JoinHandle::cancel(): true if the request was accepted. A task that cancels itself
  /// gets CancelledError at its next suspension, or, if it returns a value first, ends
  /// cancelled (the value discarded).
  bool cancel() noexcept { return task_ != nullptr && task_->request_cancel(); }
  /// True once the task has finished (as JoinHandle::done()).
  [[nodiscard]] bool done() const noexcept { return task_ != nullptr && task_->is_complete(); }

  /// True when both refer to the same task (or both are empty).
  friend bool operator==(const TaskRef& a, const TaskRef& b) noexcept { return a.task_ == b.task_; }

 private:
  friend TaskRef current_task();
  explicit TaskRef(detail::TaskHeader* task) noexcept : task_(task) { task_->add_ref(); }

  detail::TaskHeader* task_ = nullptr;
};

/// The task running on this thread. Throws std::logic_error outside a task (on a thread that
/// is not running one of weft's loops, e.g. a to_thread body).
[[nodiscard]] WEFT_RUNTIME_API TaskRef current_task();

}  // namespace weft

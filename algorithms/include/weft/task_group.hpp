#pragma once

// weft::with_task_group / weft::TaskGroup: structured concurrency (asyncio.TaskGroup).
//
//   co_await weft::with_task_group([&](weft::TaskGroup& group) -> weft::Task<void> {
//     for (const auto& url : urls) group.spawn(fetch_into(url, results));
//     co_return;
//   });
//   // here every child has ended
//
// The group exists only inside with_task_group, handed to the body by reference: there is
// no TaskGroup to construct, forget to join or destroy early, and an exception escaping the
// body cannot skip the join (in C++ a destructor cannot co_await, so a group object that
// relied on a `co_await group.join()` call would have to abort — or leave children running —
// whenever an exception went past the join). The body runs as a child of the group too, so
// a failing sibling can interrupt it, as asyncio cancels the body of an `async with`.
//
// - group.spawn(task) starts a child (a Task<void>: children hand results out through state
//   that outlives the group, which is race-free to read once with_task_group returned). The
//   body and the children may spawn more children while the group runs, from any loop.
// - The group ends when the body and every child have ended; with_task_group then returns
//   the body's value.
// - The first failure (an exception other than CancelledError, from the body or a child)
//   cancels the body and every other child; children spawned after that start cancelled.
//   Once all have ended, every such failure — in the order they happened — is thrown
//   together as TaskGroupError.
// - A cancel of the task awaiting with_task_group cancels the body and every child; after
//   they all ended it comes out as CancelledError. If there were failures too, TaskGroupError
//   is thrown (nothing is lost) and the cancel is re-armed on the awaiting task, so its next
//   suspension throws CancelledError: an outside cancel always reaches the owner.
// - A body that ends in CancelledError by itself (not because the group or the owner was
//   cancelled) propagates it as the group's outcome.
//
// Never keep the TaskGroup& beyond the body and its children: spawn() after the group ended
// throws std::logic_error while the group still exists, and is undefined afterwards.

#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

// Every failure of a task group (asyncio's ExceptionGroup), in the order they happened.
class TaskGroupError : public std::exception {
 public:
  explicit TaskGroupError(std::vector<std::exception_ptr> errors)
      : errors_(std::move(errors)), what_(describe(errors_)) {}

  [[nodiscard]] const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }
  // "weft: 2 task group failures: [1] boom; [2] unknown exception"
  [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }

 private:
  static std::string describe(const std::vector<std::exception_ptr>& errors) {
    std::string out = "weft: " + std::to_string(errors.size()) + " task group failure" +
                      (errors.size() == 1 ? "" : "s") + ":";
    for (std::size_t i = 0; i < errors.size(); ++i) {
      out += (i == 0 ? " [" : "; [") + std::to_string(i + 1) + "] ";
      try {
        std::rethrow_exception(errors[i]);
      } catch (const std::exception& e) {
        out += e.what();
      } catch (...) {
        out += "unknown exception";
      }
    }
    return out;
  }

  std::vector<std::exception_ptr> errors_;
  std::string what_;
};

class TaskGroup;

// Runs `body(group)` (a callable returning Task<R>) with a new TaskGroup, waits for the body
// and every child to end, and returns the body's value. See the top of this file.
template <class Body>
auto with_task_group(Body body)
    -> Task<typename std::invoke_result_t<Body&, TaskGroup&>::value_type>;

class TaskGroup {
 public:
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Starts `task` as a child of the group. From inside a weft task (the body, a child, or
  // any task that has the group while it runs).
  void spawn(Task<void> task, SpawnOptions options = {}) {
    // Held across weft::spawn so the owner, which reads children_ under the same mutex, never
    // sees a child without its handle (the child may end on another loop before spawn()
    // returns; its post() takes only the queue's mutex, so it does not wait for this one).
    std::lock_guard lock(mutex_);
    if (closed_) throw std::logic_error("weft::TaskGroup::spawn: the group has ended");
    Child& child = children_.emplace_back();
    try {
      child.handle = weft::spawn(detail::run_child(std::move(task), &child.slot, &queue_, &child),
                                 std::move(options));
    } catch (...) {
      children_.pop_back();
      throw;
    }
    if (cancelling_) child.handle.cancel();
  }

  // Only with_task_group joins a group; a frame destroyed mid-way (forced runtime shutdown,
  // already reported by the runtime as shutdown_forced) just drops the handles: the runtime
  // still owns and finishes those tasks.
  ~TaskGroup() = default;

 private:
  template <class Body>
  friend auto with_task_group(Body body)
      -> Task<typename std::invoke_result_t<Body&, TaskGroup&>::value_type>;

  struct Child : detail::ChildNode {
    Settled<void> slot;
    JoinHandle<void> handle;
  };

  TaskGroup() = default;

  // Cancels every child, once: a second reason to stop (the owner's cancel after a failure,
  // or the reverse) must not interrupt a child's clean-up from the first. Children spawned
  // from now on start cancelled.
  void cancel_all() noexcept {
    std::lock_guard lock(mutex_);
    if (cancelling_) return;
    cancelling_ = true;
    for (Child& child : children_) child.handle.cancel();
  }

  // True (and no more spawns accepted) if every child spawned so far has ended.
  bool close_if_all_ended(std::size_t ended) {
    std::lock_guard lock(mutex_);
    if (ended != children_.size()) return false;
    closed_ = true;
    return true;
  }

  std::mutex mutex_;
  std::deque<Child> children_;  // a deque: children keep their address as it grows
  bool cancelling_ = false;
  bool closed_ = false;
  detail::CompletionQueue queue_;
};

template <class Body>
auto with_task_group(Body body)
    -> Task<typename std::invoke_result_t<Body&, TaskGroup&>::value_type> {
  using R = typename std::invoke_result_t<Body&, TaskGroup&>::value_type;
  TaskGroup group;
  Settled<R> body_slot;
  detail::ChildNode body_node;
  // `body` lives in this frame, so a lambda's captures outlive the body's coroutine.
  JoinHandle<void> body_handle =
      spawn(detail::run_child(body(group), &body_slot, &group.queue_, &body_node));

  std::vector<std::exception_ptr> failures;
  bool owner_cancelled = false;
  bool body_ended = false;
  std::size_t children_ended = 0;
  bool cancel_sent = false;
  // noexcept: running out of memory while children run must not unwind this frame from
  // under them (they hold pointers into it), so it ends the process instead.
  const auto record_failure = [&failures](std::exception_ptr e) noexcept {
    failures.push_back(std::move(e));
  };
  const auto cancel_everything = [&]() noexcept {
    if (cancel_sent) return;  // once, for the same reason as in cancel_all()
    cancel_sent = true;
    body_handle.cancel();
    group.cancel_all();
  };
  while (!(body_ended && group.close_if_all_ended(children_ended))) {
    try {
      detail::ChildNode& node = co_await group.queue_.next();
      if (&node == &body_node) {
        body_ended = true;
        if (node.ending == detail::ChildEnding::error) record_failure(body_slot.error());
      } else {
        ++children_ended;
        if (node.ending == detail::ChildEnding::error)
          record_failure(static_cast<TaskGroup::Child&>(node).slot.error());
      }
      if (node.ending == detail::ChildEnding::error) cancel_everything();
    } catch (const CancelledError&) {
      owner_cancelled = true;
      cancel_everything();
    }
  }

  // Every child has ended (posted); join them so none is still completing when we return.
  if (co_await detail::join_child(body_handle)) owner_cancelled = true;
  for (TaskGroup::Child& child : group.children_) {
    if (co_await detail::join_child(child.handle)) owner_cancelled = true;
  }

  if (!failures.empty()) {
    // Deliver both: the failures now, the cancel at the owner's next suspension.
    if (owner_cancelled) detail::current_task()->request_cancel();
    throw TaskGroupError(std::move(failures));
  }
  if (owner_cancelled) throw CancelledError();
  co_return std::move(body_slot).value();
}

}  // namespace weft

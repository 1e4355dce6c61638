#pragma once

#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "weft/detail/task_frame.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/runtime_export.hpp"
#include "weft/task.hpp"

namespace weft::detail {

// A spawned task is a TaskHeader, the scheduler's view, constructed in the room in front of
// the user's coroutine frame (task_frame.hpp), whose promise holds the result until the
// JoinHandle takes it: one block per spawn. Freed when the last reference goes: one held by
// the runtime's registry until the task has completed, one by the JoinHandle until it is
// awaited, dropped or detached.
static_assert(sizeof(TaskHeader) + sizeof(TaskFrameTail) <= kTaskHeaderRoom,
              "a task's header must fit the room in front of its frame (task_frame.hpp)");

// Takes the Task's coroutine and builds its header; the frame now belongs to the header. It
// starts with two references: the caller's (the JoinHandle's) and the registry's, which
// submit_spawn, to be called right after, puts the task in.
template <class T>
[[nodiscard]] TaskHeader* make_spawned_task(Scheduler* scheduler, Task<T> task) {
  if (!task.valid())
    throw std::invalid_argument("weft::spawn: the Task is empty (moved from or default)");
  if (task.handle().promise().started())
    throw std::invalid_argument("weft::spawn: the Task was already awaited or spawned");
  typename Task<T>::handle_type root = task.release();
  root.promise().mark_started();
  std::byte* block = task_frame_block(root.address());
  task_frame_tail(block).state = TaskFrameTail::kHeaderAndFrame;
  return ::new (static_cast<void*>(block)) TaskHeader(scheduler, root, &root.promise());
}

// The result of a task made by make_spawned_task<T>, once complete and not discarded.
template <class T>
decltype(auto) take_spawned_result(TaskHeader& task) {
  return static_cast<TaskPromise<T>*>(task.root_promise())->take_result();
}

// Registers a new task with its runtime (handing it the header's second reference) and makes
// it runnable: on the spawning loop when called from one of the runtime's tasks, else through
// the injection queue (runtime/src/task_header.cpp). `site`: where spawn was called, for task
// dumps.
WEFT_RUNTIME_API void submit_spawn(TaskHeader* task, std::string name, const FrameOrigin& site);

// The scheduler of the loop running on this thread, or nullptr.
[[nodiscard]] WEFT_RUNTIME_API Scheduler* current_scheduler() noexcept;

}  // namespace weft::detail

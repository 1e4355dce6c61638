#pragma once

#include <new>
#include <string>
#include <utility>

#include "weft/detail/frame_pool.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/task.hpp"

namespace weft::detail {

// A spawned task: the header the scheduler queues, and the user's Task, whose frame holds
// the result until the JoinHandle takes it. Allocated from the frame pool. Freed when the
// last reference goes: one held by the runtime's registry until the task has completed, one
// by the JoinHandle until it is awaited, dropped or detached.
template <class T>
class SpawnedTask final : public TaskHeader {
 public:
  static SpawnedTask* create(Scheduler* scheduler, Task<T> task) {
    void* mem = frame_allocate(sizeof(SpawnedTask));
    return ::new (mem) SpawnedTask(scheduler, std::move(task));
  }

  decltype(auto) take_result() { return task_.handle().promise().take_result(); }

 private:
  SpawnedTask(Scheduler* scheduler, Task<T> task) noexcept
      : TaskHeader(scheduler, task.handle(), &task.handle().promise(), &destroy, &destroy_frame),
        task_(std::move(task)) {
    task_.handle().promise().mark_started();
  }

  static void destroy(TaskHeader* header) noexcept {
    auto* self = static_cast<SpawnedTask*>(header);
    self->~SpawnedTask();
    frame_deallocate(self, sizeof(SpawnedTask));
  }
  // Runtime shutdown gave up on the task: destroy its suspended frame (locals' destructors
  // run) while the header stays for whoever still holds the JoinHandle.
  static void destroy_frame(TaskHeader* header) noexcept {
    static_cast<SpawnedTask*>(header)->task_ = Task<T>{};
  }

  Task<T> task_;
};

// Registers a new task with its runtime and makes it runnable (see runtime.cpp).
void submit_spawn(TaskHeader* task, std::string name);

// The scheduler of the loop running on this thread, or nullptr.
[[nodiscard]] Scheduler* current_scheduler() noexcept;

}  // namespace weft::detail

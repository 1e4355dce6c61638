#pragma once

// WaitList: the FIFO of tasks waiting for what a synchronisation primitive hands out — a
// permit, a lock, an item, a notification — and the awaiter protocol every such primitive
// follows, so that each of them is fair, loses no wake-up and survives cancellation.
//
// The primitive owns a std::mutex that guards its state and its WaitList together.
//
//   waiting (the task, in await_suspend):
//     lock; if the thing is available take it and do not suspend; otherwise link a
//     ListWaiter (it lives in the awaiter, in the task's frame), prepare_wait with
//     deregister_list_waiter, unlock, commit_wait().
//   handing out (any thread, e.g. Semaphore::release):
//     lock; pop the first waiter, store what it is given in it (granted = true, plus the
//     payload), unlock, then wake() its task. The waiter is already unlinked, so a canceller
//     that comes later finds it gone (in_flight) and the task resumes only after wake().
//   cancelling (any thread, through the task's registration):
//     lock; if the waiter is still linked, unlink it: the task resumes with nothing given.
//   resuming (await_resume):
//     if the task takes a cancel but was granted something, it hands that on (to the next
//     waiter, or back to the primitive) before throwing CancelledError: a cancelled waiter
//     never swallows a permit, a lock, an item or a notification.
//
// Invariant: a ListWaiter is linked only while its task is suspended or about to suspend in
// that wait, and is unlinked under the primitive's mutex before its task can resume; the
// waker touches the waiter (not just the task) only while holding the mutex.

#include <coroutine>
#include <cstdint>
#include <mutex>

#include "weft/detail/intrusive_list.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

class WaitList;

struct ListWaiter : IntrusiveListNode<ListWaiter> {
  ListWaiter() = default;
  ListWaiter(const ListWaiter&) = delete;
  ListWaiter& operator=(const ListWaiter&) = delete;
  // A waiter still linked when its frame is destroyed belongs to a task whose frame the
  // runtime destroyed at a forced shutdown (it ignored a cancel and waited again): unlink it
  // so the primitive, which may outlive the runtime, never reaches into freed memory. On
  // every other path `linked` was cleared under the mutex before the task resumed
  // (happens-before through wake/schedule), so the unlocked read is not a race.
  ~ListWaiter();

  TaskHeader* task = nullptr;
  std::mutex* mutex = nullptr;  // the primitive's, for deregistration
  WaitList* list = nullptr;
  bool granted = false;  // written under the mutex by the waker, read by the task on resume
};

class WaitList : public IntrusiveList<ListWaiter> {};

inline ListWaiter::~ListWaiter() {
  if (!linked) return;
  std::lock_guard lock(*mutex);
  if (linked) list->unlink(*this);
}

// The registration's deregister function for a ListWaiter (see task_header.hpp).
inline Deregistration deregister_list_waiter(TaskHeader& /*task*/, void* context) noexcept {
  auto& w = *static_cast<ListWaiter*>(context);
  std::lock_guard lock(*w.mutex);
  if (!w.linked) return Deregistration::in_flight;  // a waker popped it and will wake()
  w.list->unlink(w);
  return Deregistration::removed;
}

// Links `w` for the current task and publishes the registration. Call with `lock` held on
// the primitive's mutex; it is released here. Returns await_suspend's answer. `what` (a
// string literal) names the operation in errors and task dumps; `kind` is
// WaitKind::children for a combinator's wait for its children.
inline bool suspend_on(WaitList& list, ListWaiter& w, std::unique_lock<std::mutex>& lock,
                       std::coroutine_handle<> caller, const char* what,
                       WaitKind kind = WaitKind::primitive) {
  TaskHeader* self = current_task();
  if (self == nullptr) {
    lock.unlock();
    throw_no_current_task(what);
  }
  w.task = self;
  w.mutex = lock.mutex();
  w.list = &list;
  w.granted = false;
  // The dump's note: the waiters ahead of this one, counted now under the mutex (the list's
  // address identifies the primitive; the dump never follows it).
  self->prepare_wait(caller, {&deregister_list_waiter, &w},
                     {kind, static_cast<std::uint32_t>(list.size()),
                      reinterpret_cast<std::uintptr_t>(&list), what});
  list.push_back(w);
  lock.unlock();
  return self->commit_wait();
}

// After a waker popped `w` and stored its gift (under the mutex, then released it).
inline void wake_list_waiter(ListWaiter& w) noexcept {
  TaskHeader* task = w.task;  // read before wake(): the waiter may be gone right after
  (void)task->wake();
}

// In await_resume: true if the task was cancelled (the cancel is consumed). The caller
// hands on anything granted before throwing CancelledError.
[[nodiscard]] inline bool resumed_cancelled() noexcept {
  TaskHeader* self = current_task();
  return self != nullptr && self->take_cancel();
}

}  // namespace weft::detail

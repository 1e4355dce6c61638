#pragma once

// What the combinators accept as a piece of work: a Task<T>, which they start as a child, or
// a JoinHandle<T>, whose task already runs (the first program of the README spawns handles
// and then gathers them).
//
// A JoinHandle is taken by value: the combinator owns the task from then on, exactly as it
// owns a Task it started. Its child awaits the handle, so cancelling that child (a sibling
// failed, a winner was found, the combinator was cancelled) cancels the handle's task and
// waits for it — the runtime passes a joiner's cancel on to the joinee. One gap is closed
// here: a child cancelled before its first run never awaits the handle, so after the
// children are joined, settle_handles() cancels and joins any handle's task still running.
// Nothing is left running when the combinator returns, whichever way it was given the work.

#include <cstddef>
#include <exception>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/detail/handle_joins.hpp"
#include "weft/join_handle.hpp"
#include "weft/task.hpp"

namespace weft::detail {

// The T of a Task<T> (what a body callable returns).
template <class R>
struct task_value_of;
template <class T>
struct task_value_of<Task<T>> {
  using type = T;
};

template <class A>
struct WorkArg;

template <class T>
struct WorkArg<Task<T>> {
  using value_type = T;
  static constexpr bool is_handle = false;

  Task<T> take_task() { return std::move(work); }

  Task<T> work;
};

template <class T>
struct WorkArg<JoinHandle<T>> {
  using value_type = T;
  static constexpr bool is_handle = true;

  // The child awaits the handle, which stays here (in the owner's frame) for settle_handles.
  Task<T> take_task() { return await_handle(&work); }

  JoinHandle<T> work;
};

template <class A>
concept work_arg = requires {
  typename WorkArg<A>::value_type;
};

template <class A>
using work_value_t = typename WorkArg<A>::value_type;

template <class... As>
inline constexpr bool any_handle = (WorkArg<As>::is_handle || ...);

// Cancels and joins (shielded: the cancel was ours to send) a handle's task that no child
// awaited to its end. True if we were cancelled meanwhile.
template <class T>
Task<bool> settle_handle(JoinHandle<T>& handle) {
  if (!handle.valid() || handle.done()) co_return false;
  handle.cancel();
  co_return co_await join_shielded(handle);
}

template <class T>
void add_settle(std::vector<Task<bool>>&, WorkArg<Task<T>>&) {}
template <class T>
void add_settle(std::vector<Task<bool>>& settles, WorkArg<JoinHandle<T>>& arg) {
  settles.push_back(settle_handle(arg.work));
}

template <class... As>
Task<bool> settle_handles(std::tuple<WorkArg<As>...>& works) {
  std::vector<Task<bool>> settles;  // lazy Tasks: each runs when awaited below
  std::apply([&](WorkArg<As>&... arg) { (add_settle(settles, arg), ...); }, works);
  bool cancelled = false;
  for (Task<bool>& settle : settles) {
    cancelled |= co_await std::move(settle);
  }
  co_return cancelled;
}

template <class T>
Task<bool> settle_handles(std::vector<JoinHandle<T>>& handles) {
  bool cancelled = false;
  for (JoinHandle<T>& handle : handles) {
    cancelled |= co_await settle_handle(handle);
  }
  co_return cancelled;
}

// The children's Tasks for a pack of works, in order.
template <class... As>
std::tuple<Task<work_value_t<As>>...> take_tasks(std::tuple<WorkArg<As>...>& works) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return std::tuple<Task<work_value_t<As>>...>{std::get<I>(works).take_task()...};
  }
  (std::index_sequence_for<As...>{});
}

template <class T>
std::vector<Task<T>> take_tasks(std::vector<JoinHandle<T>>& handles) {
  std::vector<Task<T>> tasks;
  tasks.reserve(handles.size());
  for (JoinHandle<T>& handle : handles) tasks.push_back(await_handle(&handle));
  return tasks;
}

// supervise() (child_tasks.hpp), then settle_handles: the children and every adopted
// handle's task have ended when this returns or throws. A cancel noted while settling comes
// out as CancelledError.
template <class Works>
Task<ChildNode*> supervise_works(Works& works, CompletionQueue& queue,
                                 std::span<JoinHandle<void>> children,
                                 std::exception_ptr spawn_error, StopAt stop) {
  std::exception_ptr stopped;
  ChildNode* stopped_at = nullptr;
  try {
    stopped_at = co_await supervise(queue, children, spawn_error, stop);
  } catch (...) {
    stopped = std::current_exception();
  }
  const bool cancelled_while_settling = co_await settle_handles(works);
  if (cancelled_while_settling && !stopped) {
    stopped = std::make_exception_ptr(CancelledError());
  }
  if (stopped) std::rethrow_exception(stopped);
  co_return stopped_at;
}

}  // namespace weft::detail

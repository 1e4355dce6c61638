#pragma once

/// @file
/// weft::gather_settled: run several tasks concurrently and collect every outcome, value or
/// exception, in argument order (asyncio.gather(..., return_exceptions=True)).
///
///   auto [a, b] = co_await weft::gather_settled(may_fail(), other());  // Settled<T> each
///   if (a.has_error()) log(a.error()); else use(a.value());
///   std::vector<weft::Settled<int>> all = co_await weft::gather_settled(std::move(tasks));
///
/// A child's failure cancels nothing: every child runs to its end. Settled<T> (settled.hpp)
/// holds a value or an exception_ptr; value() rethrows. The only exception gather_settled
/// itself throws is CancelledError: if the gathering task is cancelled, every child is
/// cancelled and joined first. Like gather, it takes Tasks or JoinHandles (whose tasks it
/// then owns: cancelled and joined with the rest; see detail/work_arg.hpp).

#include <tuple>
#include <utility>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/detail/work_arg.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
template <class... As>
Task<std::tuple<Settled<work_value_t<As>>...>> gather_settled_pack(
    std::tuple<WorkArg<As>...> works) {
  std::tuple<Task<work_value_t<As>>...> tasks = take_tasks(works);
  ChildTuple<work_value_t<As>...> children;
  std::exception_ptr spawn_error = children.spawn(tasks);
  if constexpr (any_handle<As...>) {
    (void)co_await supervise_works(works, children.queue, children.handles, spawn_error,
                                   StopAt::never);
  } else {
    (void)co_await supervise(children.queue, children.handles, spawn_error, StopAt::never);
  }
  co_return std::move(children.slots);
}

// Either `tasks` or `handles` (whose children are made here, where the handles stay put).
template <class T>
Task<std::vector<Settled<T>>> gather_settled_vector(std::vector<Task<T>> tasks,
                                                    std::vector<JoinHandle<T>> handles) {
  if (!handles.empty()) tasks = take_tasks(handles);
  if (tasks.empty()) co_return std::vector<Settled<T>>{};
  ChildVector<T> children(tasks.size());
  std::exception_ptr spawn_error = children.spawn(tasks);
  if (handles.empty()) {
    (void)co_await supervise(children.queue, children.handles, spawn_error, StopAt::never);
  } else {
    (void)co_await supervise_works(handles, children.queue, children.handles, spawn_error,
                                   StopAt::never);
  }
  co_return std::move(children.slots);
}
}  // namespace detail

/// Runs `works` (Tasks or JoinHandles) concurrently and gives each outcome, in argument order.
template <class... As>
requires(detail::work_arg<As>&&...)
    [[nodiscard]] Task<std::tuple<Settled<detail::work_value_t<As>>...>> gather_settled(
        As... works) {
  return detail::gather_settled_pack<As...>(
      std::tuple<detail::WorkArg<As>...>{detail::WorkArg<As>{std::move(works)}...});
}

template <class T>
/// Runs `tasks` concurrently and gives each outcome, in order.
[[nodiscard]] Task<std::vector<Settled<T>>> gather_settled(std::vector<Task<T>> tasks) {
  return detail::gather_settled_vector<T>(std::move(tasks), {});
}

template <class T>
/// As the Task form, over tasks already spawned, which gather_settled then owns.
[[nodiscard]] Task<std::vector<Settled<T>>> gather_settled(std::vector<JoinHandle<T>> handles) {
  return detail::gather_settled_vector<T>({}, std::move(handles));
}

}  // namespace weft

#pragma once

/// @file
/// weft::gather: run several tasks concurrently and wait for all of them (asyncio.gather).
///
///   auto [user, posts] = co_await weft::gather(fetch_user(id), fetch_posts(id));
///   std::vector<int> sizes = co_await weft::gather(std::move(tasks));  // vector<Task<int>>
///
///   auto a = weft::spawn(fetch_user(1));                               // already running
///   auto [ua, ub] = co_await weft::gather(std::move(a), fetch_user(2));
///
/// Each argument is a Task<T> or a JoinHandle<T> (or a vector of either). A Task runs as its
/// own spawned child, so they proceed in parallel on every loop; a JoinHandle's task already
/// runs, and gather takes it over: from then on gather owns it exactly as it owns a task it
/// started — it is cancelled and joined with the others (see detail/work_arg.hpp). The
/// results come back in argument order: a std::tuple for a pack (a void task gives
/// std::monostate, a T& task std::reference_wrapper<T>; see value_t in settled.hpp), a
/// std::vector for a vector (vector<Task<void>> gives void). Zero tasks return at once.
///
/// Stricter than asyncio, which leaves the siblings of a failed task running:
/// - if a child throws (CancelledError included), the others are cancelled and *joined*,
///   then the first exception (in completion order) is rethrown — when it reaches the caller,
///   every child has ended and every child's destructors have run;
/// - if the gathering task is cancelled, every child is cancelled and joined, then
///   CancelledError propagates (it wins over a child's failure met on the way).
/// For every outcome instead of the first failure, see gather_settled.hpp.

#include <tuple>
#include <type_traits>
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
Task<std::tuple<value_t<work_value_t<As>>...>> gather_pack(std::tuple<WorkArg<As>...> works);
template <class T>
using gather_vector_t = std::conditional_t<std::is_void_v<T>, void, std::vector<value_t<T>>>;
template <class T>
Task<gather_vector_t<T>> gather_vector(std::vector<Task<T>> tasks,
                                       std::vector<JoinHandle<T>> handles);
}  // namespace detail

/// Runs `works` (Tasks or JoinHandles) concurrently and gives their values as a tuple, in
/// argument order; see this file's description.
template <class... As>
requires(detail::work_arg<As>&&...)
    [[nodiscard]] Task<std::tuple<value_t<detail::work_value_t<As>>...>> gather(As... works) {
  return detail::gather_pack<As...>(
      std::tuple<detail::WorkArg<As>...>{detail::WorkArg<As>{std::move(works)}...});
}

template <class T>
/// Runs `tasks` concurrently and gives their values in order (void for Task<void>).
[[nodiscard]] Task<detail::gather_vector_t<T>> gather(std::vector<Task<T>> tasks) {
  return detail::gather_vector<T>(std::move(tasks), {});
}

template <class T>
/// As the Task form, over tasks already spawned, which gather then owns.
[[nodiscard]] Task<detail::gather_vector_t<T>> gather(std::vector<JoinHandle<T>> handles) {
  return detail::gather_vector<T>({}, std::move(handles));
}

namespace detail {
template <class... As>
Task<std::tuple<value_t<work_value_t<As>>...>> gather_pack(std::tuple<WorkArg<As>...> works) {
  std::tuple<Task<work_value_t<As>>...> tasks = take_tasks(works);
  ChildTuple<work_value_t<As>...> children;
  std::exception_ptr spawn_error = children.spawn(tasks);
  ChildNode* failed = nullptr;
  if constexpr (any_handle<As...>) {
    failed = co_await supervise_works(works, children.queue, children.handles, spawn_error,
                                      StopAt::first_failure);
  } else {
    failed =
        co_await supervise(children.queue, children.handles, spawn_error, StopAt::first_failure);
  }
  if (failed != nullptr) std::rethrow_exception(children.error_at(failed->index));
  co_return [&]<std::size_t... I>(std::index_sequence<I...>) {
    // Braced initialisation evaluates left to right; no slot can throw here (all succeeded).
    return std::tuple<value_t<work_value_t<As>>...>{take_value(std::get<I>(children.slots))...};
  }
  (std::index_sequence_for<As...>{});
}

// Either `tasks` or `handles` (whose children are made here, where the handles stay put).
template <class T>
Task<gather_vector_t<T>> gather_vector(std::vector<Task<T>> tasks,
                                       std::vector<JoinHandle<T>> handles) {
  if (!handles.empty()) tasks = take_tasks(handles);
  if (tasks.empty()) co_return gather_vector_t<T>();
  ChildVector<T> children(tasks.size());
  std::exception_ptr spawn_error = children.spawn(tasks);
  ChildNode* failed = nullptr;
  if (handles.empty()) {
    failed =
        co_await supervise(children.queue, children.handles, spawn_error, StopAt::first_failure);
  } else {
    failed = co_await supervise_works(handles, children.queue, children.handles, spawn_error,
                                      StopAt::first_failure);
  }
  if (failed != nullptr) std::rethrow_exception(children.slots[failed->index].error());
  if constexpr (!std::is_void_v<T>) {
    std::vector<value_t<T>> results;
    results.reserve(children.slots.size());
    for (Settled<T>& slot : children.slots) results.push_back(take_value(slot));
    co_return results;
  }
}
}  // namespace detail

}  // namespace weft

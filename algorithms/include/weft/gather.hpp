#pragma once

// weft::gather: run several tasks concurrently and wait for all of them (asyncio.gather).
//
//   auto [user, posts] = co_await weft::gather(fetch_user(id), fetch_posts(id));
//   std::vector<int> sizes = co_await weft::gather(std::move(tasks));  // vector<Task<int>>
//
// Each task runs as its own spawned child, so they proceed in parallel on every loop. The
// results come back in argument order: a std::tuple for a pack (a void task gives
// std::monostate, a T& task std::reference_wrapper<T>; see value_t in settled.hpp), a
// std::vector for a vector (vector<Task<void>> gives void). Zero tasks return at once.
//
// Stricter than asyncio, which leaves the siblings of a failed task running:
// - if a child throws (CancelledError included), the others are cancelled and *joined*,
//   then the first exception (in completion order) is rethrown — when it reaches the caller,
//   every child has ended and every child's destructors have run;
// - if the gathering task is cancelled, every child is cancelled and joined, then
//   CancelledError propagates (it wins over a child's failure met on the way).
// For every outcome instead of the first failure, see gather_settled.hpp.

#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/settled.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
template <class... Ts>
Task<std::tuple<value_t<Ts>...>> gather_pack(std::tuple<Task<Ts>...> tasks) {
  ChildTuple<Ts...> children;
  std::exception_ptr spawn_error = children.spawn(tasks);
  ChildNode* failed =
      co_await supervise(children.queue, children.handles, spawn_error, StopAt::first_failure);
  if (failed != nullptr) std::rethrow_exception(children.error_at(failed->index));
  co_return [&]<std::size_t... I>(std::index_sequence<I...>) {
    // Braced initialisation evaluates left to right; no slot can throw here (all succeeded).
    return std::tuple<value_t<Ts>...>{take_value(std::get<I>(children.slots))...};
  }
  (std::index_sequence_for<Ts...>{});
}

template <class T>
using gather_vector_t = std::conditional_t<std::is_void_v<T>, void, std::vector<value_t<T>>>;
}  // namespace detail

template <class... Ts>
[[nodiscard]] Task<std::tuple<value_t<Ts>...>> gather(Task<Ts>... tasks) {
  return detail::gather_pack<Ts...>(std::tuple<Task<Ts>...>{std::move(tasks)...});
}

template <class T>
[[nodiscard]] Task<detail::gather_vector_t<T>> gather(std::vector<Task<T>> tasks) {
  if (tasks.empty()) co_return detail::gather_vector_t<T>();
  detail::ChildVector<T> children(tasks.size());
  std::exception_ptr spawn_error = children.spawn(tasks);
  detail::ChildNode* failed = co_await detail::supervise(
      children.queue, children.handles, spawn_error, detail::StopAt::first_failure);
  if (failed != nullptr) std::rethrow_exception(children.slots[failed->index].error());
  if constexpr (!std::is_void_v<T>) {
    std::vector<value_t<T>> results;
    results.reserve(children.slots.size());
    for (Settled<T>& slot : children.slots) results.push_back(detail::take_value(slot));
    co_return results;
  }
}

}  // namespace weft

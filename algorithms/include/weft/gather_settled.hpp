#pragma once

// weft::gather_settled: run several tasks concurrently and collect every outcome, value or
// exception, in argument order (asyncio.gather(..., return_exceptions=True)).
//
//   auto [a, b] = co_await weft::gather_settled(may_fail(), other());  // Settled<T> each
//   if (a.has_error()) log(a.error()); else use(a.value());
//   std::vector<weft::Settled<int>> all = co_await weft::gather_settled(std::move(tasks));
//
// A child's failure cancels nothing: every child runs to its end. Settled<T> (settled.hpp)
// holds a value or an exception_ptr; value() rethrows. The only exception gather_settled
// itself throws is CancelledError: if the gathering task is cancelled, every child is
// cancelled and joined first.

#include <tuple>
#include <utility>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/settled.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
template <class... Ts>
Task<std::tuple<Settled<Ts>...>> gather_settled_pack(std::tuple<Task<Ts>...> tasks) {
  ChildTuple<Ts...> children;
  std::exception_ptr spawn_error = children.spawn(tasks);
  (void)co_await supervise(children.queue, children.handles, spawn_error, StopAt::never);
  co_return std::move(children.slots);
}
}  // namespace detail

template <class... Ts>
[[nodiscard]] Task<std::tuple<Settled<Ts>...>> gather_settled(Task<Ts>... tasks) {
  return detail::gather_settled_pack<Ts...>(std::tuple<Task<Ts>...>{std::move(tasks)...});
}

template <class T>
[[nodiscard]] Task<std::vector<Settled<T>>> gather_settled(std::vector<Task<T>> tasks) {
  if (tasks.empty()) co_return std::vector<Settled<T>>{};
  detail::ChildVector<T> children(tasks.size());
  std::exception_ptr spawn_error = children.spawn(tasks);
  (void)co_await detail::supervise(children.queue, children.handles, spawn_error,
                                   detail::StopAt::never);
  co_return std::move(children.slots);
}

}  // namespace weft

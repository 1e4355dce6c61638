#pragma once

/// @file
/// weft::when_any: run several tasks concurrently; the first to end wins, the others are
/// cancelled and joined (asyncio.wait(..., return_when=FIRST_COMPLETED), then cancelling the
/// pending ones — in one step, and without leaving any of them running).
///
///   std::variant<std::string, int> r = co_await weft::when_any(from_cache(k), from_db(k));
///   // r.index() is the winner's position; std::get<0>(r) its value
///   weft::WhenAny<Reply> first = co_await weft::when_any(std::move(replicas));
///   // first.index, first.value
///
/// "First" is the first child to post its end: if several ended before the caller looked,
/// the earliest of them wins, deterministically. If the winner ended in an exception, it is
/// rethrown — after the losers were joined. If the waiting task is cancelled, all children
/// are cancelled and joined, then CancelledError propagates (also when a winner was already
/// known). when_any of an empty vector throws std::invalid_argument (nothing could win).
///
/// Tasks or JoinHandles: a JoinHandle's task is owned by when_any from then on, and a loser
/// is cancelled and joined like any other (see detail/work_arg.hpp). To keep the losers
/// running, see weft::wait (wait.hpp).
///
/// Results: a pack gives std::variant<value_t<Ts>...> (the winner's alternative is chosen by
/// position, so equal types are fine; void gives std::monostate); a vector gives WhenAny<T>.

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/detail/work_arg.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/task.hpp"

namespace weft {

template <class T>
/// The result of when_any over a vector: the winner's position and its value.
struct WhenAny {
  std::size_t index;  ///< the winner's position in the vector
  value_t<T> value;   ///< std::monostate for Task<void>
};

namespace detail {
template <class... As>
Task<std::variant<value_t<work_value_t<As>>...>> when_any_pack(std::tuple<WorkArg<As>...> works) {
  std::tuple<Task<work_value_t<As>>...> tasks = take_tasks(works);
  ChildTuple<work_value_t<As>...> children;
  std::exception_ptr spawn_error = children.spawn(tasks);
  ChildNode* winner = nullptr;
  if constexpr (any_handle<As...>) {
    winner = co_await supervise_works(works, children.queue, children.handles, spawn_error,
                                      StopAt::first_end);
  } else {
    winner = co_await supervise(children.queue, children.handles, spawn_error, StopAt::first_end);
  }
  std::optional<std::variant<value_t<work_value_t<As>>...>> result;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((I == winner->index
          ? (void)result.emplace(std::in_place_index<I>, take_value(std::get<I>(children.slots)))
          : void()),
     ...);
  }
  (std::index_sequence_for<As...>{});
  co_return std::move(*result);
}

// Either `tasks` or `handles` (whose children are made here, where the handles stay put).
template <class T>
Task<WhenAny<T>> when_any_vector(std::vector<Task<T>> tasks, std::vector<JoinHandle<T>> handles) {
  if (!handles.empty()) tasks = take_tasks(handles);
  if (tasks.empty()) throw std::invalid_argument("weft::when_any: no tasks");
  ChildVector<T> children(tasks.size());
  std::exception_ptr spawn_error = children.spawn(tasks);
  ChildNode* winner = nullptr;
  if (handles.empty()) {
    winner = co_await supervise(children.queue, children.handles, spawn_error, StopAt::first_end);
  } else {
    winner = co_await supervise_works(handles, children.queue, children.handles, spawn_error,
                                      StopAt::first_end);
  }
  const std::size_t index = winner->index;
  co_return WhenAny<T>{index, take_value(children.slots[index])};
}
}  // namespace detail

/// Runs `first` and `rest` (Tasks or JoinHandles) concurrently; the first to end wins, the
/// others are cancelled and joined. Gives the winner's value in a variant whose index is its
/// position; see this file's description.
template <class A0, class... As>
requires(detail::work_arg<A0> && (detail::work_arg<As> && ...))
    [[nodiscard]] Task<std::variant<value_t<detail::work_value_t<A0>>,
                                    value_t<detail::work_value_t<As>>...>> when_any(A0 first,
                                                                                    As... rest) {
  return detail::when_any_pack<A0, As...>(std::tuple<detail::WorkArg<A0>, detail::WorkArg<As>...>{
      detail::WorkArg<A0>{std::move(first)}, detail::WorkArg<As>{std::move(rest)}...});
}

template <class T>
/// As the pack form, over a vector: gives the winner's position and value.
[[nodiscard]] Task<WhenAny<T>> when_any(std::vector<Task<T>> tasks) {
  return detail::when_any_vector<T>(std::move(tasks), {});
}

template <class T>
/// As the Task form, over tasks already spawned, which when_any then owns.
[[nodiscard]] Task<WhenAny<T>> when_any(std::vector<JoinHandle<T>> handles) {
  return detail::when_any_vector<T>({}, std::move(handles));
}

}  // namespace weft

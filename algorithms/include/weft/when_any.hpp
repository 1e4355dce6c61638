#pragma once

// weft::when_any: run several tasks concurrently; the first to end wins, the others are
// cancelled and joined (asyncio.wait(..., return_when=FIRST_COMPLETED), then cancelling the
// pending ones — in one step, and without leaving any of them running).
//
//   std::variant<std::string, int> r = co_await weft::when_any(from_cache(k), from_db(k));
//   // r.index() is the winner's position; std::get<0>(r) its value
//   weft::WhenAny<Reply> first = co_await weft::when_any(std::move(replicas));
//   // first.index, first.value
//
// "First" is the first child to post its end: if several ended before the caller looked,
// the earliest of them wins, deterministically. If the winner ended in an exception, it is
// rethrown — after the losers were joined. If the waiting task is cancelled, all children
// are cancelled and joined, then CancelledError propagates (also when a winner was already
// known). when_any of an empty vector throws std::invalid_argument (nothing could win).
//
// Results: a pack gives std::variant<value_t<Ts>...> (the winner's alternative is chosen by
// position, so equal types are fine; void gives std::monostate); a vector gives WhenAny<T>.

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/settled.hpp"
#include "weft/task.hpp"

namespace weft {

template <class T>
struct WhenAny {
  std::size_t index;  // the winner's position in the vector
  value_t<T> value;   // std::monostate for Task<void>
};

namespace detail {
template <class... Ts>
Task<std::variant<value_t<Ts>...>> when_any_pack(std::tuple<Task<Ts>...> tasks) {
  ChildTuple<Ts...> children;
  std::exception_ptr spawn_error = children.spawn(tasks);
  ChildNode* winner =
      co_await supervise(children.queue, children.handles, spawn_error, StopAt::first_end);
  std::optional<std::variant<value_t<Ts>...>> result;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((I == winner->index
          ? (void)result.emplace(std::in_place_index<I>, take_value(std::get<I>(children.slots)))
          : void()),
     ...);
  }
  (std::index_sequence_for<Ts...>{});
  co_return std::move(*result);
}
}  // namespace detail

template <class T0, class... Ts>
[[nodiscard]] Task<std::variant<value_t<T0>, value_t<Ts>...>> when_any(Task<T0> first,
                                                                       Task<Ts>... rest) {
  return detail::when_any_pack<T0, Ts...>(
      std::tuple<Task<T0>, Task<Ts>...>{std::move(first), std::move(rest)...});
}

template <class T>
[[nodiscard]] Task<WhenAny<T>> when_any(std::vector<Task<T>> tasks) {
  if (tasks.empty()) throw std::invalid_argument("weft::when_any: no tasks");
  detail::ChildVector<T> children(tasks.size());
  std::exception_ptr spawn_error = children.spawn(tasks);
  detail::ChildNode* winner = co_await detail::supervise(children.queue, children.handles,
                                                         spawn_error, detail::StopAt::first_end);
  const std::size_t index = winner->index;
  co_return WhenAny<T>{index, detail::take_value(children.slots[index])};
}

}  // namespace weft

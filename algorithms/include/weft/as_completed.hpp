#pragma once

/// @file
/// weft::as_completed: the outcomes of several tasks in the order they end
/// (asyncio.as_completed).
///
///   co_await weft::as_completed(std::move(fetches),
///                               [&](weft::AsCompleted<Page>& done) -> weft::Task<void> {
///     while (std::optional<weft::Completed<Page>> c = co_await done.next()) {
///       show(c->index, c->outcome.value());  // value() rethrows that task's exception
///     }
///   });
///
/// Takes a vector of Tasks (each started as a child) or of JoinHandles (whose tasks it then
/// owns, as gather does). The body receives the stream and runs in the calling task; each
/// next() gives the next task to end — its position in the vector and its outcome, value or
/// exception, as a Settled<T> — or std::nullopt once every outcome has been given. One task's
/// failure stops nothing: the stream goes on with the others, as asyncio's does.
///
/// The shape is a combinator with a body, not a free-standing iterator, for the reason
/// weft::timeout has one: the tasks must not outlive the iteration, and a destructor cannot
/// await them. When the body ends — it read every outcome, or stopped early (returned,
/// threw, was cancelled) — the tasks still running are cancelled and *joined*; then the
/// body's value is returned or its exception rethrown (CancelledError if the calling task was
/// cancelled meanwhile). So breaking out of the loop early is fine and leaves nothing behind.
/// next() must be called from the body's own task (the one awaiting as_completed).

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/detail/work_arg.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/task.hpp"

namespace weft {

/// One ended task: its position among the works given, and how it ended.
template <class T>
struct Completed {
  /// the ended task's position among the works given
  std::size_t index;
  /// its value or exception
  Settled<T> outcome;
};

template <class T>
/// The stream of outcomes the body of weft::as_completed reads (see this file's description).
class AsCompleted {
 public:
  AsCompleted(const AsCompleted&) = delete;
  AsCompleted& operator=(const AsCompleted&) = delete;

  /// The next task to end, in completion order; std::nullopt when all have been given.
  /// Cancellable: a cancel throws CancelledError and loses no outcome.
  [[nodiscard]] Task<std::optional<Completed<T>>> next() {
    if (given_ == children_->slots.size()) co_return std::nullopt;
    detail::ChildNode& node = co_await children_->queue.next();
    ++given_;
    co_return Completed<T>{node.index, std::move(children_->slots[node.index])};
  }

  /// How many outcomes next() has still to give.
  [[nodiscard]] std::size_t remaining() const noexcept { return children_->slots.size() - given_; }

  /// Built by as_completed over its children; not for direct use.
  explicit AsCompleted(detail::ChildVector<T>& children) noexcept : children_(&children) {}

 private:
  detail::ChildVector<T>* children_;
  std::size_t given_ = 0;
};

namespace detail {
template <class T, class F>
using as_completed_body_value_t =
    typename task_value_of<std::invoke_result_t<F&, AsCompleted<T>&>>::type;

template <class T, class F>
Task<as_completed_body_value_t<T, F>> as_completed_run(std::vector<Task<T>> tasks,
                                                       std::vector<JoinHandle<T>> handles, F body) {
  using R = as_completed_body_value_t<T, F>;
  if (!handles.empty()) tasks = take_tasks(handles);
  ChildVector<T> children(tasks.size());
  std::exception_ptr failure = children.spawn(tasks);
  Settled<R> result;
  if (!failure) {
    AsCompleted<T> stream(children);
    try {
      if constexpr (std::is_void_v<R>) {
        co_await std::invoke(body, stream);
        result.emplace_value();
      } else {
        result.emplace_value(co_await std::invoke(body, stream));
      }
    } catch (...) {
      failure = std::current_exception();
    }
  }
  // The body is done with the stream: stop what still runs, and join everything.
  cancel_all(children.handles);
  bool cancelled = co_await join_all(children.handles);
  cancelled |= co_await settle_handles(handles);
  if (failure) std::rethrow_exception(failure);
  if (cancelled) throw CancelledError();
  if constexpr (std::is_void_v<R>) {
    result.value();
  } else {
    co_return std::move(result).value();
  }
}
}  // namespace detail

template <class T, class F>
/// Runs `tasks` as children and `body` over the stream of their outcomes; see this file's
/// description.
[[nodiscard]] Task<detail::as_completed_body_value_t<T, F>> as_completed(std::vector<Task<T>> tasks,
                                                                         F body) {
  return detail::as_completed_run<T, F>(std::move(tasks), {}, std::move(body));
}

template <class T, class F>
/// As the Task form, over tasks already spawned, which as_completed then owns.
[[nodiscard]] Task<detail::as_completed_body_value_t<T, F>> as_completed(
    std::vector<JoinHandle<T>> handles, F body) {
  return detail::as_completed_run<T, F>({}, std::move(handles), std::move(body));
}

}  // namespace weft

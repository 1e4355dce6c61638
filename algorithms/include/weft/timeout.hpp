#pragma once

/// @file
/// weft::timeout / weft::timeout_at with a body: a deadline over a block of work that the
/// block itself can look at and move (asyncio.timeout, asyncio.timeout_at).
///
///   Reply r = co_await weft::timeout(2s, [&](weft::TimeoutScope& scope) -> weft::Task<Reply> {
///     Header h = co_await read_header(conn);
///     scope.reschedule(weft::Clock::now() + h.expected_time);  // more time for a big body
///     co_return co_await read_body(conn, h);
///   });  // weft::TimeoutError if the deadline passed first
///
/// asyncio's `async with timeout(d) as cm:` block becomes a callable that takes the scope and
/// returns the Task to run; a C++ destructor cannot await, so the scope is a combinator, like
/// weft::with_task_group. The body runs in the awaiting task, exactly as wait_for runs its
/// work: when the deadline passes the task is cancelled, the body's clean-up runs to its
/// end, and only if the body then ends in CancelledError does the caller get TimeoutError;
/// a value it returns (or an exception it throws) while cleaning up wins. A cancel of the awaiting
/// task comes out as CancelledError, never as TimeoutError. Nested scopes: only the outermost scope
/// whose deadline fired turns the cancel into TimeoutError (also with equal deadlines); inner ones
/// pass CancelledError.
///
/// The scope, from the task that runs the body (the body and the Tasks it awaits; another
/// task's reschedule is refused with std::logic_error, as the deadline is that task's):
/// - when(): the deadline, or std::nullopt for none;
/// - reschedule(deadline): moves it, earlier or later; std::nullopt removes it; a deadline
///   already passed expires the scope at once. Throws std::logic_error once the scope has
///   expired (asyncio raises RuntimeError there): the cancel has gone out;
/// - expired(): the deadline fired (the body is being, or has been, cancelled by it) — what a
///   body that catches CancelledError asks to tell the deadline from a cancel from outside.
/// The scope lives only while the body runs: do not keep the reference beyond it.
///
/// weft::timeout(std::nullopt, body) has no deadline until the body sets one. A deadline that
/// has already passed when the scope starts (a delay <= 0) never starts the body: TimeoutError
/// at once, as for wait_for (asyncio would run the body up to its first suspension).

#include <chrono>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/deadline_scope.hpp"
#include "weft/detail/work_arg.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/timeout_error.hpp"

namespace weft {

/// The deadline of a weft::timeout block, as its body sees it; see this file's description.
class TimeoutScope {
 public:
  /// A scope with `deadline`, or none for std::nullopt.
  explicit TimeoutScope(std::optional<Clock::time_point> deadline) : deadline_(deadline) {}
  TimeoutScope(const TimeoutScope&) = delete;
  TimeoutScope& operator=(const TimeoutScope&) = delete;

  /// The deadline, or std::nullopt for none.
  [[nodiscard]] std::optional<Clock::time_point> when() const { return deadline_.deadline(); }
  /// Moves the deadline, earlier or later; std::nullopt removes it. Throws std::logic_error
  /// once the scope has expired, or from another task.
  void reschedule(std::optional<Clock::time_point> deadline) { deadline_.reschedule(deadline); }
  /// True once the deadline fired.
  [[nodiscard]] bool expired() const { return deadline_.expired(); }

 private:
  friend detail::TaskDeadline& detail::deadline_of(TimeoutScope& scope) noexcept;
  detail::TaskDeadline deadline_;
};

namespace detail {
inline TaskDeadline& deadline_of(TimeoutScope& scope) noexcept { return scope.deadline_; }
}  // namespace detail

namespace detail {
// What a timeout body returns: F(TimeoutScope&) must give a Task<T>.
template <class F>
using timeout_body_value_t = typename task_value_of<std::invoke_result_t<F&, TimeoutScope&>>::type;
}  // namespace detail

/// The body under an absolute deadline (std::nullopt: none).
template <class F>
[[nodiscard]] Task<detail::timeout_body_value_t<F>> timeout_at(
    std::optional<Clock::time_point> deadline, F body) {
  using T = detail::timeout_body_value_t<F>;
  return detail::run_under_deadline<T, TimeoutScope>(
      detail::DeadlineSpec::at(deadline),
      [body = std::move(body)](TimeoutScope& scope) mutable -> Task<T> {
        return std::invoke(body, scope);
      });
}

/// The body under a deadline `delay` from when the returned Task starts.
template <class Rep, class Period, class F>
[[nodiscard]] Task<detail::timeout_body_value_t<F>> timeout(
    std::chrono::duration<Rep, Period> delay, F body) {
  using T = detail::timeout_body_value_t<F>;
  return detail::run_under_deadline<T, TimeoutScope>(
      detail::DeadlineSpec::after(std::chrono::ceil<Clock::duration>(delay)),
      [body = std::move(body)](TimeoutScope& scope) mutable -> Task<T> {
        return std::invoke(body, scope);
      });
}

/// The body with no deadline until it sets one (asyncio.timeout(None)).
template <class F>
[[nodiscard]] Task<detail::timeout_body_value_t<F>> timeout(std::nullopt_t, F body) {
  return timeout_at(std::nullopt, std::move(body));
}

}  // namespace weft

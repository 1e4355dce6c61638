#pragma once

/// @file
/// weft::make_task(callable, args...): a Task that owns a callable and its arguments, and runs
/// the Task the callable returns. weft::spawn(callable, args...) spawns one.
///
///   weft::spawn([name](int n) -> weft::Task<void> { co_await greet(name, n); }, 3);
///
/// Why it exists. A coroutine lambda's captures live in the lambda object, not in the
/// coroutine's frame: the frame keeps only a pointer to the lambda. So
///
///   weft::spawn([name]() -> weft::Task<void> { ... }());   // wrong: a dangling capture
///
/// compiles, and the task then reads `name` from a lambda that died at the end of the full
/// expression, while the task runs on. (The same holds for a coroutine's reference
/// parameters.) make_task moves the callable and decayed copies of the arguments into its own
/// frame, like std::thread, then awaits the callable's Task there: both live exactly as long as
/// the task. The arguments are passed to the callable as rvalues, so a parameter taken by
/// value is moved into the callee and one taken by const reference refers to make_task's copy.
///
/// clang 14 and g++ 12 cannot warn about the dangerous form. (Newer clang can, through
/// [[clang::coro_lifetimebound]] on the task type; weft does not use it yet, as it cannot be
/// tested with the compilers weft is built with.)

#include <concepts>
#include <coroutine>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/task.hpp"

namespace weft {

namespace detail {

template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<Task<T>> = true;

// The Task a callable returns when make_task calls it (as an rvalue, with rvalue arguments).
template <class F, class... Args>
using invoked_task_t = std::invoke_result_t<std::decay_t<F>, std::decay_t<Args>...>;

template <class F, class... Args>
concept TaskCallable =
    std::invocable<std::decay_t<F>, std::decay_t<Args>...> && is_task_v<invoked_task_t<F, Args...>>;

// Suspends the owning coroutine once, right after it made its inner task, and names it
// after that task, so that reports about it (stalled, pending at shutdown, never awaited)
// point at the user's coroutine rather than at run_owned. make_task runs the coroutine up to
// here before it hands the task out: no other thread can yet read the origin it sets.
template <class Inner>
struct AdoptInnerOrigin {
  const Inner* inner;  // null: making it threw
  /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
  bool await_ready() const noexcept { return false; }
  template <class Promise>
  /// Awaiter protocol, called by `co_await` when await_ready() returned false.
  void await_suspend(std::coroutine_handle<Promise> self) const noexcept {
    if (inner != nullptr) self.promise().set_origin(inner->handle().promise().origin());
  }
  /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
  /// wait, or throws its error.
  void await_resume() const noexcept {}
};

// The owning coroutine: its parameters are the frame's copies.
template <class T, class F, class... Args>
Task<T> run_owned(F fn, Args... args) {
  using Inner = invoked_task_t<F, Args...>;
  std::optional<Inner> inner;
  // Destroyed before `inner`: an inner task this one never got to await is not reported on
  // its own, as this task's never-awaited report already names it.
  struct Quiet {
    std::optional<Inner>& inner;
    ~Quiet() {
      if (inner && inner->valid()) inner->handle().promise().mark_started();
    }
  } quiet{inner};
  std::exception_ptr failed;
  try {
    inner.emplace(std::invoke(std::move(fn), std::move(args)...));
  } catch (...) {
    failed = std::current_exception();  // thrown where the task is awaited, as a Task would
  }
  co_await AdoptInnerOrigin<Inner>{inner ? &*inner : nullptr};
  if (failed) std::rethrow_exception(failed);
  if constexpr (std::is_void_v<T>) {
    co_await std::move(*inner);
  } else {
    co_return co_await std::move(*inner);
  }
}

}  // namespace detail

/// A Task that owns `fn` and copies of `args` (moved when given as rvalues) and completes as
/// the Task `fn(args...)` does. `fn` is called at once (a coroutine lambda only makes its
/// Task then); that Task, like every Task, does nothing until awaited or spawned. An
/// exception from the call is thrown where the task is awaited. Reports about the task name
/// the coroutine `fn` returned.
template <class F, class... Args>
requires detail::TaskCallable<F, Args...>
[[nodiscard]] auto make_task(F&& fn, Args&&... args)
    -> Task<typename detail::invoked_task_t<F, Args...>::value_type> {
  using T = typename detail::invoked_task_t<F, Args...>::value_type;
  Task<T> task = detail::run_owned<T, std::decay_t<F>, std::decay_t<Args>...>(
      std::forward<F>(fn), std::forward<Args>(args)...);
  task.handle().resume();  // up to AdoptInnerOrigin: calls fn, which makes its (lazy) Task
  return task;
}

}  // namespace weft

#pragma once

/// @file
/// weft::Task<T>: a lazy coroutine. Nothing runs until the task is awaited (co_await) or
/// handed to weft::spawn / weft::run; a Task destroyed before either is reported as a bug
/// (asyncio's "coroutine was never awaited").
///
/// Awaiting a task runs it with a plain call (detail::InlineRun): a callee that finishes
/// without suspending returns to its awaiter, which goes on without suspending, so a loop of
/// a million sequential co_awaits of tasks that finish at once runs in constant stack on
/// every compiler and optimisation level. A callee that suspends on the runtime transfers
/// back to its awaiter symmetrically when it ends.

#include <coroutine>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "weft/detail/frame_origin.hpp"
#include "weft/detail/inline_run.hpp"
#include "weft/detail/task_frame.hpp"
#include "weft/runtime_export.hpp"

/// weft: the runtime (tasks, loops, spawn, sleep, to_thread, signals) and the asyncio toolkit
/// (gather, wait_for, queues, locks, task groups, generators).
namespace weft {

template <class T = void>
class Task;

namespace detail {

class TaskHeader;

}  // namespace detail

/// Where one of weft's library coroutines (weft::to_thread, the HTTP client's requests) was
/// called: their last parameter, defaulted, so that a report about the task (never awaited,
/// stalled, pending at shutdown) names the user's line instead of weft's internals. Only weft
/// makes one; it converts from nothing, so it never captures an argument meant for the call.
class CallSite {
 public:
  /// `api` names the function the user called. Its defaulted arguments are evaluated at the
  /// call that uses the default: the user's call of `api`.
  static constexpr CallSite here(const char* api, const char* file = __builtin_FILE(),
                                 unsigned line = __builtin_LINE()) noexcept {
    return CallSite(detail::FrameOrigin{api, file, line, 1});
  }
  /// For a form that cannot default a parameter (one after a pack): reports name `api` and
  /// say the call site was not recorded.
  static constexpr CallSite unrecorded(const char* api) noexcept {
    return CallSite(detail::FrameOrigin{api, nullptr, 0, 1});
  }
  /// Where the call came from, as reports show it.
  [[nodiscard]] constexpr const detail::FrameOrigin& origin() const noexcept { return origin_; }

 private:
  explicit constexpr CallSite(detail::FrameOrigin origin) noexcept : origin_(origin) {}
  detail::FrameOrigin origin_;
};

namespace detail {

// Reports a task destroyed before it ever ran (see report.hpp).
WEFT_RUNTIME_API void report_never_awaited(const FrameOrigin& origin) noexcept;

// A Task<T> (T not void) ended with no value: its coroutine ran off its end without
// co_return (undefined behaviour, which clang and g++ turn into an end with no value: clang
// warns with -Wreturn-type, g++ 12 does not), or the value was taken already. Throws
// std::logic_error naming the coroutine.
[[noreturn]] WEFT_RUNTIME_API void throw_no_result(const FrameOrigin& origin, bool taken_before);

// A coroutine whose first parameter is a Task wraps it (block_on's root, wait_for, the
// combinators' children): its reports name the wrapped coroutine, which is the user's code,
// rather than weft's wrapper. The compiler passes the coroutine's parameters to the promise's
// constructor when one takes them (TaskPromise's second one), else uses the default.
template <class U>
FrameOrigin wrapped_origin(const Task<U>& wrapped) noexcept {
  return wrapped.valid() ? wrapped.handle().promise().origin() : FrameOrigin::here();
}

template <class P>
inline constexpr bool is_call_site_v = std::is_same_v<P, CallSite>;

// A coroutine with a CallSite parameter (a library coroutine) takes its origin from it.
template <class... Params>
concept HasCallSite = (is_call_site_v<Params> || ...);
template <class... Params>
concept WithoutCallSite = !HasCallSite<Params...>;

template <class... Params>
FrameOrigin call_site_origin(const Params&... params) noexcept {
  FrameOrigin origin{};
  auto take = [&origin]<class P>(const P& param) {
    if constexpr (is_call_site_v<P>) origin = param.origin();
  };
  (take(params), ...);
  return origin;
}

class TaskPromiseBase {
 public:
  explicit TaskPromiseBase(FrameOrigin origin) noexcept : origin_(origin) {}

  // Every frame has room for a spawned task's header in front of it (task_frame.hpp).
  static void* operator new(std::size_t size) { return allocate_task_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept {
    deallocate_task_frame(p, size);
  }

  std::suspend_always initial_suspend() const noexcept { return {}; }

  struct FinalAwaiter {
    /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
    bool await_ready() const noexcept { return false; }
    template <class Promise>
    /// Awaiter protocol, called by `co_await` when await_ready() returned false.
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> h) const noexcept {
      // A root task (spawned) has no continuation: control returns to the loop, which sees
      // the handle done() and completes the task.
      TaskPromiseBase& p = h.promise();
      return p.continuation_ ? p.awaiter_run_.hand_back(p.continuation_) : std::noop_coroutine();
    }
    /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
    /// wait, or throws its error.
    void await_resume() const noexcept {}
  };
  FinalAwaiter final_suspend() const noexcept { return {}; }

  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  void set_continuation(std::coroutine_handle<> c) noexcept {
    continuation_ = c;
    started_ = true;
  }
  // Awaiter side: runs this (awaited) task; true if it ended during the call (InlineRun).
  [[nodiscard]] bool run_for_awaiter(std::coroutine_handle<> self) noexcept {
    return awaiter_run_.run(self);
  }
  void mark_started() noexcept { started_ = true; }
  [[nodiscard]] bool started() const noexcept { return started_; }
  // For a wrapper task that reports its work's end itself (the combinators' child tasks):
  // spawned, it runs even if cancelled before its first run, and a cancel still pending
  // when it returns leaves its outcome alone — its report, not its outcome, is what its
  // owner reads, and the owner must get that report. Set before the task is spawned.
  void set_reports_own_end() noexcept { reports_own_end_ = true; }
  [[nodiscard]] bool reports_own_end() const noexcept { return reports_own_end_; }
  [[nodiscard]] const std::exception_ptr& exception() const noexcept { return exception_; }
  [[nodiscard]] const FrameOrigin& origin() const noexcept { return origin_; }
  // Renames the task after the user's coroutine it runs (make_task). Only while no other
  // thread can see the task: before it is handed out.
  void set_origin(const FrameOrigin& origin) noexcept { origin_ = origin; }

 protected:
  void rethrow_if_failed() const {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::coroutine_handle<> continuation_;
  InlineRun awaiter_run_;
  std::exception_ptr exception_;
  FrameOrigin origin_;
  bool started_ = false;
  bool reports_own_end_ = false;
};

template <class T>
class TaskPromise final : public TaskPromiseBase {
 public:
  // No coroutine parameter converts to FrameOrigin, so unless the first parameter is a Task
  // or one is a CallSite (the constructors below) the compiler falls back to this one, with
  // the origin defaulted at the coroutine's own definition.
  explicit TaskPromise(FrameOrigin origin = FrameOrigin::here()) noexcept
      : TaskPromiseBase(origin) {}
  template <class U, class... Rest>
  requires WithoutCallSite<Rest...>
  explicit TaskPromise(const Task<U>& wrapped, const Rest&...) noexcept
      : TaskPromiseBase(wrapped_origin(wrapped)) {}
  template <class... Params>
  requires HasCallSite<Params...>
  explicit TaskPromise(const Params&... params) noexcept
      : TaskPromiseBase(call_site_origin(params...)) {}
  Task<T> get_return_object() noexcept;

  template <class U>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (static_cast<void*>(&storage_)) T(std::forward<U>(value));
    has_value_ = true;
  }

  ~TaskPromise() {
    if (has_value_) value_ptr()->~T();
  }

  // Moves the value out (or rethrows the task's exception).
  T take_result() {
    rethrow_if_failed();
    if (!has_value_) throw_no_result(origin(), taken_);
    T out = std::move(*value_ptr());
    value_ptr()->~T();
    has_value_ = false;
    taken_ = true;
    return out;
  }

 private:
  T* value_ptr() noexcept { return std::launder(reinterpret_cast<T*>(&storage_)); }
  alignas(T) unsigned char storage_[sizeof(T)];
  bool has_value_ = false;
  bool taken_ = false;  // the value was moved out: tells "taken twice" from "no co_return"
};

template <class T>
class TaskPromise<T&> final : public TaskPromiseBase {
 public:
  explicit TaskPromise(FrameOrigin origin = FrameOrigin::here()) noexcept
      : TaskPromiseBase(origin) {}
  template <class U, class... Rest>
  requires WithoutCallSite<Rest...>
  explicit TaskPromise(const Task<U>& wrapped, const Rest&...) noexcept
      : TaskPromiseBase(wrapped_origin(wrapped)) {}
  template <class... Params>
  requires HasCallSite<Params...>
  explicit TaskPromise(const Params&... params) noexcept
      : TaskPromiseBase(call_site_origin(params...)) {}
  Task<T&> get_return_object() noexcept;
  void return_value(T& value) noexcept { value_ = std::addressof(value); }
  T& take_result() {
    rethrow_if_failed();
    if (value_ == nullptr) throw_no_result(origin(), false);
    return *value_;
  }

 private:
  T* value_ = nullptr;
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
 public:
  explicit TaskPromise(FrameOrigin origin = FrameOrigin::here()) noexcept
      : TaskPromiseBase(origin) {}
  template <class U, class... Rest>
  requires WithoutCallSite<Rest...>
  explicit TaskPromise(const Task<U>& wrapped, const Rest&...) noexcept
      : TaskPromiseBase(wrapped_origin(wrapped)) {}
  template <class... Params>
  requires HasCallSite<Params...>
  explicit TaskPromise(const Params&... params) noexcept
      : TaskPromiseBase(call_site_origin(params...)) {}
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void take_result() { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
/// A lazy coroutine task: it starts when awaited or spawned (see this file's description).
/// `co_await` it once, or give it to weft::spawn.
class [[nodiscard("a weft::Task is lazy: co_await it or pass it to weft::spawn")]] Task {
 public:
  /// The coroutine's promise (the compiler's hook).
  using promise_type = detail::TaskPromise<T>;
  /// The coroutine handle this Task owns.
  using handle_type = std::coroutine_handle<promise_type>;
  /// The type `co_await task` gives.
  using value_type = T;

  Task() noexcept = default;
  /// Takes ownership of `h` (for the promise's get_return_object).
  explicit Task(handle_type h) noexcept : handle_(h) {}
  /// Takes over `other`'s coroutine; `other` becomes empty.
  Task(Task && other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  /// Destroys this Task's coroutine, if any, then takes over `other`'s.
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { destroy(); }

  /// False for an empty Task (default-constructed, moved from or released).
  [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }

  /// What `co_await task` waits with: it runs the callee and resumes the caller when it ends.
  struct Awaiter {
    /// The awaited coroutine.
    handle_type callee;
    /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
    bool await_ready() const noexcept { return false; }
    /// False (the caller goes on at once) when the callee ended without suspending.
    bool await_suspend(std::coroutine_handle<> caller) noexcept {
      callee.promise().set_continuation(caller);
      return !callee.promise().run_for_awaiter(callee);
    }
    /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
    /// wait, or throws its error.
    decltype(auto) await_resume() { return callee.promise().take_result(); }
  };

  /// Awaiting runs the task to completion and gives its value or rethrows its exception.
  /// The Task must be valid and not yet awaited.
  Awaiter operator co_await()& noexcept { return Awaiter{checked()}; }
  /// As the lvalue form.
  Awaiter operator co_await()&& noexcept { return Awaiter{checked()}; }

  /// For the runtime: the coroutine, still owned by this Task.
  [[nodiscard]] handle_type handle() const noexcept { return handle_; }
  /// For the runtime (spawn): takes ownership of the coroutine; this Task becomes empty.
  [[nodiscard]] handle_type release() noexcept { return std::exchange(handle_, {}); }

 private:
  handle_type checked() const noexcept {
    if (!handle_ || handle_.promise().started()) std::terminate();  // awaited twice or empty
    return handle_;
  }
  void destroy() noexcept {
    if (!handle_) return;
    if (!handle_.promise().started()) detail::report_never_awaited(handle_.promise().origin());
    handle_.destroy();
    handle_ = {};
  }

  handle_type handle_;
};

namespace detail {
template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<TaskPromise<T>>::from_promise(*this)};
}
template <class T>
Task<T&> TaskPromise<T&>::get_return_object() noexcept {
  return Task<T&>{std::coroutine_handle<TaskPromise<T&>>::from_promise(*this)};
}
inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<TaskPromise<void>>::from_promise(*this)};
}
}  // namespace detail

}  // namespace weft

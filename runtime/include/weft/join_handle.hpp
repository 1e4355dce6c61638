#pragma once

#include <coroutine>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

#include "weft/detail/require_task.hpp"
#include "weft/detail/spawned_task.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"
#include "weft/runtime_export.hpp"

namespace weft {

namespace detail {
// Publishes `joiner` as the joinee's single join waiter. False if the joinee completed first.
[[nodiscard]] WEFT_RUNTIME_API bool publish_join_waiter(TaskHeader& joinee,
                                                        TaskHeader& joiner) noexcept;
WEFT_RUNTIME_API Deregistration deregister_join_waiter(TaskHeader& joiner, void* joinee) noexcept;
// For JoinHandle::shielded(): the cancelled joiner keeps waiting; the joinee is left alone.
WEFT_RUNTIME_API Deregistration deregister_join_waiter_shielded(TaskHeader& joiner,
                                                                void* joinee) noexcept;
// Requests cancellation of a task being joined by a cancelled joiner (iteratively along a
// chain of joins).
WEFT_RUNTIME_API void cancel_joinee(TaskHeader& joinee) noexcept;
// Called when a JoinHandle lets go without having taken the result.
WEFT_RUNTIME_API void join_handle_dropped(TaskHeader& task) noexcept;
}  // namespace detail

/// The handle to a spawned task (asyncio's Task object). `co_await handle` gives the task's
/// value or rethrows its exception; cancel() asks it to stop; detach() lets it run on its own
/// (its exception, if any, is then reported). Dropping the handle detaches too.
///
/// Cancellation, precisely. cancel() is accepted (returns true) until the task completes,
/// and an accepted request never vanishes unaccounted. It ends in one of four ways:
///   - delivered: the task's current or next suspension (sleep, join, a lock, an fd wait ...)
///     throws weft::CancelledError. What the task does then is its own business: if it
///     catches the error and returns a value, that value is its outcome. A request that
///     arrives after a wake-up has ended the task's wait (a Queue's item or a Semaphore's
///     permit is already handed to it) is delivered at its *next* suspension: what the
///     wake-up gave the task is its own, never lost;
///   - before the task first ran: the task never runs. Its frame is destroyed unstarted
///     (only its parameters' destructors run) and its outcome is CancelledError (asyncio);
///   - the task cancelled itself (its own handle, or current_task().cancel()) and then
///     returned a value without suspending again: the value is discarded and the outcome is
///     CancelledError (asyncio's rule). If it throws instead, the exception is its outcome;
///   - another task or thread asked after the task's last wake-up, and the task completed
///     without suspending again: there was no suspension left for the request to land at,
///     so the task's value or exception stands (as with a Tokio task aborted during its last
///     poll) and cancelled() is false. The request is counted in the loop's metrics
///     (LoopMetrics::cancels_unseen). asyncio cannot meet this case: there, another task
///     only runs while this one is suspended, and the request lands at that suspension.
/// Several requests before one delivery are one request: one CancelledError.
template <class T>
class [[nodiscard(
    "keep the JoinHandle, or call .detach() to run the task in the background")]] JoinHandle {
 public:
  JoinHandle() noexcept = default;
  /// Takes the reference to `task` that spawn made; for weft::spawn and Runtime::spawn.
  explicit JoinHandle(detail::TaskHeader * task) noexcept : task_(task) {}
  /// Takes over `other`'s task; `other` becomes empty.
  JoinHandle(JoinHandle && other) noexcept
      : task_(std::exchange(other.task_, nullptr)), retrieved_(other.retrieved_) {}
  /// Lets go of this handle's task (as the destructor does), then takes over `other`'s.
  JoinHandle& operator=(JoinHandle&& other) noexcept {
    if (this != &other) {
      reset();
      task_ = std::exchange(other.task_, nullptr);
      retrieved_ = other.retrieved_;
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { reset(); }

  /// False for an empty handle (default-constructed, moved from or detached).
  [[nodiscard]] bool valid() const noexcept { return task_ != nullptr; }
  /// True once the task has finished (value, exception or cancellation).
  [[nodiscard]] bool done() const noexcept { return task_ != nullptr && task_->is_complete(); }
  /// True once the task has finished by cancellation (asyncio's Task.cancelled()): it ended
  /// in CancelledError, or never ran, or its value was discarded (see the top comment).
  [[nodiscard]] bool cancelled() const noexcept {
    return task_ != nullptr && task_->ended_cancelled();
  }
  /// Asks the task to stop (see the top comment for how the request ends). A task cancelled
  /// while it awaits a JoinHandle cancels that task too, and resumes (with CancelledError)
  /// only once it has finished. True if the request was accepted; false if the task has
  /// completed (or is completing on another loop right now) or the handle is empty.
  bool cancel() noexcept { return task_ != nullptr && task_->request_cancel(); }
  /// Lets the task run on without a handle. Its exception, if it throws, is reported.
  void detach()&& noexcept { reset(); }
  /// The task's id, as reports show it; 0 for an empty handle.
  [[nodiscard]] std::uint64_t id() const noexcept { return task_ != nullptr ? task_->id_ : 0; }
  /// The name shown in reports (SpawnOptions::name); empty for an empty handle. Any thread
  /// may rename the task at any time (asyncio's get_name / set_name).
  [[nodiscard]] std::string name() const {
    return task_ != nullptr ? task_->name() : std::string();
  }
  /// Renames the task; throws std::logic_error for an empty handle.
  void set_name(std::string name) {
    if (task_ == nullptr) throw std::logic_error("weft::JoinHandle: naming an empty handle");
    task_->set_name(std::move(name));
  }

  /// `Shielded`: the await of shielded(), whose cancellation does not reach the joinee.
  template <bool Shielded>
  class BasicAwaiter {
   public:
    /// Waits for `handle`'s task.
    explicit BasicAwaiter(JoinHandle& handle) noexcept : handle_(handle) {}

    /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
    bool await_ready() const noexcept {
      return handle_.task_->is_complete() && detail::consume_budget();
    }
    /// Awaiter protocol, called by `co_await` when await_ready() returned false.
    bool await_suspend(std::coroutine_handle<> caller) {
      detail::TaskHeader* self = detail::current_task();
      if (self == nullptr) detail::throw_no_current_task("co_await JoinHandle");
      detail::TaskHeader& joinee = *handle_.task_;
      if (joinee.is_complete()) {  // only the budget stopped await_ready
        self->yield_from(caller);
        return true;
      }
      self->prepare_wait(
          caller,
          {Shielded ? &detail::deregister_join_waiter_shielded : &detail::deregister_join_waiter,
           &joinee},
          {detail::WaitKind::join, 0, joinee.id_, nullptr});
      if (!detail::publish_join_waiter(joinee, *self)) return false;
      return self->commit_wait();
    }
    /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
    /// wait, or throws its error.
    decltype(auto) await_resume() {
      detail::TaskHeader* self = detail::current_task();
      // Shielded: the joinee has finished, its result stays in the handle for a later await.
      if (self != nullptr && self->take_cancel()) throw CancelledError();
      if constexpr (Shielded) {
        return;
      } else {
        if (handle_.task_->is_discarded()) {  // the frame (and any value) is gone
          handle_.retrieved_ = true;
          throw CancelledError();
        }
        handle_.retrieved_ = true;
        return detail::take_spawned_result<T>(*handle_.task_);
      }
    }

   private:
    JoinHandle& handle_;
  };
  /// What `co_await handle` waits with.
  using Awaiter = BasicAwaiter<false>;

  /// Waits until the task has finished and gives its value or rethrows its exception. A task
  /// cancelled while it waits here cancels the joinee too (see the class description).
  Awaiter operator co_await()& {
    check_awaitable();
    return Awaiter{*this};
  }
  /// As the lvalue form.
  Awaiter operator co_await()&& {
    check_awaitable();
    return Awaiter{*this};
  }

  /// `co_await handle.shielded()`: waits until the task has finished, without taking its
  /// result. If the awaiting task is cancelled meanwhile, the cancel does not reach the
  /// joinee (unlike `co_await handle`): the wait goes on until the joinee ends, and then
  /// throws CancelledError; the result stays in the handle (`co_await handle` returns it at
  /// once). The building block of weft::shield and of clean-up that must finish.
  [[nodiscard]] BasicAwaiter<true> shielded()& {
    check_awaitable();
    return BasicAwaiter<true>{*this};
  }

 private:
  void check_awaitable() const {
    if (task_ == nullptr) throw std::logic_error("weft::JoinHandle: awaiting an empty handle");
    if (retrieved_) throw std::logic_error("weft::JoinHandle: result already taken");
    // It would wait for its own end forever (asyncio raises RuntimeError for this too).
    if (task_ == detail::current_task())
      throw std::logic_error("weft::JoinHandle: a task cannot await its own handle");
  }
  void reset() noexcept {
    if (task_ == nullptr) return;
    if (!retrieved_) detail::join_handle_dropped(*task_);
    task_->release();
    task_ = nullptr;
  }

  detail::TaskHeader* task_ = nullptr;
  bool retrieved_ = false;
};

}  // namespace weft

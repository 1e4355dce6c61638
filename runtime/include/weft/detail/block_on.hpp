#pragma once

// The machinery of Runtime::block_on (weft/runtime.hpp): the outcome the blocked thread reads,
// the root task that fills it, and the signal mask the blocked thread holds meanwhile.

#include <cstdint>
#include <exception>
#include <latch>
#include <memory>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/runtime_export.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {

class Scheduler;

template <class T>
class Outcome {
 public:
  template <class... U>
  void set_value(U&&... value) {
    if constexpr (std::is_reference_v<T>)
      state_.template emplace<1>(std::addressof(value)...);
    else
      state_.template emplace<1>(std::forward<U>(value)...);
  }
  void set_exception(std::exception_ptr e) { state_.template emplace<2>(std::move(e)); }
  T get() {
    if (state_.index() == 2) std::rethrow_exception(std::get<2>(state_));
    if constexpr (std::is_void_v<T>)
      return;
    else if constexpr (std::is_reference_v<T>)
      return *std::get<1>(state_);
    else
      return std::move(std::get<1>(state_));
  }

 private:
  using Stored = std::conditional_t<
      std::is_void_v<T>, std::monostate,
      std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>>;
  std::variant<std::monostate, Stored, std::exception_ptr> state_;
};

template <class T>
struct BlockOnState {
  Outcome<T> outcome;
  std::latch done{1};
};

template <class T>
Task<void> run_to_outcome(Task<T> task, std::shared_ptr<BlockOnState<T>> state) {
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      state->outcome.set_value();
    } else {
      state->outcome.set_value(co_await std::move(task));
    }
  } catch (...) {
    state->outcome.set_exception(std::current_exception());
  }
  // The frame's copy of `state` keeps the latch alive while count_down runs, even if the
  // blocked thread wakes and returns first.
  state->done.count_down();
}

WEFT_RUNTIME_API void check_block_on_allowed(Scheduler& scheduler);

class SignalHub;

// For block_on: blocks the runtime's signals (RuntimeOptions::signals) on the calling thread
// if it does not block them yet, so a signal sent to the process cannot pick it while it
// waits; on the way out hands what was sent to this thread meanwhile to the waiters (it
// only waits, so a signal aimed at this very thread is read then) and unblocks what it
// blocked (weft/signal.hpp).
class WEFT_RUNTIME_API SignalMaskScope {
 public:
  explicit SignalMaskScope(Scheduler& scheduler) noexcept;
  SignalMaskScope(const SignalMaskScope&) = delete;
  SignalMaskScope& operator=(const SignalMaskScope&) = delete;
  ~SignalMaskScope();

 private:
  SignalHub* hub_;
  std::uint64_t added_;
};

}  // namespace detail

}  // namespace weft

#pragma once

// InlineRun: how an awaiter runs a coroutine it owns (a Task's callee, a Generator's body)
// and gets control back, in constant stack on every compiler and optimisation level.
//
// Symmetric transfer alone (await_suspend returns the callee's handle, the callee's final
// or yield awaiter returns the awaiter's) is constant-stack only where the compiler turns
// those returns into tail calls: clang at every level, GCC 12 only at -O2 without
// sanitizers. Elsewhere each transfer is a real call, so a loop of a million awaits of
// tasks that finish at once overflows the stack. So the awaiter resumes the callee with a
// plain call, and the callee, when it reaches its hand-back point (its end, or a co_yield)
// still inside that call, returns to it (noop_coroutine) instead of resuming the awaiter;
// the awaiter's await_suspend then returns false and the awaiter goes on, one call deep.
// Only a callee that suspended on the runtime (a sleep, an fd, a join) comes back later,
// resumed by its loop from a fresh stack, and transfers to the awaiter symmetrically.
//
// No atomics: a task's frames run on one thread at a time (TaskHeader's scheduling
// protocol keeps a task from being resumed before the run that suspended it returned), so
// the callee cannot reach its hand-back point on another thread while run() is still
// inside resume().

#include <coroutine>

namespace weft::detail {

class InlineRun {
 public:
  // Awaiter side: runs `callee` until it hands back or suspends. True if it handed back
  // during the call (the awaiter must not suspend); false if it suspended on the runtime
  // (the awaiter suspends; the callee's hand_back() transfers to it later).
  [[nodiscard]] bool run(std::coroutine_handle<> callee) noexcept {
    state_ = State::running_inline;
    callee.resume();
    if (state_ == State::handed_back) {
      state_ = State::idle;
      return true;
    }
    state_ = State::suspended;
    return false;
  }

  // Callee side, at its hand-back point: where control goes next. Inside run()'s call:
  // back into it. Resumed later by a loop: the awaiter itself.
  [[nodiscard]] std::coroutine_handle<> hand_back(std::coroutine_handle<> awaiter) noexcept {
    if (state_ == State::running_inline) {
      state_ = State::handed_back;
      return std::noop_coroutine();
    }
    state_ = State::idle;
    return awaiter;
  }

 private:
  enum class State : unsigned char { idle, running_inline, handed_back, suspended };
  State state_ = State::idle;
};

}  // namespace weft::detail

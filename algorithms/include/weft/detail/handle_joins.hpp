#pragma once

// Two ways for a combinator to wait on a JoinHandle it holds, beside `co_await handle`
// (which passes a cancel of the waiting task on to the joinee):
// - join_shielded: wait for the task's end without passing our cancel on — the cancel has
//   already been sent once (or must not be), and a second one would cut its clean-up short;
// - await_handle: the body of a child that awaits a handle held in the owner's frame, so the
//   child's slot receives the task's outcome like any other child's (and cancelling that
//   child cancels the task, through the runtime's join rule).

#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/task.hpp"

namespace weft::detail {

// Waits until `handle`'s task has ended, without passing a cancel of ours on to it. Returns
// true if we were cancelled meanwhile (each cancel consumed here; the caller delivers it).
template <class T>
Task<bool> join_shielded(JoinHandle<T>& handle) {
  bool cancelled = false;
  for (;;) {
    try {
      co_await handle.shielded();
      break;
    } catch (const CancelledError&) {
      cancelled = true;
      if (handle.done()) break;  // ended (or was abandoned at a forced shutdown)
    }
  }
  co_return cancelled;
}

// A child that collects a running task's outcome into a slot (for JoinHandle arguments).
template <class T>
Task<T> await_handle(JoinHandle<T>* handle) {
  co_return co_await *handle;
}

}  // namespace weft::detail

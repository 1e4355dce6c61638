#pragma once

// weft::shield: protect a piece of work from the cancellation of the task awaiting it
// (asyncio.shield).
//
//   co_await weft::shield(commit_transaction(tx));  // runs to its end even if we are cancelled
//
// The work runs as its own child task, which a cancel of the awaiting task does not reach.
// Where weft differs from asyncio: asyncio's shield returns CancelledError at once and
// leaves the inner work running unobserved; weft never leaves work unseen, so a cancelled
// shield keeps waiting until the work has finished, and only then throws CancelledError
// (the work's value or exception is dropped: the caller asked to stop). Uncancelled, it
// returns the work's value or rethrows its exception, like awaiting the work directly.
//
// The cancel is consumed while waiting and delivered afterwards, so a shield that was
// cancelled always ends in CancelledError, never silently. A shielded task can still be
// stopped deliberately: give it its own way to be told (or spawn it and keep the handle).

#include <utility>

#include "weft/detail/child_tasks.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

template <class T>
[[nodiscard]] Task<T> shield(Task<T> task) {
  Settled<T> slot;
  detail::CompletionQueue queue;
  detail::ChildNode node;
  JoinHandle<void> handle = spawn(detail::run_child(std::move(task), &slot, &queue, &node));
  bool owner_cancelled = false;
  for (;;) {
    try {
      (void)co_await queue.next();
      break;
    } catch (const CancelledError&) {
      owner_cancelled = true;  // noted; the work goes on
    }
  }
  if (co_await detail::join_child(handle)) owner_cancelled = true;
  if (owner_cancelled) throw CancelledError();
  co_return std::move(slot).value();
}

}  // namespace weft

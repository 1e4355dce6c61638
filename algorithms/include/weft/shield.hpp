#pragma once

/// @file
/// weft::shield: protect a piece of work from the cancellation of the task awaiting it
/// (asyncio.shield).
///
///   co_await weft::shield(commit_transaction(tx));  // runs to its end even if we are cancelled
///   co_await weft::shield(std::move(handle));       // a task already spawned
///
/// The work runs as its own task (a Task is spawned when the shield starts; a JoinHandle's
/// task already runs, and the shield takes the handle over), which a cancel of the awaiting
/// task does not reach. Uncancelled, the shield returns the work's value or rethrows its
/// exception, like awaiting the work directly.
///
/// Where weft differs from asyncio: asyncio's shield returns CancelledError at once and leaves
/// the inner work running, owned by nobody. weft never leaves work unseen, so a cancelled
/// shield keeps waiting until the work has finished, and only then throws CancelledError.
/// The work's value is then dropped (the caller asked to stop) — but not a failure: an
/// exception of the work that nobody will see is reported once, exactly as for a detached
/// task or a dropped JoinHandle (ReportKind::unretrieved_exception, to the runtime's report
/// sink), never lost. weft has no "return at once" variant: for that, spawn the work and
/// keep (or detach) its handle, which says plainly who owns it.
///
/// The cancel is consumed while waiting and delivered afterwards, so a shield that was
/// cancelled always ends in CancelledError, never silently. A shielded task can still be
/// stopped deliberately: give it its own way to be told, or keep its handle and cancel that.

#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "weft/detail/handle_joins.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
// The spawned task of shield(Task): the work's frame is a local here, so it is destroyed
// (locals and parameters) before this task completes — when the shield returns, the work's
// destructors have run, whichever loop still holds the task's last reference.
template <class T>
Task<T> frame_ends_first(Task<T> task) {
  Task<T> work = std::move(task);
  co_return co_await std::move(work);
}

template <class T>
Task<T> shield_handle(JoinHandle<T> handle) {
  if (!handle.valid()) throw std::logic_error("weft::shield: an empty JoinHandle");
  // A cancel of ours: the handle is dropped unawaited below, and the runtime reports the
  // work's exception if it had one.
  const bool cancelled = co_await join_shielded(handle);
  if (cancelled) throw CancelledError();
  Settled<T> outcome;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await handle;
      outcome.emplace_value();
    } else {
      outcome.emplace_value(co_await handle);
    }
  } catch (...) {  // the work's exception, or a cancel of ours that came just now
    outcome.set_error(std::current_exception());
  }
  { JoinHandle<T> finished = std::move(handle); }  // the work's frame goes before we return
  if constexpr (std::is_void_v<T>) {
    outcome.value();
  } else {
    co_return std::move(outcome).value();
  }
}
}  // namespace detail

template <class T>
/// Runs `task` in a task of its own that a cancel of the awaiting task does not reach; see this
/// file's description.
[[nodiscard]] Task<T> shield(Task<T> task) {
  co_return co_await detail::shield_handle(spawn(detail::frame_ends_first(std::move(task))));
}

template <class T>
/// As the Task form, for a task already spawned.
[[nodiscard]] Task<T> shield(JoinHandle<T> handle) {
  return detail::shield_handle(std::move(handle));
}

}  // namespace weft

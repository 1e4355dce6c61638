#pragma once

/// @file
/// weft::wait: wait for some of several running tasks, and cancel none of them (asyncio.wait).
///
///   std::vector<weft::JoinHandle<Reply>> replicas = ...;  // spawned
///   weft::WaitResult<Reply> r =
///       co_await weft::wait(std::move(replicas), weft::ReturnWhen::first_completed, 200ms);
///   for (auto& h : r.done) use(co_await h);  // finished: co_await gives the outcome at once
///   for (auto& h : r.pending) h.cancel();     // still running: the caller decides
///
/// Returns when `when` is met — the first task ended (first_completed), the first task failed
/// with an exception other than CancelledError, or all ended (first_exception: as asyncio,
/// also when none failed), all ended (all_completed) — or when the optional timeout passed,
/// whichever comes first. A timeout is not an error: it just returns with what is pending.
/// The handles come back split into `done` and `pending`, each in the order they were given.
/// Unlike when_any, wait cancels nothing: the pending tasks go on running, owned by the
/// caller through their handles again (and a handle dropped is a task detached, as ever).
///
/// The handles returned stand for the tasks given: awaiting one gives that task's value or
/// exception; cancelling one cancels that task, and it resumes its awaiter once the task has
/// ended (with CancelledError). They are new handles — wait watches each task through a small
/// task of its own that awaits it, and returns that task's handle — so their id() differs.
///
/// If the task calling wait is cancelled, wait does own the tasks at that moment: it cancels
/// and joins every one of them, then throws CancelledError (work is never orphaned).
/// An empty vector throws std::invalid_argument, as asyncio raises ValueError.

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/detail/handle_joins.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/sleep.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

/// When weft::wait returns: at the first task to end, at the first to throw (or when all
/// ended), or when all ended.
enum class ReturnWhen { first_completed, first_exception, all_completed };

template <class T>
/// What weft::wait gives: the handles of the tasks that ended, and of those still running.
struct WaitResult {
  /// Handles of the tasks that have ended.
  std::vector<JoinHandle<T>> done;
  /// Handles of the tasks still running.
  std::vector<JoinHandle<T>> pending;
};

namespace detail {
// What the watchers of one wait() share. It outlives the wait: a pending task's watcher still
// posts its end here after wait() returned, to nobody.
struct WaitState {
  explicit WaitState(std::size_t n) : nodes(n) {}
  CompletionQueue queue;
  std::vector<ChildNode> nodes;
  ChildNode deadline_node;
};

// Awaits the given task (a cancel of the watcher reaches it, and the watcher resumes when it
// has ended), tells wait() how it ended, and hands its outcome on to the returned handle.
template <class T>
Task<T> watch(JoinHandle<T> task, std::shared_ptr<WaitState> state, std::size_t index) {
  Settled<T> outcome;
  ChildEnding ending = ChildEnding::value;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await task;
      outcome.emplace_value();
    } else {
      outcome.emplace_value(co_await task);
    }
  } catch (const CancelledError&) {
    outcome.set_error(std::current_exception());
    ending = ChildEnding::cancelled;
  } catch (...) {
    outcome.set_error(std::current_exception());
    ending = ChildEnding::error;
  }
  state->nodes[index].ending = ending;
  state->queue.post(state->nodes[index]);
  if constexpr (std::is_void_v<T>) {
    outcome.value();
  } else {
    co_return std::move(outcome).value();
  }
}

inline Task<void> post_at(Clock::time_point deadline, std::shared_ptr<WaitState> state) {
  co_await sleep_until(deadline);
  state->queue.post(state->deadline_node);
}
}  // namespace detail

template <class T>
/// Waits until `when` holds for `tasks` and splits them into done and pending; cancels none.
/// See this file's description.
[[nodiscard]] Task<WaitResult<T>> wait(std::vector<JoinHandle<T>> tasks,
                                       ReturnWhen when = ReturnWhen::all_completed,
                                       std::optional<Clock::duration> timeout = std::nullopt) {
  if (tasks.empty()) throw std::invalid_argument("weft::wait: no tasks");
  const std::size_t n = tasks.size();
  auto state = std::make_shared<detail::WaitState>(n);
  std::vector<JoinHandle<T>> watched;
  watched.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    state->nodes[i].index = i;
    Task<T> watcher = detail::watch(std::move(tasks[i]), state, i);
    // It always runs, even if cancelled before its first run: only by running does it
    // await (so cancel, or hand over) the task it stands for, and post its end.
    watcher.handle().promise().set_reports_own_end();
    watched.push_back(spawn(std::move(watcher)));
  }
  JoinHandle<void> timer;
  if (timeout) timer = spawn(detail::post_at(Clock::now() + *timeout, state));

  std::vector<bool> ended(n, false);
  bool cancelled = false;
  for (std::size_t count = 0; count < n;) {
    try {
      detail::ChildNode& node = co_await state->queue.next();
      if (&node == &state->deadline_node) break;
      ended[node.index] = true;
      ++count;
      if (when == ReturnWhen::first_completed) break;
      if (when == ReturnWhen::first_exception && node.ending == detail::ChildEnding::error) break;
    } catch (const CancelledError&) {
      cancelled = true;
      break;
    }
  }
  if (timer.valid()) {
    timer.cancel();
    cancelled |= co_await detail::join_shielded(timer);
  }
  if (cancelled) {  // ours to stop: cancel every task, join each (its watcher waits for it)
    for (JoinHandle<T>& w : watched) w.cancel();
    for (JoinHandle<T>& w : watched) (void)co_await detail::join_shielded(w);
    throw CancelledError();
  }
  WaitResult<T> result;
  for (std::size_t i = 0; i < n; ++i) {
    if (ended[i]) {
      // Its watcher posted just before ending: join it, so done() is true on return.
      cancelled |= co_await detail::join_shielded(watched[i]);
      result.done.push_back(std::move(watched[i]));
    } else {
      result.pending.push_back(std::move(watched[i]));
    }
  }
  if (cancelled) {
    // A cancel while collecting: deliver it, but the tasks are the caller's again — the
    // handles go back through nothing, so stop and join them as above.
    for (JoinHandle<T>& h : result.pending) h.cancel();
    for (JoinHandle<T>& h : result.pending) (void)co_await detail::join_shielded(h);
    throw CancelledError();
  }
  co_return result;
}

template <class T, class Rep, class Period>
/// As the other form, returning after `timeout` at the latest (the tasks still running are
/// pending).
[[nodiscard]] Task<WaitResult<T>> wait(std::vector<JoinHandle<T>> tasks, ReturnWhen when,
                                       std::chrono::duration<Rep, Period> timeout) {
  co_return co_await wait(
      std::move(tasks), when,
      std::optional<Clock::duration>(std::chrono::ceil<Clock::duration>(timeout)));
}

}  // namespace weft

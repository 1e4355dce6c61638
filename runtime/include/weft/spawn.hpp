#pragma once

#include <string>
#include <utility>

#include "weft/detail/require_task.hpp"
#include "weft/detail/spawned_task.hpp"
#include "weft/join_handle.hpp"
#include "weft/make_task.hpp"
#include "weft/task.hpp"

namespace weft {

/// Options of weft::spawn and Runtime::spawn.
struct SpawnOptions {
  /// Shown in reports (stall, unobserved exception); free-form, e.g. "fetch user 42".
  std::string name;
};

/// Starts `task` concurrently on the current runtime (asyncio.create_task). Call it from
/// inside a task; from any other thread use Runtime::spawn. The first task spawned (or woken)
/// by the running task goes to its loop's LIFO slot and runs on that loop as soon as the
/// running task suspends; other loops take it only if the running task holds its loop long
/// enough for the stall monitor to expose the slot. Later ones in the same run, and the slot's
/// task after a streak of LIFO turns, go to the back of the loop's work-stealing queue, where
/// idle loops can steal them.
///
/// Two overloads rather than a defaulted SpawnOptions: g++ 12 relocates a defaulted class
/// argument of a call inside a co_await expression (`co_await weft::spawn(t)`) bitwise, which
/// breaks the std::string in it (see BUILD_NOTES.md, "g++ 12 specifics").
///
/// `site`, defaulted, records the line of the call for task dumps (weft/task_dump.hpp).
template <class T>
JoinHandle<T> spawn(Task<T> task, SpawnOptions options,
                    CallSite site = CallSite::here("weft::spawn")) {
  detail::Scheduler* scheduler = detail::current_scheduler();
  if (scheduler == nullptr) detail::throw_no_current_task("weft::spawn");
  detail::TaskHeader* spawned = detail::make_spawned_task(scheduler, std::move(task));
  // create() made the reference the JoinHandle holds; the registry adds its own.
  detail::submit_spawn(spawned, std::move(options.name), site.origin());
  return JoinHandle<T>{spawned};
}
/// As spawn(task, options), without a name.
template <class T>
JoinHandle<T> spawn(Task<T> task, CallSite site = CallSite::here("weft::spawn")) {
  detail::Scheduler* scheduler = detail::current_scheduler();
  if (scheduler == nullptr) detail::throw_no_current_task("weft::spawn");
  detail::TaskHeader* spawned = detail::make_spawned_task(scheduler, std::move(task));
  detail::submit_spawn(spawned, std::string(), site.origin());
  return JoinHandle<T>{spawned};
}

/// Starts `fn(args...)`, a callable returning a Task, with the callable and copies of the
/// arguments kept alive in the task (make_task.hpp says why a coroutine lambda needs this):
///
///   weft::spawn([url](int tries) -> weft::Task<void> { co_await fetch(url, tries); }, 3);
///
/// For a name, spawn(weft::make_task(fn, args...), {.name = "..."}).
template <class F, class... Args>
requires detail::TaskCallable<F, Args...>
auto spawn(F&& fn, Args&&... args)
    -> JoinHandle<typename detail::invoked_task_t<F, Args...>::value_type> {
  // A pack cannot be followed by a defaulted parameter: the call's line is not recorded (the
  // task still names the callable's coroutine).
  return spawn(make_task(std::forward<F>(fn), std::forward<Args>(args)...),
               CallSite::unrecorded("weft::spawn"));
}

}  // namespace weft

#pragma once

/// @file
/// weft::to_thread(callable, args...): asyncio.to_thread. Runs a blocking or CPU-bound
/// callable on the runtime's oneTBB arena (RuntimeOptions::to_thread_threads workers) and
/// gives its result, or rethrows its exception, in the awaiting task.
///
///   std::string digest = co_await weft::to_thread(sha256_hex, std::move(buffer));
///
/// Arguments are copied or moved into the job, as std::thread does (pass std::ref to share).
/// As with std::jthread, a callable whose first parameter is a std::stop_token receives one.
///
/// Two suspensions, both cancellable:
///   1. A slot. At most RuntimeOptions::max_to_thread_jobs jobs are in flight per runtime; a
///      call beyond the cap waits in a FIFO (back-pressure) until a job ends. Cancelled here,
///      nothing ran.
///   2. The job. Cancelling the awaiting task requests stop on the job's stop_token (if the
///      callable takes one), then always waits for the job to end: a job is never left
///      running unseen and the task never resumes while its job still runs. Once a cancel
///      was delivered, the task throws CancelledError even if the job returned a value; the
///      value (or the job's exception) is destroyed and counted as discarded in
///      RuntimeMetrics::to_thread_discarded. One cancel() = one CancelledError, as everywhere.
///
/// A cancel already pending when to_thread is awaited, or a runtime that began shutting
/// down, throws CancelledError at once without running anything. Shutdown waits for every
/// job that started (jobs are never killed), also past shutdown_grace.

#include <type_traits>
#include <utility>

#include "weft/detail/to_thread_job.hpp"
#include "weft/errors.hpp"
#include "weft/task.hpp"

namespace weft {

/// The value `co_await weft::to_thread(fn, args...)` gives: what `fn(args...)` (or
/// `fn(stop_token, args...)`) returns.
template <class F, class... Args>
using to_thread_result_t =
    typename detail::ThreadResult<std::decay_t<F>, std::decay_t<Args>...>::type;

/// Runs `fn()` (or `fn(stop_token)`) on the runtime's thread pool; see the comment at the top
/// of this file. Must be awaited from inside a weft task. Reports about the task (never
/// awaited, pending at shutdown) name the line that called to_thread.
template <class F>
requires std::is_invocable_v<std::decay_t<F>> || detail::takes_stop_token_v<std::decay_t<F>>
[[nodiscard]] Task<to_thread_result_t<F>> to_thread(
    F&& fn, CallSite site = CallSite::here("weft::to_thread")) {
  return detail::start_to_thread(site, std::forward<F>(fn));
}

/// Runs `fn(args...)` (or `fn(stop_token, args...)`) the same way. C++ cannot default a
/// parameter after a pack, so this form cannot record its call site: its reports say so.
/// Capture the arguments in a lambda for reports that name your line.
template <class F, class Arg, class... Args>
requires(!detail::is_call_site_v<std::remove_cvref_t<Arg>>) &&
    (std::is_invocable_v<std::decay_t<F>, std::decay_t<Arg>, std::decay_t<Args>...> ||
     detail::takes_stop_token_v<std::decay_t<F>, std::decay_t<Arg>, std::decay_t<Args>...>)
        [[nodiscard]] Task<to_thread_result_t<F, Arg, Args...>> to_thread(F&& fn, Arg&& arg,
                                                                          Args&&... args) {
  return detail::start_to_thread(CallSite::unrecorded("weft::to_thread"), std::forward<F>(fn),
                                 std::forward<Arg>(arg), std::forward<Args>(args)...);
}

}  // namespace weft

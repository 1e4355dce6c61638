#pragma once

/// @file
/// weft::signal: wait in a task for a POSIX signal (asyncio's loop.add_signal_handler, a
/// graceful stop on Ctrl-C).
///
///   weft::RuntimeOptions options;
///   options.signals = {SIGINT, SIGTERM};          // the runtime takes these over
///   weft::run(serve(), options);
///   ...
///   Task<void> serve() {
///     auto serving = weft::spawn(server.serve());
///     const int sig = co_await weft::signal(SIGINT, SIGTERM);  // SIGINT or SIGTERM
///     co_await server.shutdown(std::chrono::seconds(5));
///   }
///
/// Design. A signal's default action usually ends the process, and a handler (sigaction) may
/// run nothing but async-signal-safe code, on whichever thread the kernel picked. weft reads
/// signals with signal masks and signalfd instead, and only the signals listed in
/// RuntimeOptions::signals, which the runtime owns from its construction to its destruction:
///   - they are blocked on every thread of the runtime before it can receive one: the thread
///     that constructs the Runtime (the one calling weft::run) blocks them first, so the loop
///     threads and the stall monitor, which it starts, inherit the mask, and so do the oneTBB
///     workers those threads make start; a oneTBB worker also blocks them before every
///     to_thread job (one the process started earlier for other work comes to weft that way).
///     Runtime::block_on blocks them on a caller that did not, for the call's duration;
///   - a blocked signal sent to the process stays pending, and each loop's reactor watches a
///     signalfd of its own that reads it (a signalfd reads what is pending for the process or
///     for the thread that reads, so a signal sent to one loop thread with pthread_kill is
///     read by that loop). A oneTBB worker takes what is pending for it after each job, so a
///     job's raise() reaches the waiters before the job's awaiter resumes; the block_on caller
///     does the same when block_on returns;
///   - each signal read is handed to every task waiting in weft::signal for it at that moment
///     (all of them wake, as every asyncio callback of one signal runs). With nobody waiting
///     it is kept pending in the runtime, and the next weft::signal call that names it
///     completes at once with it; the runtime keeps at most one pending of each number, as
///     the kernel does for standard signals.
///
/// Dispositions. A thread the runtime does not own may not block the signals: a std::thread
/// of yours started before the Runtime (one started after it, from the constructing thread,
/// inherits the mask), or a oneTBB worker that served other code before this runtime's first
/// to_thread job on it. The kernel may pick such a thread for a signal sent to the process.
/// So for its life the runtime also sets each listed signal's disposition (the previous one
/// is put back at the end): a handler that, on a thread that does not block the signal,
/// blocks it there from then on and sends it again to the process, where a loop reads it.
/// The cost falls on that thread: it keeps the signal blocked after the runtime ends (weft
/// cannot reach its mask then). A thread of yours that must see the signal itself should not
/// be given to weft: leave the signal out of RuntimeOptions::signals.
///
/// Guarantees. From the Runtime's construction to its destruction, a listed signal sent to the
/// process, or with pthread_kill to any thread, neither kills the process nor runs its
/// previous disposition, and is not lost: it reaches the tasks waiting for it, or waits for
/// the next one (pending in the runtime). Two exceptions: a signal sent with pthread_kill
/// to an idle oneTBB worker that blocks it is read only after the next to_thread job that
/// worker runs for this runtime (never, if it runs none), and one sent to the thread
/// blocked in block_on (or run) is read when that block_on returns. A signal taken over by
/// one live Runtime cannot be listed by
/// another (std::logic_error): the kernel hands a signal to one reader.
///
/// Shutdown. The Runtime's destructor, on the thread that constructed it, discards the listed
/// signals still pending for that thread or the process (they arrived during the runtime's
/// life and nobody awaited them), puts the previous dispositions back and unblocks the
/// signals that thread did not block before: its mask and the dispositions are what they
/// were. Loop threads end with the runtime. oneTBB's workers outlive it (they are shared by
/// the process) and keep the signals blocked, as they keep SIGPIPE (weft/detail/sigpipe.hpp):
/// weft cannot run code on an idle worker, and a signal sent to the process then goes to a
/// thread that does not block it. A Runtime destroyed on another thread than its
/// constructor's cannot restore that thread's mask and leaves it as it is.
///
/// Child processes. A mask is inherited across fork and kept across exec: a program that a
/// task, a to_thread job or the constructing thread starts has the listed signals blocked
/// (SIGTERM would not stop it). Clear them in the child (posix_spawnattr_setsigmask, or
/// pthread_sigmask between fork and exec) if it must see them. Dispositions that are
/// handlers, as weft's is, go back to their default at exec.
///
/// Cancellation. A waiting weft::signal is cancellable: CancelledError, and the task is no
/// longer a waiter. A signal handed to a waiter is returned by it even if a cancel raced with
/// it (that cancel is then delivered at the task's next suspension): a signal is never
/// dropped between two parties. A cancel already pending when the wait begins is thrown at
/// once and consumes no pending signal.

#include <concepts>
#include <cstddef>

#include "weft/runtime_export.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
// weft::signal's out-of-line half: checks `signals` at the call, returns the wait.
[[nodiscard]] WEFT_RUNTIME_API Task<int> wait_for_signals(const int* signals, std::size_t count);
}  // namespace detail

/// Completes with the number of the first of `signals` delivered after the call, or one that
/// was already pending in the runtime (several pending: the lowest number). Call it from a
/// task of a runtime whose RuntimeOptions::signals lists every one of `signals`.
/// Throws, when called: std::logic_error outside a weft task; std::invalid_argument for a
/// number that is no signal, one weft cannot take over (SIGKILL, SIGSTOP, the
/// fault signals SIGSEGV/SIGBUS/SIGFPE/SIGILL, SIGPIPE) or one missing from
/// RuntimeOptions::signals. While waiting: CancelledError.
/// (Signals as arguments, not a braced list: g++ 12 rejects a braced list inside a co_await
/// expression, where this call is written.)
template <std::same_as<int>... More>
[[nodiscard]] Task<int> signal(int first, More... more) {
  const int signals[] = {first, more...};
  return detail::wait_for_signals(signals, 1 + sizeof...(more));
}

}  // namespace weft

#pragma once

#include "weft/runtime_export.hpp"

// SIGPIPE on the threads weft owns.
//
// A write to a socket or pipe whose reader is gone fails with EPIPE and, unless the call can
// say MSG_NOSIGNAL, also raises SIGPIPE, whose default action ends the process. send(2) can
// say it (weft's sockets always do); sendfile(2) and write(2) cannot. A library must neither
// die of that nor change the process's disposition behind its user's back (SIG_IGN would be
// inherited by every thread and by exec'd children), so weft works on signal masks, which
// are per thread:
//   - every thread weft creates blocks SIGPIPE for its whole life, first thing: the loops,
//     the stall monitor, and (before the first to_thread job each one runs) the oneTBB
//     workers. oneTBB's workers are shared by the process, so one that served weft keeps
//     SIGPIPE blocked when it later serves another arena;
//   - the thread that calls weft::run or Runtime::block_on only waits (no task runs there), so
//     its mask is never touched;
//   - a SIGPIPE raised on a blocked thread is not delivered: it stays pending on that thread.
//     Where weft itself may raise one (sendfile, write to a pipe), SigpipeOfOneCall takes it
//     back after a call that failed or moved less than asked (a call that sent some bytes
//     before it met the closed peer returns their count, with the SIGPIPE raised), so pending
//     signals do not pile up on a loop thread; one pending before the call (a user's) stays.
// Limits: a thread started by a task or a to_thread job inherits the blocked mask (a signal
// mask is inherited); a SIGPIPE sent to the process with kill(2) goes to a thread that does
// not block it, usually the user's main thread. A thread of the user's own that writes to a
// socket with write(2) or sendfile(2) must protect itself: block SIGPIPE (pthread_sigmask) or
// set the process's disposition, as without weft.

namespace weft::detail {

// Adds SIGPIPE to the calling thread's signal mask. Called first thing by every thread
// weft starts.
WEFT_RUNTIME_API void block_sigpipe_in_this_thread() noexcept;

// Around one call that may raise SIGPIPE on a thread that blocks it: notes whether a SIGPIPE
// was already pending (one syscall), so that after the call failed or was short
// discard_raised() takes back only a signal the call raised.
class WEFT_RUNTIME_API SigpipeOfOneCall {
 public:
  SigpipeOfOneCall() noexcept;
  SigpipeOfOneCall(const SigpipeOfOneCall&) = delete;
  SigpipeOfOneCall& operator=(const SigpipeOfOneCall&) = delete;

  // After a failed or short call (one more syscall). Preserves errno.
  void discard_raised() noexcept;

 private:
  bool was_pending_;
};

}  // namespace weft::detail

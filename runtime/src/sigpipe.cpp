// See weft/detail/sigpipe.hpp for which threads block SIGPIPE and why.

#include "weft/detail/sigpipe.hpp"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <cerrno>

namespace weft::detail {

namespace {

sigset_t sigpipe_set() noexcept {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  return set;
}

bool sigpipe_pending() noexcept {
  sigset_t pending;
  sigemptyset(&pending);
  return ::sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
}

}  // namespace

void block_sigpipe_in_this_thread() noexcept {
  const sigset_t set = sigpipe_set();
  (void)::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SigpipeOfOneCall::SigpipeOfOneCall() noexcept : was_pending_(sigpipe_pending()) {}

void SigpipeOfOneCall::discard_raised() noexcept {
  if (was_pending_) return;
  const int saved = errno;
  const sigset_t set = sigpipe_set();
  // The kernel directs the SIGPIPE of a failed write at the writing thread; with SIGPIPE
  // blocked it is pending here, and sigtimedwait with a zero timeout takes it (EAGAIN if the
  // thread does not block SIGPIPE and it was delivered already: then there is nothing left).
  const timespec no_wait{0, 0};
  while (::sigtimedwait(&set, nullptr, &no_wait) < 0 && errno == EINTR) {
  }
  errno = saved;
}

}  // namespace weft::detail

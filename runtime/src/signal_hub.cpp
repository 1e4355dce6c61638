// See signal_hub.hpp for the protocol and weft/signal.hpp for what users are promised.

#include "signal_hub.hpp"

#include <pthread.h>
#include <sys/signalfd.h>
#include <sys/ucontext.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace weft::detail {

namespace {

std::string describe(int n) {
  const char* abbrev = ::sigabbrev_np(n);
  return abbrev != nullptr ? "SIG" + std::string(abbrev) + " (" + std::to_string(n) + ")"
                           : std::to_string(n);
}

sigset_t to_sigset(std::uint64_t set) noexcept {
  sigset_t s;
  sigemptyset(&s);
  for (int n = 1; n <= 64; ++n)
    if ((set & signal_bit(n)) != 0) sigaddset(&s, n);
  return s;
}

std::uint64_t blocked_here(std::uint64_t of) noexcept {
  sigset_t current;
  sigemptyset(&current);
  (void)::pthread_sigmask(SIG_BLOCK, nullptr, &current);
  std::uint64_t blocked = 0;
  for (int n = 1; n <= 64; ++n)
    if ((of & signal_bit(n)) != 0 && sigismember(&current, n) == 1) blocked |= signal_bit(n);
  return blocked;
}

// Takes every signal of `set` pending for this thread or the process, without waiting;
// calls `each` with its number.
template <class Each>
void take_pending(const sigset_t& set, Each&& each) noexcept {
  const timespec no_wait{0, 0};
  for (;;) {
    const int n = ::sigtimedwait(&set, nullptr, &no_wait);
    if (n > 0) {
      each(n);
    } else if (errno != EINTR) {
      return;  // EAGAIN: nothing left
    }
  }
}

// The signals weft takes over on the threads weft has blocked them on, whichever runtime
// did it: a thread (a oneTBB worker) blocks them once, then only checks this.
thread_local std::uint64_t blocked_by_weft = 0;

// The signals taken by the live runtimes of the process: a signal sent to the process is
// read by one signalfd, so two runtimes cannot both own one. Process-wide state (like
// oneTBB's worker budget in thread_pool.cpp), never destroyed so that a static Runtime can
// still give its signals back during static destruction.
struct TakenByRuntimes {
  std::mutex mutex;
  std::uint64_t set = 0;  // guarded by mutex
};
TakenByRuntimes& taken_by_runtimes() {
  static TakenByRuntimes* const taken = new TakenByRuntimes;
  return *taken;
}

// The disposition of the taken signals while a runtime owns them. It runs only on a thread
// that does not block the signal: one the runtime does not own (a thread of the user's, or
// a oneTBB worker that served other code before this runtime's first job on it). Without it
// the previous disposition would run there (for most signals, the end of the process). It
// blocks the signal on that thread from now on (uc_sigmask is the mask the kernel restores
// when the handler returns) and sends it again to the process; the signal is blocked here
// while the handler runs, so it goes to another thread that does not block it, or stays
// pending for the process, where a loop's signalfd reads it. Each thread it passes through
// blocks it, so it ends at the signalfd. Async-signal-safe: sigaddset, kill, getpid.
void reroute_to_runtime(int n, siginfo_t* /*info*/, void* context) {
  const int saved = errno;
  auto* uc = static_cast<ucontext_t*>(context);
  sigaddset(&uc->uc_sigmask, n);
  (void)::kill(::getpid(), n);
  errno = saved;
}

}  // namespace

std::uint64_t checked_signal_set(const int* signals, std::size_t count, const char* who) {
  if (count == 0) throw std::invalid_argument(std::string(who) + ": no signal given");
  std::uint64_t set = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const int n = signals[i];
    sigset_t probe;
    sigemptyset(&probe);
    // sigaddset refuses what is no signal and the real-time signals glibc keeps for itself.
    if (n < 1 || n > 64 || n > SIGRTMAX || sigaddset(&probe, n) != 0)
      throw std::invalid_argument(std::string(who) + ": " + std::to_string(n) +
                                  " is not a signal number weft can wait for");
    if (n == SIGKILL || n == SIGSTOP)
      throw std::invalid_argument(std::string(who) + ": " + describe(n) +
                                  " cannot be caught, blocked or waited for");
    // Blocking a fault signal does not stop a real fault from ending the process; waiting
    // for one would only hide the bug's report.
    if (n == SIGSEGV || n == SIGBUS || n == SIGFPE || n == SIGILL)
      throw std::invalid_argument(std::string(who) + ": " + describe(n) +
                                  " reports a fault of the thread that raised it; weft does "
                                  "not take it over");
    // weft blocks SIGPIPE and takes back the ones its own writes raise (sigpipe.hpp); a
    // waiter would race with that.
    if (n == SIGPIPE)
      throw std::invalid_argument(std::string(who) +
                                  ": SIGPIPE is weft's own (writes to a closed peer fail "
                                  "with EPIPE instead); it cannot be waited for");
    set |= signal_bit(n);
  }
  return set;
}

SignalHub::SignalHub(const std::vector<int>& signals, unsigned loops, int dump_signal)
    : dump_bit_(dump_signal == 0
                    ? 0
                    : checked_signal_set(&dump_signal, 1, "weft::RuntimeOptions::dump_signal")),
      taken_((signals.empty() ? 0
                              : checked_signal_set(signals.data(), signals.size(),
                                                   "weft::RuntimeOptions::signals")) |
             dump_bit_),
      set_(to_sigset(taken_)),
      owner_(::pthread_self()) {
  {
    TakenByRuntimes& taken = taken_by_runtimes();
    std::lock_guard lock(taken.mutex);
    if (const std::uint64_t both = taken.set & taken_; both != 0)
      throw std::logic_error(
          "weft::RuntimeOptions::signals: " + describe(std::countr_zero(both) + 1) +
          " is taken by another live Runtime (a signal sent to the process "
          "reaches one of them only)");
    taken.set |= taken_;
  }
  // Blocked before the fds exist and before any thread starts: a signal sent from now on
  // stays pending (for the process, or the thread it was sent to) until someone reads it.
  added_on_owner_ = taken_ & ~blocked_here(taken_);
  (void)::pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  blocked_by_weft |= taken_;
  // The dispositions last, once this thread blocks the signals (the handler never runs on a
  // thread that blocks them).
  struct sigaction reroute {};
  reroute.sa_sigaction = &reroute_to_runtime;
  reroute.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&reroute.sa_mask);
  for (int n = 1; n <= 64; ++n)
    if ((taken_ & signal_bit(n)) != 0) (void)::sigaction(n, &reroute, &previous_[n - 1]);
  fds_.reserve(loops);
  try {
    if (dump_signal != 0 && std::find(signals.begin(), signals.end(), dump_signal) != signals.end())
      throw std::invalid_argument("weft::RuntimeOptions::dump_signal: " + describe(dump_signal) +
                                  " is also in RuntimeOptions::signals (one reader each)");
    if (dump_bit_ != 0) {
      const sigset_t dump_set = to_sigset(dump_bit_);
      dump_fd_ = FileDescriptor(::signalfd(-1, &dump_set, SFD_NONBLOCK | SFD_CLOEXEC));
      if (!dump_fd_.valid())
        throw std::system_error(errno, std::system_category(),
                                "weft::RuntimeOptions::dump_signal: signalfd");
    }
    const sigset_t loop_set = to_sigset(taken_ & ~dump_bit_);
    for (unsigned i = 0; i < loops && has_loop_signals(); ++i) {
      FileDescriptor fd(::signalfd(-1, &loop_set, SFD_NONBLOCK | SFD_CLOEXEC));
      if (!fd.valid())
        throw std::system_error(errno, std::system_category(),
                                "weft::RuntimeOptions::signals: signalfd");
      fds_.push_back(std::move(fd));
    }
  } catch (...) {
    give_back();
    throw;
  }
}

SignalHub::~SignalHub() { give_back(); }

void SignalHub::give_back() noexcept {
  fds_.clear();
  const bool on_owner = ::pthread_equal(owner_, ::pthread_self()) != 0;
  const sigset_t added = to_sigset(added_on_owner_);
  // Unblocking a pending signal would deliver it now, with the previous disposition (for
  // most, the end of the process): what arrived during the runtime's life and was not
  // awaited is dropped, before the dispositions go back. Signals the thread blocked before
  // keep their pending state. On another thread the owner's mask cannot be reached: see
  // weft/signal.hpp.
  if (on_owner) take_pending(added, [](int) {});
  for (int n = 1; n <= 64; ++n)
    if ((taken_ & signal_bit(n)) != 0) (void)::sigaction(n, &previous_[n - 1], nullptr);
  if (on_owner) {
    (void)::pthread_sigmask(SIG_UNBLOCK, &added, nullptr);
    blocked_by_weft &= ~added_on_owner_;
  }
  TakenByRuntimes& taken = taken_by_runtimes();
  std::lock_guard lock(taken.mutex);
  taken.set &= ~taken_;
}

void SignalHub::read_loop_fd(unsigned loop) noexcept {
  std::array<signalfd_siginfo, 8> infos{};
  for (;;) {
    const ssize_t n = ::read(fds_[loop].get(), infos.data(), sizeof(infos));
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: read to the end, as the edge-triggered registration requires
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof(signalfd_siginfo); ++i)
      deliver(static_cast<int>(infos[i].ssi_signo));
  }
}

void SignalHub::drain_this_thread() noexcept {
  take_pending(set_, [this](int n) { deliver(n); });
}

void SignalHub::block_in_this_thread() noexcept {
  if ((blocked_by_weft & taken_) == taken_) return;
  (void)::pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  blocked_by_weft |= taken_;
}

std::uint64_t SignalHub::block_missing_in_this_thread() noexcept {
  const std::uint64_t missing = taken_ & ~blocked_here(taken_);
  if (missing != 0) {
    const sigset_t add = to_sigset(missing);
    (void)::pthread_sigmask(SIG_BLOCK, &add, nullptr);
  }
  return missing;
}

void SignalHub::unblock_in_this_thread(std::uint64_t added) noexcept {
  // What was sent to this thread meanwhile (pthread_kill: no loop's signalfd can read it)
  // goes to the waiters, not to the disposition; also when this thread blocked the signals
  // already (it constructed the Runtime).
  drain_this_thread();
  if (added == 0) return;
  const sigset_t set = to_sigset(added);
  (void)::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void SignalHub::deliver(int signal) noexcept {
  if (signal < 1 || signal > 64 || (taken_ & signal_bit(signal)) == 0) return;
  if (signal_bit(signal) == dump_bit_) {  // read by a oneTBB worker's drain: pass it on
    std::lock_guard lock(dump_mutex_);
    if (dump_request_ != nullptr) dump_request_(dump_context_);
    return;
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  SignalWaiter* first = nullptr;
  SignalWaiter* last = nullptr;
  {
    std::lock_guard lock(mutex_);
    for (SignalWaiter* w = waiters_.front(); w != nullptr;) {
      SignalWaiter* next = w->next;
      if ((w->set & signal_bit(signal)) != 0) {
        waiters_.unlink(*w);
        w->signal = signal;
        w->woken_next = nullptr;
        (last != nullptr ? last->woken_next : first) = w;
        last = w;
      }
      w = next;
    }
    if (first == nullptr) pending_ |= signal_bit(signal);
  }
  // Outside the lock: a woken task may run on another loop at once and wait again. Each
  // waiter's fields are read before its wake: after it, its frame may be gone.
  while (first != nullptr) {
    SignalWaiter* next = first->woken_next;
    TaskHeader* task = first->task;
    first = next;
    (void)task->wake();
  }
}

int SignalHub::take_or_link(SignalWaiter& w, TaskHeader& task, std::coroutine_handle<> caller) {
  std::lock_guard lock(mutex_);
  if (const std::uint64_t ready = pending_ & w.set; ready != 0) {
    const int n = std::countr_zero(ready) + 1;  // the lowest pending number
    pending_ &= ~signal_bit(n);
    return n;
  }
  w.hub = this;
  w.task = &task;
  w.signal = 0;
  // Under the lock, before any delivery can see `w`: its wake finds the registration.
  task.prepare_wait(caller, {&SignalHub::deregister, &w}, {WaitKind::signal, 0, w.set, nullptr});
  waiters_.push_back(w);
  return 0;
}

Deregistration SignalHub::deregister(TaskHeader& /*task*/, void* context) noexcept {
  auto& w = *static_cast<SignalWaiter*>(context);
  std::lock_guard lock(w.hub->mutex_);
  if (!w.linked) return Deregistration::in_flight;  // a delivery unlinked it and wakes it
  w.hub->waiters_.unlink(w);
  return Deregistration::removed;
}

std::uint64_t SignalHub::waiters() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

}  // namespace weft::detail

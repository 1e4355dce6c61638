#pragma once

// SignalHub: the signals one Runtime took over (RuntimeOptions::signals), and the tasks
// waiting for them in weft::signal. weft/signal.hpp states the guarantees; this is how.
//
// Masks. The constructor blocks the signals on the constructing thread before the Scheduler
// starts any thread, so every thread the runtime starts inherits the mask. oneTBB workers
// call block_in_this_thread() before each job (a flag per thread makes that one syscall
// per worker), and drain_this_thread() after it.
//
// Dispositions. For the runtime's life each signal's disposition is a handler that only
// runs on a thread that does not block it (a user's thread, a oneTBB worker that served
// other code first): it blocks the signal there and sends it again to the process, so that
// it ends pending for the process, where a signalfd reads it (signal_hub.cpp). The previous
// dispositions are put back at the end. One live runtime per signal in the process (a
// process-wide set, checked by the constructor): the kernel hands a process-directed
// signal to one reader.
//
// Reading. One signalfd per loop, registered with that loop's reactor (edge-triggered):
// read_loop_fd() on the loop's thread reads it to EAGAIN. Per loop, because a signalfd reads
// what is pending for the process or for the *reading* thread: a signal sent to loop thread
// 2 with pthread_kill is readable only on loop 2. A signal sent to the process wakes every
// loop's epoll; one read takes it, the others find EAGAIN.
//
// Waiters. `mutex_` guards the waiter list and `pending_`. The protocol is the one of
// task_header.hpp with the list as the waker's structure:
//   waiting:    lock; a pending signal in the waiter's set is consumed and returned (no
//               wait); else link, prepare_wait(deregister), unlock, commit_wait().
//   delivering: lock; every linked waiter whose set has the signal is unlinked and handed
//               it (wake-all); with none, the signal becomes pending; unlock; wake each.
//   cancel:     lock; unlink if still linked (removed), else a delivery has it (in_flight).
// Invariant: a waiter is linked only while its task waits, and is unlinked under `mutex_`
// before that task can resume, so no delivery touches a frame that moved on. `signal` is
// written under the lock before the wake that resumes the task (whose resumption acquires).

#include <signal.h>

#include <array>
#include <atomic>
#include <coroutine>
#include <cstdint>
#include <mutex>
#include <vector>

#include "file_descriptor.hpp"
#include "weft/detail/intrusive_list.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

class SignalHub;

// One task waiting in weft::signal; lives in the awaiter, in the task's frame.
struct SignalWaiter : IntrusiveListNode<SignalWaiter> {
  std::uint64_t set = 0;  // bit (n - 1) for signal n
  SignalHub* hub = nullptr;
  TaskHeader* task = nullptr;
  int signal = 0;  // the one handed over; 0 while none. Guarded by the hub's mutex_.
  SignalWaiter* woken_next = nullptr;  // a delivery's list of waiters to wake
};

// The bit of signal `n` in a set of signals 1..64.
constexpr std::uint64_t signal_bit(int n) noexcept { return std::uint64_t{1} << (n - 1); }

// The set of `signals`, each checked: std::invalid_argument naming `who` for an empty list,
// a number that is no signal, or one weft cannot take over (see weft/signal.hpp).
std::uint64_t checked_signal_set(const int* signals, std::size_t count, const char* who);

class SignalHub {
 public:
  // Checks `signals` (std::invalid_argument), blocks them on this thread and opens one
  // signalfd per loop. Nothing is started: the Scheduler registers the fds and starts threads.
  // `dump_signal` (0: none) is taken over like the others (masks, dispositions, one runtime
  // per signal) but read apart: not by the loops, which may all be stuck when a dump is
  // wanted, but through dump_fd() by the thread that takes the dump (dump_on_signal.hpp).
  SignalHub(const std::vector<int>& signals, unsigned loops, int dump_signal = 0);
  SignalHub(const SignalHub&) = delete;
  SignalHub& operator=(const SignalHub&) = delete;
  // With every runtime thread joined: on the constructing thread, discards what is pending
  // and unblocks what the constructor blocked (weft/signal.hpp, "Shutdown").
  ~SignalHub();

  [[nodiscard]] std::uint64_t taken() const noexcept { return taken_; }
  [[nodiscard]] int loop_fd(unsigned loop) const noexcept { return fds_[loop].get(); }
  // False when the only signal taken is the dump signal: the loops need not watch.
  [[nodiscard]] bool has_loop_signals() const noexcept { return (taken_ & ~dump_bit_) != 0; }
  // The signalfd of the dump signal (-1 if none), and who takes the dump when another reader
  // (a oneTBB worker draining what is pending) gets the signal first. Under dump_mutex_, so
  // once on_dump_signal(nullptr, nullptr) returned no delivery is still calling the old one.
  [[nodiscard]] int dump_fd() const noexcept { return dump_fd_.get(); }
  void on_dump_signal(void (*request)(void*), void* context) noexcept {
    std::lock_guard lock(dump_mutex_);
    dump_request_ = request;
    dump_context_ = context;
  }

  // Loop thread of `loop`, on an edge of its signalfd: reads to EAGAIN, delivers each.
  void read_loop_fd(unsigned loop) noexcept;
  // A thread that blocks the signals: takes those pending for it (or the process), delivers.
  void drain_this_thread() noexcept;
  // Blocks the signals on this thread if weft has not already done it here.
  void block_in_this_thread() noexcept;
  // Blocks on this thread those of the signals it does not block yet; returns them (to give
  // to unblock_in_this_thread), 0 if it blocked them all already.
  [[nodiscard]] std::uint64_t block_missing_in_this_thread() noexcept;
  // Delivers what is pending for this thread, then unblocks `added` (from the call above).
  // The two together bracket a Runtime::block_on (SignalMaskScope).
  void unblock_in_this_thread(std::uint64_t added) noexcept;

  void deliver(int signal) noexcept;

  // The waiting half of the protocol above: a pending signal of w.set (consumed), or 0 once
  // `w` is linked and the task prepared to wait (it then calls commit_wait()).
  [[nodiscard]] int take_or_link(SignalWaiter& w, TaskHeader& task, std::coroutine_handle<> caller);
  static Deregistration deregister(TaskHeader& task, void* context) noexcept;

  [[nodiscard]] std::uint64_t waiters() const;
  [[nodiscard]] std::uint64_t received() const noexcept {
    return received_.load(std::memory_order_relaxed);
  }

 private:
  void give_back() noexcept;  // the destructor's work; also a failed constructor's

  const std::uint64_t dump_bit_;  // signal_bit(dump signal), or 0
  const std::uint64_t taken_;
  sigset_t set_{};
  std::uint64_t added_on_owner_ = 0;  // of taken_, those the constructing thread did not block
  pthread_t owner_;
  // The dispositions the constructor replaced, by signal number - 1; put back at the end.
  std::array<struct sigaction, 64> previous_{};
  std::vector<FileDescriptor> fds_;  // one signalfd per loop
  FileDescriptor dump_fd_;
  std::mutex dump_mutex_;
  void (*dump_request_)(void*) = nullptr;  // guarded by dump_mutex_
  void* dump_context_ = nullptr;           // guarded by dump_mutex_

  mutable std::mutex mutex_;
  std::uint64_t pending_ = 0;            // read with nobody waiting; guarded by mutex_
  IntrusiveList<SignalWaiter> waiters_;  // FIFO; guarded by mutex_

  // Statistics only (RuntimeMetrics): relaxed, it orders nothing.
  std::atomic<std::uint64_t> received_{0};
};

}  // namespace weft::detail

#include "weft/async_fd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

#include "io_state.hpp"
#include "loop.hpp"
#include "scheduler.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/detail/sigpipe.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"

namespace weft {

namespace detail {

void IoDirection::set_ready(bool closed) noexcept {
  std::uint32_t w = word.load(std::memory_order_relaxed);
  const std::uint32_t add = kReady | (closed ? kClosed : 0u);
  // acq_rel: acquire reads the waiter published with kWaiting; release publishes the edge.
  while (!word.compare_exchange_weak(w, ((w + kTickOne) | add) & ~kWaiting,
                                     std::memory_order_acq_rel, std::memory_order_relaxed)) {
  }
  if ((w & kWaiting) != 0) waiter->wake();
}

namespace {

IoDirection& direction(IoState* s, bool write) { return write ? s->write : s->read; }

// A canceller claimed a task waiting for readiness: take the waiter back, unless the
// reactor's CAS took it first (then the reactor calls wake()).
Deregistration deregister_io(TaskHeader& /*task*/, void* context) noexcept {
  auto& dir = *static_cast<IoDirection*>(context);
  std::uint32_t w = dir.word.load(std::memory_order_relaxed);
  for (;;) {
    if ((w & IoDirection::kWaiting) == 0) return Deregistration::in_flight;
    if (dir.word.compare_exchange_weak(w, w & ~IoDirection::kWaiting, std::memory_order_relaxed,
                                       std::memory_order_relaxed))
      return Deregistration::removed;
  }
}

void clear_ready(IoDirection& dir, Readiness seen) noexcept {
  std::uint32_t w = dir.word.load(std::memory_order_relaxed);
  constexpr std::uint32_t tick_mask = ~IoDirection::kFlags;
  // Only the readiness we saw: a newer edge (different tick) stays. After CLOSED, reads never
  // block again, so READY stays too.
  while ((w & (IoDirection::kReady | IoDirection::kClosed)) == IoDirection::kReady &&
         (w & tick_mask) == seen.tick) {
    if (dir.word.compare_exchange_weak(w, w & ~IoDirection::kReady, std::memory_order_relaxed,
                                       std::memory_order_relaxed))
      return;
  }
}

Readiness current_readiness(const IoDirection& dir) noexcept {
  const std::uint32_t w = dir.word.load(std::memory_order_acquire);
  return Readiness{w & ~IoDirection::kFlags};
}

}  // namespace

}  // namespace detail

using detail::IoDirection;

bool ReadinessAwaiter::await_ready() noexcept {
  const IoDirection& dir = detail::direction(state_, write_);
  // Acquire pairs with the reactor's release: the edge happened before our syscall.
  return (dir.word.load(std::memory_order_acquire) & IoDirection::kReady) != 0 &&
         detail::consume_budget();
}

bool ReadinessAwaiter::await_suspend(std::coroutine_handle<> caller) {
  detail::TaskHeader* self = detail::current_task();
  if (self == nullptr) detail::throw_no_current_task("co_await weft::readable/writable");
  IoDirection& dir = detail::direction(state_, write_);
  std::uint32_t w = dir.word.load(std::memory_order_acquire);
  if ((w & IoDirection::kReady) != 0) {  // ready: only the budget sent us here
    self->yield_from(caller);
    return true;
  }
  // Claim the direction: one waiter at a time, decided by this CAS, before `waiter` is
  // written.
  for (;;) {
    if ((w & IoDirection::kReady) != 0) {  // an edge arrived meanwhile: no wait
      self->yield_from(caller);
      return true;
    }
    if ((w & (IoDirection::kWaiting | IoDirection::kRegistering)) != 0)
      throw std::logic_error("weft::AsyncFd: two tasks waiting for the same direction of one fd");
    if (dir.word.compare_exchange_weak(w, w | IoDirection::kRegistering, std::memory_order_acquire,
                                       std::memory_order_acquire))
      break;
  }
  w |= IoDirection::kRegistering;
  self->prepare_wait(caller, {&detail::deregister_io, &dir},
                     {write_ ? detail::WaitKind::fd_write : detail::WaitKind::fd_read, 0,
                      static_cast<std::uint64_t>(state_->fd), nullptr});
  dir.waiter = self;
  for (;;) {
    const std::uint32_t unclaimed = w & ~IoDirection::kRegistering;
    if ((w & IoDirection::kReady) != 0) {  // an edge arrived: release the claim, no wait
      // Acquire on success as on failure (the edge's data is read next); GCC still rejects
      // a failure order stronger than the success order (a C++14 rule).
      if (dir.word.compare_exchange_weak(w, unclaimed, std::memory_order_acquire,
                                         std::memory_order_acquire))
        return false;
      continue;
    }
    // Release publishes `waiter` to the reactor's acquire CAS.
    if (dir.word.compare_exchange_weak(w, unclaimed | IoDirection::kWaiting,
                                       std::memory_order_release, std::memory_order_acquire))
      break;
  }
  return self->commit_wait();
}

Readiness ReadinessAwaiter::await_resume() {
  detail::TaskHeader* self = detail::current_task();
  if (self != nullptr && self->take_cancel()) throw CancelledError();
  return detail::current_readiness(detail::direction(state_, write_));
}

AsyncFd::AsyncFd(int fd) : AsyncFd(fd, ~0u) {}

AsyncFd::AsyncFd(int fd, unsigned home_loop) {
  detail::Loop* loop = detail::current_loop();
  if (loop == nullptr) {
    ::close(fd);
    detail::throw_no_current_task("weft::AsyncFd");
  }
  if (home_loop != ~0u) {
    if (home_loop >= loop->scheduler().num_loops()) {
      ::close(fd);
      throw std::out_of_range("weft::AsyncFd: home loop " + std::to_string(home_loop) +
                              " of a runtime with " +
                              std::to_string(loop->scheduler().num_loops()) + " loops");
    }
    loop = &loop->scheduler().loop(home_loop);
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err, std::system_category(), "weft::AsyncFd: fcntl");
  }
  auto* state = new detail::IoState;
  state->fd = fd;
  state->home = loop;
  try {
    loop->add_io(state);
  } catch (...) {
    ::close(fd);
    delete state;
    throw;
  }
  state_ = state;
}

AsyncFd::AsyncFd(AsyncFd&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}

AsyncFd& AsyncFd::operator=(AsyncFd&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

AsyncFd::~AsyncFd() { close(); }

int AsyncFd::fd() const noexcept { return state_ != nullptr ? state_->fd : -1; }

unsigned AsyncFd::home_loop() const noexcept {
  return state_ != nullptr ? state_->home->index() : 0;
}

void AsyncFd::close() noexcept {
  detail::IoState* state = std::exchange(state_, nullptr);
  if (state == nullptr) return;
  constexpr std::uint32_t kBusy = IoDirection::kWaiting | IoDirection::kRegistering;
  if (((state->read.word.load(std::memory_order_relaxed) |
        state->write.word.load(std::memory_order_relaxed)) &
       kBusy) != 0) {
    std::fputs("weft: AsyncFd destroyed while a task waits on it; aborting\n", stderr);
    std::terminate();
  }
  detail::Loop* home = state->home;
  home->reactor().remove(state->fd);
  ::close(state->fd);
  // The home loop may hold an event naming `state` from a poll in progress; it frees the
  // state between two polls. On the home loop itself (between polls, running a task) or
  // once the loops have stopped, it is safe now.
  if (detail::current_loop() == home || home->scheduler().loops_stopped()) {
    home->retire_io(state);
  } else {
    try {
      home->post_io_retire(state);
    } catch (...) {
      std::terminate();
    }
  }
}

void AsyncFd::clear_readable(Readiness seen) noexcept { detail::clear_ready(state_->read, seen); }
void AsyncFd::clear_writable(Readiness seen) noexcept { detail::clear_ready(state_->write, seen); }

Task<std::size_t> AsyncFd::read_some(std::span<std::byte> buffer) {
  for (;;) {
    const Readiness seen = co_await readable();
    const ssize_t n = ::read(state_->fd, buffer.data(), buffer.size());
    if (n >= 0) {
      detail::charge_budget_for_io(static_cast<std::size_t>(n));
      co_return static_cast<std::size_t>(n);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      clear_readable(seen);
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::system_category(), "weft::AsyncFd::read_some");
    }
  }
}

Task<std::size_t> AsyncFd::write_some(std::span<const std::byte> buffer) {
  for (;;) {
    const Readiness seen = co_await writable();
    // send() with MSG_NOSIGNAL on sockets so a closed peer is EPIPE, never SIGPIPE; write()
    // for everything else, whose SIGPIPE stays pending on this thread, which blocks it
    // (weft/detail/sigpipe.hpp), and is taken back after a failed or short write (a pipe
    // whose reader left mid-write returns what it took, with the SIGPIPE raised).
    ssize_t n = ::send(state_->fd, buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) {
      detail::SigpipeOfOneCall sigpipe;
      n = ::write(state_->fd, buffer.data(), buffer.size());
      if (n < 0 || static_cast<std::size_t>(n) < buffer.size()) sigpipe.discard_raised();
    }
    if (n >= 0) {
      detail::charge_budget_for_io(static_cast<std::size_t>(n));
      co_return static_cast<std::size_t>(n);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      clear_writable(seen);
    } else if (errno != EINTR) {
      throw std::system_error(errno, std::system_category(), "weft::AsyncFd::write_some");
    }
  }
}

Task<void> AsyncFd::write_all(std::span<const std::byte> buffer) {
  while (!buffer.empty()) {
    const std::size_t n = co_await write_some(buffer);
    buffer = buffer.subspan(n);
  }
}

}  // namespace weft

#pragma once

// Reactor: one loop's epoll instance, behind the narrow interface the loop needs (a later
// io_uring backend implements the same four operations).
//
// Contract:
//   - add() registers an fd once, edge-triggered, for read and write readiness together;
//     `cookie` is what poll() hands back. Registration never blocks.
//   - remove() may be called from any thread (epoll_ctl is thread-safe). After it returns
//     no *future* poll() reports the fd; an event already returned by a poll() in progress
//     on the loop thread may still carry the cookie, so the cookie's memory must be freed
//     by the loop thread between two polls (AsyncFd does this).
//   - poll() is called only by the loop thread. With timeout 0 it never blocks; with -1 it
//     blocks until an fd or the wake-up eventfd is ready.
//   - notify() may be called from any thread: it makes the current or next poll() return.
//     The parker calls it only for a loop that is parked, so a busy loop sees no syscalls.

#include <sys/epoll.h>

#include <array>
#include <cstdint>

#include "file_descriptor.hpp"

namespace weft::detail {

struct ReadyEvent {
  void* cookie;
  std::uint32_t events;  // EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP/EPOLLRDHUP bits
};

class Reactor {
 public:
  Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  void add(int fd, void* cookie);
  void remove(int fd) noexcept;
  void notify() noexcept;

  // Waits up to timeout_ns (negative: forever) and calls on_event for each fd event. Returns
  // true if the wake-up eventfd fired.
  template <class OnEvent>
  bool poll(std::int64_t timeout_ns, OnEvent&& on_event) {
    const int n = wait(timeout_ns);
    bool notified = false;
    for (int i = 0; i < n; ++i) {
      if (events_[i].data.ptr == nullptr) {
        notified = true;
        drain_notify();
        continue;
      }
      on_event(ReadyEvent{events_[i].data.ptr, events_[i].events});
    }
    return notified;
  }

 private:
  int wait(std::int64_t timeout_ns) noexcept;
  // For TSan (see reactor.cpp); nothing in other builds.
  void announce_registration() noexcept;
  void observe_registrations() noexcept;
  void drain_notify() noexcept;

  FileDescriptor epoll_;
  FileDescriptor wake_;  // eventfd; its epoll cookie is nullptr
  // 256 events per poll: one syscall drains a burst; more wait for the next poll.
  std::array<epoll_event, 256> events_{};
};

}  // namespace weft::detail

#pragma once

// IoState: the readiness of one registered fd, shared by its home loop's reactor (which
// sets readiness) and the tasks that wait on it (which may run on any loop).
//
// Each direction is one atomic word: READY, WAITING, REGISTERING and a tick that the
// reactor bumps on every edge. A waiter first claims the direction (REGISTERING, refused if
// another task holds it or waits), then writes the task pointer and turns REGISTERING into
// WAITING with release — only if READY is still clear. The reactor sets READY and takes
// WAITING in one CAS, so an edge either finds the waiter or the waiter finds READY — never
// neither — and two tasks can never both publish themselves as the one waiter. After a read or
// write returns EAGAIN the task clears READY, but only if the tick is the one it saw before the
// syscall: an edge that arrived in between is never erased.
//
// CLOSED (read direction) is sticky: the reactor sets it with the edge that reported the
// peer's end of stream, a hang-up or an error, and READY is never cleared after it. That is
// what lets a stream socket forget readiness after a short read — the receive buffer was
// empty then — without an EAGAIN syscall: when the FIN arrived with the same edge as the
// data, no later edge will come, and the next read must still see the end of stream.

#include <atomic>
#include <cstdint>

namespace weft::detail {

class Loop;
class TaskHeader;

struct IoDirection {
  static constexpr std::uint32_t kReady = 1u << 0;
  static constexpr std::uint32_t kWaiting = 1u << 1;
  static constexpr std::uint32_t kRegistering = 1u << 2;
  static constexpr std::uint32_t kClosed = 1u << 3;
  static constexpr std::uint32_t kFlags = kReady | kWaiting | kRegistering | kClosed;
  static constexpr std::uint32_t kTickOne = 1u << 4;

  std::atomic<std::uint32_t> word{0};
  // Written by the waiting task before it sets kWaiting (release); read by whoever clears
  // kWaiting (acquire).
  TaskHeader* waiter = nullptr;

  // Reactor side (home loop): records an edge (with CLOSED if `closed`) and wakes the waiter,
  // if any.
  void set_ready(bool closed = false) noexcept;
};

struct IoState {
  IoDirection read;
  IoDirection write;
  Loop* home = nullptr;
  int fd = -1;
};

}  // namespace weft::detail

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

#include <atomic>
#include <cstdint>

namespace weft::detail {

class Loop;
class TaskHeader;

struct IoDirection {
  static constexpr std::uint32_t kReady = 1u << 0;
  static constexpr std::uint32_t kWaiting = 1u << 1;
  static constexpr std::uint32_t kRegistering = 1u << 2;
  static constexpr std::uint32_t kFlags = kReady | kWaiting | kRegistering;
  static constexpr std::uint32_t kTickOne = 1u << 3;

  std::atomic<std::uint32_t> word{0};
  // Written by the waiting task before it sets kWaiting (release); read by whoever clears
  // kWaiting (acquire).
  TaskHeader* waiter = nullptr;

  // Reactor side (home loop): records an edge and wakes the waiter, if any.
  void set_ready() noexcept;
};

struct IoState {
  IoDirection read;
  IoDirection write;
  Loop* home = nullptr;
  int fd = -1;
};

}  // namespace weft::detail

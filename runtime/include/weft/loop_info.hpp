#pragma once

#include "weft/runtime_export.hpp"

/// @file
/// Which loop runs the current task, and how many loops its runtime has: for code that
/// spreads per-loop resources over the loops (a server binds one SO_REUSEPORT listener per
/// loop and registers each with its loop through AsyncFd(fd, home_loop)).
///
/// A task may move between loops at any suspension (work stealing, or a wake-up from another
/// loop's reactor), so current_loop_index() is a fact about this moment, not about the task.

namespace weft {

/// Both throw std::logic_error when called outside a weft task.
[[nodiscard]] WEFT_RUNTIME_API unsigned current_loop_index();
/// The number of event loops of the current runtime.
[[nodiscard]] WEFT_RUNTIME_API unsigned loop_count();

/// The loop whose reactor watches the fewest fds right now (ties: the current loop). A server
/// registers each accepted connection there (AsyncFd(fd, home_loop)), so its connections stay
/// spread evenly over the loops whichever listener the kernel handed them to: see
/// weft::io::ConnectionPlacement. A moment's reading, not a reservation: two loops asking at
/// once may both get the same answer.
[[nodiscard]] WEFT_RUNTIME_API unsigned least_loaded_loop();

}  // namespace weft

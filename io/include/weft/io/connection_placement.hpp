#pragma once

/// @file
/// weft::io::ConnectionPlacement: which loop watches the connections a listener accepts
/// (io::TcpListenerOptions::placement, http::ServerOptions::connection_placement).

namespace weft::io {

/// Where a listener registers the connections it accepts: whose reactor watches them, and so
/// on which loop their tasks are woken and mostly run.
enum class ConnectionPlacement {
  /// The loop watching the fewest fds at the accept (weft::least_loaded_loop()): connections
  /// stay evenly spread over the loops, whichever listener the kernel handed them to.
  least_loaded,
  /// The listener's own loop. With one SO_REUSEPORT listener per loop, the kernel's hash of
  /// each peer's address picks the loop: a few dozen connections split unevenly, and the
  /// busier loop sets the tail latency.
  listener_loop,
};

}  // namespace weft::io

#pragma once

#include <stdexcept>

namespace weft {

/// Thrown by wait_for / timeout_at / timeout when the deadline passed first. By the time it is
/// thrown, the timed-out work has been cancelled and has finished (a timeout never orphans work).
/// Not a CancelledError: the task awaiting wait_for was not cancelled; catching this and
/// carrying on is ordinary error handling.
///
/// std::runtime_error is a virtual base, so that a timeout of a layer above can be this and an
/// error of its own at once with one std::exception in it: weft::http::ClientTimeout is a
/// TimeoutError and a weft::http::ClientError. Such a class constructs the base itself, with
/// its own message.
class TimeoutError : public virtual std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("weft: timed out") {}
  /// Copied, never moved (see weft/http/client_errors.hpp's ClientError).
  TimeoutError(const TimeoutError&) = default;
  /// Copies the message.
  TimeoutError& operator=(const TimeoutError&) = default;
};

}  // namespace weft

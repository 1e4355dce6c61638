#pragma once

#include <stdexcept>

namespace weft {

// Thrown by wait_for / timeout_at / timeout when the deadline passed first. By the time it is
// thrown, the timed-out work has been cancelled and has finished (a timeout never orphans work).
// Not a CancelledError: the task awaiting wait_for was not cancelled; catching this and
// carrying on is ordinary error handling.
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("weft: timed out") {}
};

}  // namespace weft

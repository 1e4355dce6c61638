#pragma once

#include <stdexcept>

#include "weft/runtime_export.hpp"

namespace weft {

/// Thrown at a task's suspension point (sleep, yield, fd wait, join) after JoinHandle::cancel()
/// or runtime shutdown asked the task to stop. Let it propagate: destructors and catch blocks
/// run on the way out. A task may catch it and carry on; cancellation is a request.
class WEFT_RUNTIME_API CancelledError : public std::runtime_error {
 public:
  CancelledError() : std::runtime_error("weft: task cancelled") {}
};

}  // namespace weft

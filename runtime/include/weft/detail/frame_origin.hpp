#pragma once

namespace weft::detail {

// Where a task comes from: for a coroutine, its definition (function name, file and line);
// for one of weft's library coroutines, the user's call (CallSite). The promise's constructor
// takes it as a defaulted argument, which the compiler evaluates inside the coroutine, so
// every task knows its origin for reports (three words per frame, no runtime lookup, and it
// survives heap-allocation elision, unlike anything stored around the allocation).
struct FrameOrigin {
  const char* function;  // the coroutine; for a call site, the weft function called
  const char* file;      // null: a call site that was not recorded (CallSite::unrecorded)
  unsigned line : 31;
  unsigned is_call_site : 1;
  static constexpr FrameOrigin here(const char* function = __builtin_FUNCTION(),
                                    const char* file = __builtin_FILE(),
                                    unsigned line = __builtin_LINE()) noexcept {
    return {function, file, line, 0};
  }
};

}  // namespace weft::detail

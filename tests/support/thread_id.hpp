#pragma once

// The kernel's id of the calling thread, for tests that check which loop runs a task, and a
// way to get a task onto another loop's thread.

#include <sys/syscall.h>
#include <unistd.h>

#include <weft/weft.hpp>

namespace weft::test {

// Not pthread_self(): it is declared __attribute__((const)), so a coroutine could reuse the
// value it read before a suspension after being resumed on another loop; a non-inlined
// syscall is read afresh every time.
[[gnu::noinline]] inline long thread_id() { return ::syscall(SYS_gettid); }

// Yields until this task runs on a thread other than `avoid` (an idle loop steals a task
// that keeps re-queueing itself); false if that did not happen within the bound.
inline Task<bool> move_off_thread(long avoid) {
  for (int i = 0; i < 1'000'000; ++i) {
    if (thread_id() != avoid) co_return true;
    co_await weft::yield();
  }
  co_return false;
}

}  // namespace weft::test

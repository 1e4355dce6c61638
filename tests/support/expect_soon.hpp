#pragma once

// expect_soon: from inside a task, waits (yielding) until a condition holds, and fails the
// test instead of hanging it when the condition does not hold within weft::test::kDeadline.

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "test_support.hpp"

namespace weft::test {

// Adds a failure naming `what` and throws (ending the awaiting task) on timeout.
template <class Pred>
Task<void> expect_soon(Pred pred, const char* what) {
  const bool held =
      co_await co_wait_until(pred, kDeadline, std::chrono::steady_clock::duration::zero());
  if (!held) {
    ADD_FAILURE() << "timed out waiting for: " << what;
    throw std::runtime_error(std::string("timed out: ") + what);
  }
}

}  // namespace weft::test

#pragma once

// What weft::http::Client's tests share: a bounded run on two loops, the exception a request
// ended with, and a substring check for error messages.

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <weft/wait_for.hpp>
#include <weft/weft.hpp>

#include "test_support.hpp"

namespace weft::test {

// Every test body runs under a deadline: a hang fails the test instead of reaching ctest's
// timeout. Two loops: the client is used from tasks that the loops steal from each other.
template <class T>
T run_client_bounded(Task<T> body) {
  return weft::run(weft::wait_for(std::move(body), std::chrono::seconds(20)), options(2));
}

// The exception of type E the task ended with, or nullopt (with a test failure) if it ended
// otherwise.
template <class E, class T>
Task<std::optional<E>> failure_of(Task<T> task) {
  try {
    (void)co_await std::move(task);
    ADD_FAILURE() << "the request succeeded";
  } catch (const E& e) {
    co_return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception: " << e.what();
  }
  co_return std::nullopt;
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace weft::test

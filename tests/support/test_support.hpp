#pragma once

// Helpers shared by weft's tests: a counting type to prove nothing leaked, a report sink
// that records, the stress scale, and bounded waits (no test may hang until ctest's timeout).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <weft/weft.hpp>

namespace weft::test {

// Every live Counted is counted; a test that ends with live() == 0 freed every frame that
// held one. Also counts destructions, so cancellation tests can see destructors ran.
class Counted {
 public:
  Counted() noexcept { live_.fetch_add(1, std::memory_order_relaxed); }
  Counted(const Counted&) noexcept { live_.fetch_add(1, std::memory_order_relaxed); }
  Counted(Counted&&) noexcept { live_.fetch_add(1, std::memory_order_relaxed); }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) = default;
  ~Counted() {
    live_.fetch_sub(1, std::memory_order_relaxed);
    destroyed_.fetch_add(1, std::memory_order_relaxed);
  }
  static long live() noexcept { return live_.load(std::memory_order_acquire); }
  static long destroyed() noexcept { return destroyed_.load(std::memory_order_acquire); }
  static void reset() noexcept {
    live_.store(0);
    destroyed_.store(0);
  }

 private:
  static inline std::atomic<long> live_{0};
  static inline std::atomic<long> destroyed_{0};
};

// A thread-safe ReportSink that keeps every report.
class ReportLog {
 public:
  ReportSink sink() {
    return [this](const Report& r) {
      std::lock_guard lock(mutex_);
      reports_.push_back(r);
      times_.push_back(std::chrono::steady_clock::now());
    };
  }
  std::vector<Report> reports() const {
    std::lock_guard lock(mutex_);
    return reports_;
  }
  std::vector<std::chrono::steady_clock::time_point> times() const {
    std::lock_guard lock(mutex_);
    return times_;
  }
  std::size_t count(ReportKind kind) const {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const Report& r : reports_) n += r.kind == kind ? 1 : 0;
    return n;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Report> reports_;
  std::vector<std::chrono::steady_clock::time_point> times_;
};

// Stress sizes are multiplied by WEFT_STRESS_SCALE (default 1: the full sizes of
// docs/reliability.md). Sanitizer runs in CI use a fraction; never below `minimum`.
inline std::size_t scaled(std::size_t full, std::size_t minimum = 1) {
  double scale = 1.0;
  if (const char* s = std::getenv("WEFT_STRESS_SCALE")) scale = std::atof(s);
  if (scale <= 0) scale = 1.0;
  const auto n = static_cast<std::size_t>(static_cast<double>(full) * scale);
  return n < minimum ? minimum : n;
}

inline RuntimeOptions options(unsigned loops = 2) {
  RuntimeOptions o;
  o.loops = loops;
  return o;
}

// --- bounded waits -------------------------------------------------------------------------
//
// Every wait in a test has a deadline: past it the test fails (ADD_FAILURE/ASSERT on what the
// wait returned) and cleans up, instead of hanging until ctest kills it after 300 s.

inline constexpr std::chrono::seconds kDeadline{10};

// From a thread that is no loop (the test's own, a foreign thread): polls `done` until it is
// true or `timeout` passed. False on timeout.
template <class Pred>
bool wait_until(Pred done, std::chrono::steady_clock::duration timeout = kDeadline) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  return true;
}

// From inside a task: polls `done` until it is true or `timeout` passed, between two polls
// sleeping `poll` (0: a yield, so other tasks of this loop run). False on timeout.
template <class Pred>
Task<bool> co_wait_until(Pred done, std::chrono::steady_clock::duration timeout = kDeadline,
                         std::chrono::steady_clock::duration poll = std::chrono::milliseconds(1)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    if (poll.count() > 0) {
      co_await weft::sleep(poll);
    } else {
      co_await weft::yield();
    }
  }
  co_return true;
}

// From inside a task: waits for `handle`'s task to finish, at most `timeout`. If it did not,
// cancels it and waits (at most `timeout` again) for the cancel to end it. True if it
// finished on its own: then `co_await handle` returns at once. After false, await it only if
// handle.done().
template <class T>
Task<bool> finished_within(JoinHandle<T>& handle,
                           std::chrono::steady_clock::duration timeout = kDeadline) {
  if (const bool ok = co_await co_wait_until([&handle] { return handle.done(); }, timeout); ok)
    co_return true;
  handle.cancel();
  (void)co_await co_wait_until([&handle] { return handle.done(); }, timeout);
  co_return false;
}

// From inside a task: joins every handle in turn, each within `timeout`. One that did not
// finish in time is a test failure (finished_within cancelled it) and is not awaited. True if
// all finished in time.
template <class T>
Task<bool> join_all(std::vector<JoinHandle<T>>& handles,
                    std::chrono::steady_clock::duration timeout) {
  bool all = true;
  for (auto& h : handles) {
    if (const bool ok = co_await finished_within(h, timeout); !ok) {
      ADD_FAILURE() << "a task did not finish in time";
      all = false;
      continue;
    }
    co_await h;
  }
  co_return all;
}

}  // namespace weft::test

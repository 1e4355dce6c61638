#pragma once

// What the children of one test saw, for the tests of the combinators that cancel their
// children (gather, when_any, wait, as_completed, wait_for, TaskGroup): a child counts its start,
// its cancellation and its end, and the test asserts on the counts once every child is done.

#include <gtest/gtest.h>

#include <atomic>
#include <utility>
#include <weft/weft.hpp>

#include "test_support.hpp"

namespace weft::test {

struct Probe {
  std::atomic<int> started{0};
  std::atomic<int> cancelled{0};  // catch (CancelledError) entered
  std::atomic<int> returned{0};   // the body ran to its co_return
  std::atomic<int> ended{0};      // frame unwound (a destructor, so also on exceptions)
};

// Counts the end of the frame that holds it in Probe::ended, however that frame ends.
class EndMark {
 public:
  explicit EndMark(Probe* p) noexcept : probe_(p) {}
  EndMark(const EndMark&) = delete;
  EndMark& operator=(const EndMark&) = delete;
  ~EndMark() { probe_->ended.fetch_add(1); }

 private:
  Probe* probe_;
};

// Spawns `task`, cancels it once `started` children have started, and says whether it then ended
// in CancelledError (it must end within the bound).
template <class T>
Task<bool> ends_cancelled_once_started(Task<T> task, const Probe& probe, int started) {
  weft::JoinHandle<T> handle = weft::spawn(std::move(task));
  EXPECT_TRUE(co_await co_wait_until([&] { return probe.started.load() == started; }));
  handle.cancel();
  EXPECT_TRUE(co_await finished_within(handle));
  try {
    (void)co_await handle;
  } catch (const CancelledError&) {
    co_return true;
  }
  co_return false;
}

}  // namespace weft::test

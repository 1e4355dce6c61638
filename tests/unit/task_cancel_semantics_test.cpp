// asyncio's Task semantics that a port relies on, as CPython's test_tasks pins them down:
// a task cancelled before it first runs never runs; a task that cancels itself and returns
// without suspending again ends cancelled (the "cancel at the end" case), while a request
// from another thread that arrives after the task's last wake-up leaves its value standing
// and is counted (weft's rule where asyncio has no such case); cancel() says whether the
// request was accepted; cancelled() tells a
// cancellation from other endings; a task can get itself (current_task), and read and set
// its name; awaiting one's own handle is an error, not a deadlock.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::JoinHandle;
using weft::Task;
using weft::TaskRef;
using weft::test::Counted;

enum class Ending { value, cancelled, logic_error, other };

template <class T>
Task<Ending> ending_of(JoinHandle<T>& handle) {
  try {
    (void)co_await handle;
    co_return Ending::value;
  } catch (const CancelledError&) {
    co_return Ending::cancelled;
  } catch (const std::logic_error&) {
    co_return Ending::logic_error;
  } catch (...) {
    co_return Ending::other;
  }
}

// --- a task cancelled before it first runs never runs --------------------------------------

Task<int> records_start(std::atomic<bool>* started, Counted /*parameter*/) {
  started->store(true);
  Counted local;  // would be constructed (and destroyed) only if the body ran
  co_await weft::yield();
  co_return 1;
}

struct BeforeStartResult {
  bool accepted = false;
  Ending ending = Ending::value;
  bool cancelled = false;
  long live_before_drop = -1;  // Counted::live() after the join, handle still held
};

Task<BeforeStartResult> cancel_before_start(std::atomic<bool>* started) {
  BeforeStartResult r;
  // The spawner does not suspend between spawn and cancel: the child waits in this loop's
  // LIFO slot, which no other loop takes from a task that runs for microseconds.
  JoinHandle<int> handle = weft::spawn(records_start(started, Counted{}));
  r.accepted = handle.cancel();
  r.ending = co_await ending_of(handle);
  r.cancelled = handle.cancelled();
  r.live_before_drop = Counted::live();
  co_return r;
}

// asyncio: a task cancelled before the loop first steps it completes with CancelledError,
// its coroutine never started. Here too; and its frame is freed at once (only the parameter
// existed), not when the handle goes.
TEST(TaskCancelSemantics, CancelledBeforeFirstRunNeverRunsItsBody) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    Counted::reset();
    std::atomic<bool> started{false};
    weft::test::ReportLog log;
    weft::RuntimeOptions options = weft::test::options(loops);
    options.on_report = log.sink();
    BeforeStartResult r;
    {
      weft::Runtime rt(options);
      r = rt.block_on(cancel_before_start(&started));
      EXPECT_EQ(rt.metrics().total().cancels_swallowed, 0u);
    }
    EXPECT_TRUE(r.accepted);
    EXPECT_EQ(r.ending, Ending::cancelled);
    EXPECT_TRUE(r.cancelled);
    EXPECT_FALSE(started.load()) << "the body ran";
    EXPECT_EQ(r.live_before_drop, 0) << "the unstarted frame was kept";
    EXPECT_EQ(Counted::live(), 0);
    EXPECT_EQ(log.reports().size(), 0u);
  }
}

Task<void> spawn_cancel_detach(std::atomic<bool>* started, int n) {
  for (int i = 0; i < n; ++i) {
    JoinHandle<int> handle = weft::spawn(records_start(started, Counted{}));
    EXPECT_TRUE(handle.cancel());
    std::move(handle).detach();
  }
  co_return;
}

// Detached and cancelled before they ran: no report (a cancellation is not a failure), no
// cancel counted as swallowed, and the runtime's registry lets go of every one of them (the
// runtime shuts down without a forced abandon, every frame freed).
TEST(TaskCancelSemantics, DetachedTaskCancelledBeforeStartCompletesCleanly) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    Counted::reset();
    std::atomic<bool> started{false};
    weft::test::ReportLog log;
    weft::RuntimeOptions options = weft::test::options(loops);
    options.on_report = log.sink();
    {
      weft::Runtime rt(options);
      rt.block_on(spawn_cancel_detach(&started, 100));
      EXPECT_EQ(rt.metrics().total().cancels_swallowed, 0u);
    }
    EXPECT_EQ(Counted::live(), 0);
    EXPECT_EQ(log.reports().size(), 0u);
  }
}

// --- a cancel still pending when the task returns ---------------------------------------

// Cancels its own handle and returns without suspending again: the request was never
// delivered.
Task<int> cancel_self_then_return(JoinHandle<int>* self) {
  self->cancel();
  co_return 42;
}

Task<Ending> cancel_at_end(bool* cancelled) {
  JoinHandle<int> handle;
  handle = weft::spawn(cancel_self_then_return(&handle));
  const Ending e = co_await ending_of(handle);
  *cancelled = handle.cancelled();
  co_return e;
}

// asyncio's Task.__step: a coroutine that stops while a cancel is pending (_must_cancel)
// ends cancelled, its value dropped. An accepted request never vanishes.
TEST(TaskCancelSemantics, CancelPendingAtReturnDiscardsTheValue) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    weft::Runtime rt(weft::test::options(loops));
    bool cancelled = false;
    EXPECT_EQ(rt.block_on(cancel_at_end(&cancelled)), Ending::cancelled);
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(rt.metrics().total().cancels_swallowed, 0u);
  }
}

// Announces that it runs, spins until the test's thread has cancelled it, and returns
// without suspending: the request came from another thread after its last wake-up.
Task<int> spin_until_cancelled_then_return(std::atomic<int>* stage) {
  stage->store(1);
  while (stage->load() != 2) {
  }
  co_return 42;
}

// The request cannot land anywhere: the value stands, cancelled() is false, and the request
// is counted as unseen (not as swallowed: the task never saw it). Discarding the value
// instead would lose whatever the task took at its last wake-up (see Queue's
// PushRacingCancelAcrossLoopsLosesNoItem, the race this rule is for).
TEST(TaskCancelSemantics, ForeignCancelAfterTheLastWakeUpLeavesTheValueAndIsCounted) {
  weft::test::ReportLog log;  // the spin may be reported as a stall
  weft::RuntimeOptions options = weft::test::options(1);
  options.on_report = log.sink();
  weft::Runtime rt(options);
  std::atomic<int> stage{0};
  JoinHandle<int> handle = rt.spawn(spin_until_cancelled_then_return(&stage));
  const bool running = weft::test::wait_until([&stage] { return stage.load() == 1; });
  const bool accepted = handle.cancel();  // the task is running its only step
  stage.store(2);
  ASSERT_TRUE(running) << "the task did not start within 10 s";
  EXPECT_TRUE(accepted);
  EXPECT_EQ(rt.block_on(ending_of(handle)), Ending::value);
  EXPECT_FALSE(handle.cancelled());
  EXPECT_EQ(rt.metrics().total().cancels_unseen, 1u);
  EXPECT_EQ(rt.metrics().total().cancels_swallowed, 0u);
}

// The same request, when the task suspends once more after it, is delivered there.
Task<int> spin_then_sleep(std::atomic<int>* stage) {
  stage->store(1);
  while (stage->load() != 2) {
  }
  co_await weft::sleep(1h);
  co_return 42;
}

TEST(TaskCancelSemantics, ForeignCancelWhileRunningLandsAtTheNextSuspension) {
  weft::test::ReportLog log;
  weft::RuntimeOptions options = weft::test::options(1);
  options.on_report = log.sink();
  weft::Runtime rt(options);
  std::atomic<int> stage{0};
  JoinHandle<int> handle = rt.spawn(spin_then_sleep(&stage));
  const bool running = weft::test::wait_until([&stage] { return stage.load() == 1; });
  EXPECT_TRUE(handle.cancel());
  stage.store(2);
  ASSERT_TRUE(running) << "the task did not start within 10 s";
  EXPECT_EQ(rt.block_on(ending_of(handle)), Ending::cancelled);
  EXPECT_TRUE(handle.cancelled());
  EXPECT_EQ(rt.metrics().total().cancels_unseen, 0u);
}

Task<Counted> cancel_self_then_return_counted(JoinHandle<Counted>* self) {
  self->cancel();
  co_return Counted{};
}

Task<long> discarded_value_is_destroyed() {
  JoinHandle<Counted> handle;
  handle = weft::spawn(cancel_self_then_return_counted(&handle));
  EXPECT_EQ(co_await ending_of(handle), Ending::cancelled);
  co_return Counted::live();  // the handle is still held
}

// The discarded value is destroyed with the frame when the task completes, not kept until
// the handle goes.
TEST(TaskCancelSemantics, DiscardedValueIsDestroyedAtCompletion) {
  Counted::reset();
  weft::Runtime rt(weft::test::options(1));
  EXPECT_EQ(rt.block_on(discarded_value_is_destroyed()), 0);
  EXPECT_EQ(Counted::live(), 0);
}

Task<int> self_cancel_then_throw(JoinHandle<int>* self) {
  self->cancel();
  throw std::runtime_error("boom");
  co_return 0;
}

Task<Ending> exception_over_pending_cancel() {
  JoinHandle<int> handle;
  handle = weft::spawn(self_cancel_then_throw(&handle));
  co_return co_await ending_of(handle);
}

// asyncio keeps an exception raised with a cancel pending (only a normal return turns into
// a cancellation): the error is not hidden.
TEST(TaskCancelSemantics, ExceptionWinsOverPendingCancel) {
  weft::Runtime rt(weft::test::options(1));
  EXPECT_EQ(rt.block_on(exception_over_pending_cancel()), Ending::other);
}

Task<int> catch_cancel_and_return(std::atomic<bool>* about_to_sleep = nullptr) {
  try {
    if (about_to_sleep != nullptr) about_to_sleep->store(true);
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
    co_return 7;  // saw the cancel, chose to return
  }
  co_return 0;
}

Task<int> cancel_then_join(bool* cancelled) {
  std::atomic<bool> about_to_sleep{false};
  JoinHandle<int> handle = weft::spawn(catch_cancel_and_return(&about_to_sleep));
  // Once it has begun: a cancel that lands before the sleep commits is delivered there.
  EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return about_to_sleep.load(); },
                                                 weft::test::kDeadline, 0ms));
  EXPECT_TRUE(handle.cancel());
  const int v = co_await handle;
  *cancelled = handle.cancelled();
  co_return v;
}

// The other side of the rule: a task that received the CancelledError and returned a value
// keeps its value (asyncio: test_cancel_yield-like tasks that swallow the error complete).
TEST(TaskCancelSemantics, CancelDeliveredAndCaughtKeepsTheValue) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    weft::Runtime rt(weft::test::options(loops));
    bool cancelled = true;
    EXPECT_EQ(rt.block_on(cancel_then_join(&cancelled)), 7);
    EXPECT_FALSE(cancelled);
    EXPECT_EQ(rt.metrics().total().cancels_swallowed, 1u);
  }
}

// --- cancel() return values, cancelled() ---------------------------------------------------

Task<int> value_after_yield() {
  co_await weft::yield();
  co_return 3;
}

Task<int> failing_after_yield() {
  co_await weft::yield();
  throw std::runtime_error("failed");
  co_return 0;
}

Task<void> cancel_return_values() {
  JoinHandle<int> empty;
  EXPECT_FALSE(empty.cancel());
  EXPECT_FALSE(empty.cancelled());

  JoinHandle<int> done = weft::spawn(value_after_yield());
  EXPECT_EQ(co_await done, 3);
  EXPECT_FALSE(done.cancel()) << "a finished task cannot be cancelled";
  EXPECT_FALSE(done.cancelled());

  JoinHandle<int> failed = weft::spawn(failing_after_yield());
  EXPECT_EQ(co_await ending_of(failed), Ending::other);
  EXPECT_FALSE(failed.cancel());
  EXPECT_FALSE(failed.cancelled()) << "an exception is not a cancellation";

  JoinHandle<int> pending = weft::spawn(catch_cancel_and_return());
  co_await weft::yield();
  EXPECT_FALSE(pending.done());
  EXPECT_TRUE(pending.cancel());
  EXPECT_TRUE(pending.cancel()) << "a second request before delivery is accepted too";
  EXPECT_EQ(co_await pending, 7) << "two requests are one CancelledError";
  EXPECT_FALSE(pending.cancel());

  JoinHandle<int> sleeper = weft::spawn(value_after_yield());
  co_await weft::yield();
  (void)sleeper.cancel();
  EXPECT_EQ(co_await ending_of(sleeper), Ending::cancelled);
  EXPECT_TRUE(sleeper.cancelled());
  EXPECT_TRUE(sleeper.done());
  EXPECT_FALSE(sleeper.cancel());
}

// asyncio's Task.cancel(): True while the task is not done, False once it is.
TEST(TaskCancelSemantics, CancelReturnsWhetherTheRequestWasAccepted) {
  weft::Runtime rt(weft::test::options(1));
  rt.block_on(cancel_return_values());
}

// --- awaiting one's own handle --------------------------------------------------------------

Task<int> await_self(JoinHandle<int>* self) { co_return co_await *self; }

Task<Ending> spawn_self_awaiter() {
  JoinHandle<int> handle;
  handle = weft::spawn(await_self(&handle));
  if (const bool ok = co_await weft::test::finished_within(handle); !ok)
    co_return Ending::value;  // it hung
  co_return co_await ending_of(handle);
}

// asyncio raises RuntimeError ("Task cannot await on itself"); weft throws logic_error at
// the co_await instead of waiting forever.
TEST(TaskCancelSemantics, AwaitingOwnHandleThrowsLogicError) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(std::to_string(loops) + " loop(s)");
    weft::Runtime rt(weft::test::options(loops));
    EXPECT_EQ(rt.block_on(spawn_self_awaiter()), Ending::logic_error);
  }
}

// --- current_task, names -------------------------------------------------------------------

Task<std::uint64_t> report_own_id() {
  co_await weft::yield();
  co_return weft::current_task().id();
}

Task<void> ids_match() {
  JoinHandle<std::uint64_t> handle = weft::spawn(report_own_id());
  const std::uint64_t id = handle.id();
  EXPECT_NE(id, 0u);
  EXPECT_EQ(co_await handle, id);
  EXPECT_NE(weft::current_task().id(), id);
  EXPECT_TRUE(weft::current_task() == weft::current_task());
}

// asyncio.current_task() inside a task is that task.
TEST(TaskCancelSemantics, CurrentTaskIsTheRunningTask) {
  for (unsigned loops : {1u, 2u}) {
    weft::Runtime rt(weft::test::options(loops));
    rt.block_on(ids_match());
  }
}

// Outside a task there is none (asyncio raises RuntimeError without a running loop).
TEST(TaskCancelSemantics, CurrentTaskOutsideATaskThrows) {
  EXPECT_THROW((void)weft::current_task(), std::logic_error);
}

Task<int> cancel_self_via_current_task_then_sleep(bool* caught) {
  EXPECT_TRUE(weft::current_task().cancel());
  try {
    co_await weft::sleep(1h);
  } catch (const CancelledError&) {
    *caught = true;
    throw;
  }
  co_return 0;
}

Task<int> cancel_self_via_current_task_then_return() {
  EXPECT_TRUE(weft::current_task().cancel());
  co_return 1;
}

Task<void> self_cancels() {
  bool caught = false;
  JoinHandle<int> a = weft::spawn(cancel_self_via_current_task_then_sleep(&caught));
  EXPECT_EQ(co_await ending_of(a), Ending::cancelled);
  EXPECT_TRUE(caught) << "delivered at the next suspension";
  JoinHandle<int> b = weft::spawn(cancel_self_via_current_task_then_return());
  EXPECT_EQ(co_await ending_of(b), Ending::cancelled);
  EXPECT_TRUE(b.cancelled());
}

// asyncio: current_task().cancel() makes the task's next await raise CancelledError.
TEST(TaskCancelSemantics, TaskCancelsItselfThroughCurrentTask) {
  weft::Runtime rt(weft::test::options(1));
  rt.block_on(self_cancels());
}

Task<TaskRef> rename_self() {
  TaskRef self = weft::current_task();
  EXPECT_EQ(self.name(), "given at spawn");
  self.set_name("renamed by itself");
  co_await weft::yield();
  co_return self;
}

Task<void> names() {
  JoinHandle<TaskRef> handle = weft::spawn(rename_self(), {.name = "given at spawn"});
  EXPECT_EQ(handle.name(), "given at spawn");
  TaskRef ref = co_await handle;
  EXPECT_EQ(handle.name(), "renamed by itself");
  handle.set_name("renamed by its handle");
  EXPECT_EQ(ref.name(), "renamed by its handle");
  // The task has finished; the TaskRef still holds it.
  EXPECT_TRUE(ref.done());
  EXPECT_FALSE(ref.cancel());
  EXPECT_EQ(ref.id(), handle.id());
  JoinHandle<int> empty;
  EXPECT_EQ(empty.name(), "");
  EXPECT_THROW(empty.set_name("x"), std::logic_error);
}

// asyncio's Task.get_name / set_name, from the task itself or from outside.
TEST(TaskCancelSemantics, NamesCanBeReadAndSetFromTheTaskAndItsHandle) {
  weft::Runtime rt(weft::test::options(1));
  rt.block_on(names());
}

// A rename from another thread races with the task reading its own name (as a report on
// its loop would): each read sees one whole name. Run under TSan to see the lock work.
Task<void> read_own_name(std::atomic<bool>* stop, int* reads) {
  TaskRef self = weft::current_task();
  while (!stop->load()) {
    const std::string n = self.name();
    EXPECT_TRUE(n == "first name, long enough to need the heap" ||
                n == "second name, long enough to need the heap")
        << n;
    ++*reads;
    co_await weft::yield();
  }
}

TEST(TaskCancelSemantics, RenameFromAnotherThreadIsSafe) {
  for (unsigned loops : {1u, 2u}) {
    weft::Runtime rt(weft::test::options(loops));
    std::atomic<bool> stop{false};
    int reads = 0;
    JoinHandle<void> handle = rt.spawn(read_own_name(&stop, &reads),
                                       {.name = "first name, long enough to need the heap"});
    for (int i = 0; i < 2000; ++i)
      handle.set_name(i % 2 == 0 ? "second name, long enough to need the heap"
                                 : "first name, long enough to need the heap");
    stop.store(true);
    ASSERT_TRUE(weft::test::wait_until([&handle] { return handle.done(); }));
    EXPECT_FALSE(handle.cancelled());
  }
}

}  // namespace

// weft::with_resource: the asynchronous close runs after the body on success, on exception
// and on cancellation (even a cancel that arrives during the close), and errors are ordered.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <weft/async_resource.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::JoinHandle;
using weft::Task;

struct Log {
  std::atomic<int> closes{0};
  std::atomic<bool> close_started{false};
  std::atomic<bool> close_finished{false};
  std::atomic<bool> body_waiting{false};
};

struct Resource {
  Log* log;
  bool close_throws = false;
  std::chrono::milliseconds close_takes{5};
  Task<void> aclose() {
    log->close_started.store(true);
    co_await weft::sleep(close_takes);  // asynchronous clean-up
    log->closes.fetch_add(1);
    log->close_finished.store(true);
    if (close_throws) throw std::runtime_error("close failed");
  }
};

Task<int> use_ok(Resource&) { co_return 42; }

Task<int> use_throws(Resource&) {
  co_await weft::yield();
  throw std::logic_error("body failed");
}

Task<int> ok_case(Log* log) { co_return co_await weft::with_resource(Resource{log}, use_ok); }

TEST(AsyncResource, ClosesAfterSuccess) {
  Log log;
  EXPECT_EQ(weft::run(ok_case(&log), weft::test::options(2)), 42);
  EXPECT_EQ(log.closes.load(), 1);
}

Task<void> throwing_case(Log* log, bool close_throws) {
  co_await weft::with_resource(Resource{log, close_throws}, use_throws);
}

TEST(AsyncResource, ClosesAfterAnExceptionAndTheBodysErrorWins) {
  Log log;
  EXPECT_THROW(weft::run(throwing_case(&log, true), weft::test::options(2)), std::logic_error);
  EXPECT_EQ(log.closes.load(), 1);
}

Task<void> close_only_fails(Log* log) {
  co_await weft::with_resource(Resource{log, true}, [](Resource&) -> Task<void> { co_return; });
}

TEST(AsyncResource, CloseErrorIsRethrownWhenTheBodySucceeded) {
  Log log;
  EXPECT_THROW(weft::run(close_only_fails(&log), weft::test::options(1)), std::runtime_error);
  EXPECT_EQ(log.closes.load(), 1);
}

// Cancelled in the body: the close still runs to its end before the CancelledError.
Task<void> waits_forever(Log* log) {
  co_await weft::with_resource(Resource{log, false, 30ms}, [log](Resource&) -> Task<void> {
    log->body_waiting.store(true);
    co_await weft::sleep(1h);
  });
}

Task<bool> cancel_in_body(Log* log, bool cancel_again_during_close) {
  JoinHandle<void> h = weft::spawn(waits_forever(log));
  EXPECT_TRUE(co_await weft::test::co_wait_until([log] { return log->body_waiting.load(); }));
  h.cancel();
  if (cancel_again_during_close) {
    EXPECT_TRUE(co_await weft::test::co_wait_until([log] { return log->close_started.load(); }));
    h.cancel();  // must not interrupt the close
  }
  try {
    co_await h;
  } catch (const CancelledError&) {
    co_return log->close_finished.load();
  }
  co_return false;
}

TEST(AsyncResource, ClosesAfterCancellationEvenWhenCancelledAgainDuringTheClose) {
  for (bool again : {false, true}) {
    SCOPED_TRACE(again ? "cancelled again during the close" : "cancelled once");
    Log log;
    EXPECT_TRUE(weft::run(cancel_in_body(&log, again), weft::test::options(2)))
        << "the owner saw CancelledError before the close had finished";
    EXPECT_EQ(log.closes.load(), 1);
  }
}

}  // namespace

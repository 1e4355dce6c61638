// weft::with_resource never loses an error of aclose(). Python's `async with` raises the
// __aexit__ error with the body's error as its context; weft throws the body's error (or the
// CancelledError of a cancelled caller) unchanged, so code written against the body's errors
// keeps working, and hands the close's error to the runtime's report sink.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <weft/async_resource.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::JoinHandle;
using weft::ReportKind;
using weft::Task;

struct FailingClose {
  std::atomic<int>* closes;
  Task<void> aclose() {
    co_await weft::yield();  // asynchronous clean-up
    closes->fetch_add(1);
    throw std::runtime_error("close failed");
  }
};

weft::RuntimeOptions options_with(weft::test::ReportLog& log, unsigned loops) {
  weft::RuntimeOptions o = weft::test::options(loops);
  o.on_report = log.sink();
  return o;
}

bool reported_close_failure(const weft::test::ReportLog& log) {
  for (const weft::Report& r : log.reports()) {
    if (r.kind == ReportKind::unretrieved_exception &&
        r.message.find("close failed") != std::string::npos &&
        r.message.find("aclose") != std::string::npos)
      return true;
  }
  return false;
}

// Body throws A, aclose throws B: the caller catches A, B is reported (not dropped).
TEST(AsyncResourceErrors, BodyErrorIsThrownAndTheCloseErrorIsReported) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(loops);
    weft::test::ReportLog log;
    std::atomic<int> closes{0};
    auto body = [&]() -> Task<std::string> {
      try {
        co_await weft::with_resource(FailingClose{&closes}, [](FailingClose&) -> Task<void> {
          co_await weft::yield();
          throw std::logic_error("body failed");
        });
      } catch (const std::logic_error& e) {
        co_return e.what();
      }
      co_return "nothing thrown";
    };
    EXPECT_EQ(weft::run(body(), options_with(log, loops)), "body failed");
    EXPECT_EQ(closes.load(), 1);
    EXPECT_TRUE(reported_close_failure(log)) << "the close's error was lost";
  }
}

// The caller is cancelled in the body and aclose throws: the caller still ends in
// CancelledError (a cancelled task ends cancelled), and the close's error is reported.
TEST(AsyncResourceErrors, CancelledBodyEndsCancelledAndTheCloseErrorIsReported) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(loops);
    weft::test::ReportLog log;
    std::atomic<int> closes{0};
    std::atomic<bool> body_waiting{false};
    auto owner = [&]() -> Task<void> {
      co_await weft::with_resource(FailingClose{&closes}, [&](FailingClose&) -> Task<void> {
        body_waiting = true;
        co_await weft::sleep(1h);
      });
    };
    auto body = [&]() -> Task<bool> {
      JoinHandle<void> h = weft::spawn(owner());
      EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return body_waiting.load(); }));
      h.cancel();
      EXPECT_TRUE(co_await weft::test::finished_within(h));
      try {
        co_await h;
      } catch (const CancelledError&) {
        co_return true;
      }
      co_return false;
    };
    EXPECT_TRUE(weft::run(body(), options_with(log, loops)));
    EXPECT_EQ(closes.load(), 1);
    EXPECT_TRUE(reported_close_failure(log)) << "the close's error was lost";
  }
}

// The body succeeded, the caller was cancelled while the close ran, and the close threw: the
// caller ends in CancelledError (the cancel is not replaced by the close's error), the
// close's error is reported.
struct SlowFailingClose {
  std::atomic<bool>* closing;
  std::atomic<bool>* release;
  Task<void> aclose() {
    closing->store(true);
    while (!release->load()) co_await weft::yield();
    throw std::runtime_error("close failed");
  }
};

TEST(AsyncResourceErrors, CancelDuringAFailingCloseEndsCancelledAndTheCloseErrorIsReported) {
  for (unsigned loops : {1u, 2u}) {
    SCOPED_TRACE(loops);
    weft::test::ReportLog log;
    std::atomic<bool> closing{false};
    std::atomic<bool> release{false};
    auto owner = [&]() -> Task<int> {
      co_return co_await weft::with_resource(SlowFailingClose{&closing, &release},
                                             [](SlowFailingClose&) -> Task<int> { co_return 7; });
    };
    auto body = [&]() -> Task<bool> {
      JoinHandle<int> h = weft::spawn(owner());
      EXPECT_TRUE(co_await weft::test::co_wait_until([&] { return closing.load(); }));
      h.cancel();
      release = true;
      EXPECT_TRUE(co_await weft::test::finished_within(h));
      try {
        (void)co_await h;
      } catch (const CancelledError&) {
        co_return true;
      } catch (const std::exception&) {
      }
      co_return false;
    };
    EXPECT_TRUE(weft::run(body(), options_with(log, loops)));
    EXPECT_TRUE(reported_close_failure(log)) << "the close's error was lost";
  }
}

}  // namespace

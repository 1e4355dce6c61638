// The pending_at_shutdown report: tasks still running when the runtime shuts down (and
// shutdown cancels) are counted and named once, as asyncio warns "Task was destroyed but it
// is pending!"; a runtime whose tasks all ended says nothing; the option turns it off.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::ReportKind;
using weft::Task;

Task<void> ticker() {
  for (;;) co_await weft::sleep(1ms);
}

Task<void> leaves_two_running() {
  weft::spawn(ticker(), {.name = "ticker"}).detach();
  { auto forgotten = weft::spawn(ticker()); }  // dropping a handle detaches its task
  co_await weft::sleep(5ms);
}

TEST(ShutdownReport, TasksStillRunningAtShutdownAreCountedAndNamedOnce) {
  for (unsigned loops : {1u, 2u}) {
    weft::test::ReportLog log;
    weft::RuntimeOptions o = weft::test::options(loops);
    o.on_report = log.sink();
    weft::run(leaves_two_running(), o);
    ASSERT_EQ(log.count(ReportKind::pending_at_shutdown), 1u) << loops << " loops";
    for (const weft::Report& r : log.reports()) {
      if (r.kind != ReportKind::pending_at_shutdown) continue;
      EXPECT_NE(r.message.find("2 tasks were still running"), std::string::npos) << r.message;
      EXPECT_NE(r.message.find("'ticker'"), std::string::npos) << r.message;
      EXPECT_NE(r.message.find("shutdown_report_test.cpp:"), std::string::npos) << r.message;
    }
    EXPECT_EQ(log.count(ReportKind::shutdown_forced), 0u) << "the tickers obey the cancel";
  }
}

TEST(ShutdownReport, ARuntimeWhoseTasksAllEndedSaysNothing) {
  // Many short runs: the block_on root, which may still be in its last instructions when
  // run() returns, is never taken for a pending task.
  weft::test::ReportLog log;
  for (int i = 0; i < 200; ++i) {
    weft::RuntimeOptions o = weft::test::options(2);
    o.on_report = log.sink();
    auto body = []() -> Task<int> {
      auto h = weft::spawn([]() -> Task<int> {
        co_await weft::yield();
        co_return 1;
      });
      co_return co_await h;
    };
    EXPECT_EQ(weft::run(body(), o), 1);
  }
  EXPECT_EQ(log.count(ReportKind::pending_at_shutdown), 0u);
}

TEST(ShutdownReport, TheOptionTurnsItOff) {
  weft::test::ReportLog log;
  weft::RuntimeOptions o = weft::test::options(2);
  o.on_report = log.sink();
  o.report_pending_at_shutdown = false;
  weft::run(leaves_two_running(), o);
  EXPECT_EQ(log.count(ReportKind::pending_at_shutdown), 0u);
}

}  // namespace

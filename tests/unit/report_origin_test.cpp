// Reports and errors point at the user's code, not at weft's internals:
//   - a library coroutine (to_thread, the HTTP client's requests) is named by the line that
//     called it;
//   - a task made from a callable (spawn(callable), make_task) is named by the coroutine the
//     callable returned, not by make_task's wrapper;
//   - an entry point called outside a runtime names itself in its error.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/udp_socket.hpp>
#include <weft/io/unix_stream.hpp>
#include <weft/make_task.hpp>
#include <weft/to_thread.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Report;
using weft::ReportKind;
using weft::Task;

weft::RuntimeOptions recording_options(weft::test::ReportLog& log) {
  weft::RuntimeOptions o = weft::test::options();
  o.on_report = log.sink();
  return o;
}

// "report_origin_test.cpp:<line>": how a report names a line of this file.
std::string here(unsigned line) { return "report_origin_test.cpp:" + std::to_string(line); }

// The one report of `kind` in `log`; fails the test if there is not exactly one.
Report only_report(const weft::test::ReportLog& log, ReportKind kind) {
  EXPECT_EQ(log.count(kind), 1u);
  for (const Report& r : log.reports())
    if (r.kind == kind) return r;
  return {};
}

// --- library coroutines: named by the user's call -------------------------------------------

TEST(ReportOrigin, AToThreadTaskNeverAwaitedNamesTheLineThatCalledToThread) {
  weft::test::ReportLog log;
  unsigned line = 0;
  weft::run(
      [&line]() -> Task<void> {
        // clang-format off
        { line = __LINE__; Task<int> forgotten = weft::to_thread([] { return 1; }); }
        // clang-format on
        co_return;
      }(),
      recording_options(log));
  const Report r = only_report(log, ReportKind::task_never_awaited);
  EXPECT_NE(r.task.find("weft::to_thread called at " + here(line)), std::string::npos) << r.task;
  EXPECT_EQ(r.task.find("to_thread.hpp"), std::string::npos) << r.task;
}

TEST(ReportOrigin, AToThreadTaskWithArgumentsSaysItsCallSiteWasNotRecorded) {
  weft::test::ReportLog log;
  weft::run(
      []() -> Task<void> {
        {
          Task<int> forgotten = weft::to_thread([](int x) { return x; }, 7);
        }
        co_return;
      }(),
      recording_options(log));
  const Report r = only_report(log, ReportKind::task_never_awaited);
  EXPECT_NE(r.task.find("weft::to_thread (call site not recorded)"), std::string::npos) << r.task;
}

TEST(ReportOrigin, AToThreadTaskStillRunsAndReturnsItsValue) {
  auto body = []() -> Task<int> {
    const int a = co_await weft::to_thread([] { return 20; });
    const int b = co_await weft::to_thread([](int x, int y) { return x + y; }, 1, 1);
    co_return a + b;
  };
  EXPECT_EQ(weft::run(body(), weft::test::options()), 22);
}

TEST(ReportOrigin, AClientRequestNeverAwaitedNamesTheLineThatMadeIt) {
  weft::test::ReportLog log;
  unsigned get_line = 0;
  unsigned post_line = 0;
  weft::run(
      [&]() -> Task<void> {
        weft::http::Client client;
        // clang-format off
        { get_line = __LINE__; Task<weft::http::ClientResponse> t = client.get("http://127.0.0.1:9/"); }
        { post_line = __LINE__; Task<weft::http::ClientResponse> t = client.post("http://127.0.0.1:9/", "x"); }
        // clang-format on
        co_await client.close();
      }(),
      recording_options(log));
  ASSERT_EQ(log.count(ReportKind::task_never_awaited), 2u);
  const std::vector<Report> reports = log.reports();
  EXPECT_NE(reports[0].task.find("weft::http::Client::get called at " + here(get_line)),
            std::string::npos)
      << reports[0].task;
  EXPECT_NE(reports[1].task.find("weft::http::Client::post called at " + here(post_line)),
            std::string::npos)
      << reports[1].task;
}

// --- tasks made from a callable: named by the callable's coroutine --------------------------

TEST(ReportOrigin, ASpawnedLambdaPendingAtShutdownIsNamedByTheLambda) {
  weft::test::ReportLog log;
  unsigned line = 0;
  weft::run(
      [&line]() -> Task<void> {
        line = __LINE__ + 1;
        auto forever = []() -> Task<void> { co_await weft::sleep(24h); };
        JoinHandle<void> h = weft::spawn(forever);
        co_await weft::yield();
        co_return;  // dropping the handle detaches the task; the shutdown cancels it
      }(),
      recording_options(log));
  const Report r = only_report(log, ReportKind::pending_at_shutdown);
  EXPECT_NE(r.message.find(here(line)), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("make_task.hpp"), std::string::npos) << r.message;
}

TEST(ReportOrigin, AMadeTaskNeverAwaitedIsReportedOnceAndNamedByTheLambda) {
  weft::test::ReportLog log;
  unsigned line = 0;
  weft::run(
      [&line]() -> Task<void> {
        line = __LINE__ + 1;
        auto make = [](int x) -> Task<int> { co_return x; };
        { Task<int> forgotten = weft::make_task(make, 3); }
        co_return;
      }(),
      recording_options(log));
  const Report r = only_report(log, ReportKind::task_never_awaited);
  EXPECT_NE(r.task.find(here(line)), std::string::npos) << r.task;
  EXPECT_EQ(log.reports().size(), 1u) << "the made task and the lambda's task are one task";
}

TEST(ReportOrigin, ACallableThatThrowsWhenCalledThrowsWhereTheTaskIsAwaited) {
  auto body = []() -> Task<std::string> {
    auto throws = [](int) -> Task<int> { throw std::runtime_error("before any coroutine"); };
    Task<int> t = weft::make_task([throws](int x) { return throws(x); }, 1);
    try {
      co_await std::move(t);
    } catch (const std::runtime_error& e) {
      co_return e.what();
    }
    co_return "no exception";
  };
  EXPECT_EQ(weft::run(body(), weft::test::options()), "before any coroutine");
}

// --- outside a runtime: the error names the function the user called ------------------------

template <class F>
std::string logic_error_of(F&& call) {
  try {
    call();
  } catch (const std::logic_error& e) {
    return e.what();
  }
  return "no std::logic_error";
}

TEST(ReportOrigin, EntryPointsCalledOutsideARuntimeNameThemselves) {
  const auto loopback = weft::io::SocketAddress::parse("127.0.0.1:0");
  weft::http::Server server;
  EXPECT_EQ(logic_error_of([&] {
              (void)server.listen(loopback);
            }).rfind("weft::http::Server::listen: not inside a weft task", 0),
            0u);
  EXPECT_EQ(logic_error_of([&] {
              (void)weft::io::TcpListener::bind(loopback);
            }).rfind("weft::io::TcpListener::bind: not inside a weft task", 0),
            0u);
  EXPECT_EQ(logic_error_of([&] {
              (void)weft::io::UdpSocket::bind(loopback);
            }).rfind("weft::io::UdpSocket::bind: not inside a weft task", 0),
            0u);
  const auto unix_path = weft::io::SocketAddress::unix_path("/tmp/weft-report-origin.sock");
  EXPECT_EQ(logic_error_of([&] {
              (void)weft::io::UnixListener::bind(unix_path);
            }).rfind("weft::io::UnixListener::bind: not inside a weft task", 0),
            0u);
  // Nothing was made before the error: the Unix listener's path was never created.
  EXPECT_NE(::access("/tmp/weft-report-origin.sock", F_OK), 0);
}

}  // namespace

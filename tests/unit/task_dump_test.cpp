// Task dumps (weft/task_dump.hpp): a known tree of tasks is listed with exactly the waits its
// tasks are in and under the tasks that hold them up; a dump is taken while a loop is stuck
// in a task that never suspends; dumps taken during a storm of spawns see only live tasks,
// each once; the text and JSON forms carry the same fields.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <set>
#include <string>
#include <weft/algorithms.hpp>
#include <weft/async_fd.hpp>
#include <weft/task_dump.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::TaskDump;
using weft::TaskSnapshot;

// The one task named `name` in `dump`, or nullptr.
const TaskSnapshot* find(const TaskDump& dump, const std::string& name) {
  const TaskSnapshot* found = nullptr;
  for (const TaskSnapshot& t : dump.tasks) {
    if (t.name != name) continue;
    EXPECT_EQ(found, nullptr) << "two tasks named " << name;
    found = &t;
  }
  return found;
}

bool waiting(const TaskDump& dump, const std::string& name) {
  const TaskSnapshot* t = find(dump, name);
  return t != nullptr && t->state == TaskSnapshot::State::waiting;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

Task<void> pop_one(weft::Queue<int>& queue) { (void)co_await queue.pop(); }

Task<void> sleep_an_hour() { co_await weft::sleep(1h); }

Task<void> wait_readable(int fd) {
  weft::AsyncFd in(fd);
  (void)co_await in.readable();
}

Task<void> wait_event(weft::Event& event) { co_await event.wait(); }

Task<void> join_one(weft::Event& event) {
  auto joinee = weft::spawn(wait_event(event), {.name = "joinee"});
  co_await joinee;
}

Task<void> group_of_four(weft::Queue<int>& queue, weft::Event& event, int read_fd) {
  auto body = [&](weft::TaskGroup& group) -> Task<void> {
    group.spawn(pop_one(queue), {.name = "popper"});
    group.spawn(sleep_an_hour(), {.name = "sleeper"});
    group.spawn(wait_readable(read_fd), {.name = "reader"});
    group.spawn(join_one(event), {.name = "joiner"});
    co_return;
  };
  co_await weft::with_task_group(body);
}

TEST(TaskDump, ListsAKnownTreeWithWhatEachTaskWaitsOn) {
  weft::Runtime runtime(weft::test::options(2));
  weft::Queue<int> queue;
  weft::Event event;
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_NONBLOCK | O_CLOEXEC), 0);
  auto root = runtime.spawn(group_of_four(queue, event, pipe_fds[0]), {.name = "root"});

  TaskDump dump;
  const bool settled = weft::test::wait_until([&] {
    dump = runtime.dump();
    for (const char* name : {"root", "popper", "sleeper", "reader", "joiner", "joinee"})
      if (!waiting(dump, name)) return false;
    return true;
  });
  ASSERT_TRUE(settled) << dump.text();
  SCOPED_TRACE(dump.text());
  EXPECT_TRUE(dump.complete);
  EXPECT_EQ(dump.loops, 2u);
  // root, the group's body (ended by now: not listed), four children, and the joinee.
  EXPECT_EQ(dump.tasks.size(), 6u);

  const TaskSnapshot& r = *find(dump, "root");
  EXPECT_EQ(r.depth, 0u);
  EXPECT_EQ(r.parent, "");
  EXPECT_EQ(r.coroutine, "group_of_four");
  EXPECT_EQ(r.waits_on, "weft::with_task_group (its children)");
  EXPECT_TRUE(starts_with(r.spawned_at, "task_dump_test.cpp:")) << r.spawned_at;

  for (const char* name : {"popper", "sleeper", "reader", "joiner"}) {
    const TaskSnapshot& t = *find(dump, name);
    EXPECT_EQ(t.parent, r.id) << name << ": a group's child is shown under the group's owner";
    EXPECT_EQ(t.depth, 1u) << name;
    EXPECT_TRUE(starts_with(t.spawned_at, "task_dump_test.cpp:")) << name << ": " << t.spawned_at;
    EXPECT_GE(t.loop, 0) << name << " has run";
  }
  EXPECT_EQ(find(dump, "popper")->coroutine, "pop_one");
  EXPECT_TRUE(starts_with(find(dump, "popper")->waits_on, "weft::Queue::pop() on 0x"))
      << find(dump, "popper")->waits_on;
  EXPECT_NE(find(dump, "popper")->waits_on.find("(first in line)"), std::string::npos);
  const std::string& sleep = find(dump, "sleeper")->waits_on;
  ASSERT_TRUE(starts_with(sleep, "sleep until +")) << sleep;
  // An hour, less the time the dump took to come (bounded by wait_until's deadline).
  const double seconds_left = std::stod(sleep.substr(std::string("sleep until +").size()));
  EXPECT_LE(seconds_left, 3600.0) << sleep;
  EXPECT_GE(seconds_left, 3600.0 - 2 * weft::test::kDeadline.count()) << sleep;
  EXPECT_EQ(sleep.substr(sleep.size() - 2), " s") << sleep;
  EXPECT_EQ(find(dump, "reader")->waits_on, "fd " + std::to_string(pipe_fds[0]) + " readable");

  const TaskSnapshot& joiner = *find(dump, "joiner");
  const TaskSnapshot& joinee = *find(dump, "joinee");
  EXPECT_EQ(joiner.waits_on, "join " + joinee.id);
  EXPECT_EQ(joinee.parent, joiner.id) << "a joined task is shown under its joiner";
  EXPECT_EQ(joinee.depth, 2u);
  EXPECT_TRUE(starts_with(joinee.waits_on, "weft::Event::wait() on 0x")) << joinee.waits_on;
  EXPECT_EQ(joinee.spawned_at.substr(0, 19), "task_dump_test.cpp:");

  // Depth-first: every task comes after its parent.
  std::set<std::string> seen;
  for (const TaskSnapshot& t : dump.tasks) {
    if (!t.parent.empty()) {
      EXPECT_TRUE(seen.count(t.parent)) << t.id << " before its parent";
    }
    seen.insert(t.id);
  }

  root.cancel();
  EXPECT_TRUE(weft::test::wait_until([&] { return root.done(); }));
  ::close(pipe_fds[1]);
}

// Holds its loop without suspending until `stop`: a stuck loop.
Task<void> spin_until(std::atomic<bool>& started, std::atomic<bool>& stop) {
  started.store(true);
  while (!stop.load(std::memory_order_relaxed)) {
  }
  co_return;
}

TEST(TaskDump, IsTakenWhileALoopIsStuckInATaskThatNeverSuspends) {
  weft::Runtime runtime(weft::test::options(2));
  std::atomic<bool> spinning{false};
  std::atomic<bool> release{false};
  auto spinner = runtime.spawn(spin_until(spinning, release), {.name = "spinner"});
  ASSERT_TRUE(weft::test::wait_until([&] { return spinning.load(); }));

  // From a thread outside the runtime, and from a task on the other loop: neither needs the
  // stuck loop's help (the spinner stops only after both dumps returned).
  const auto start = std::chrono::steady_clock::now();
  const TaskDump outside = runtime.dump();
  const auto took = std::chrono::steady_clock::now() - start;
  const TaskDump inside =
      runtime.block_on([]() -> Task<TaskDump> { co_return weft::dump_tasks(); }());
  release.store(true);
  ASSERT_TRUE(weft::test::wait_until([&] { return spinner.done(); }));

  for (const TaskDump* dump : {&outside, &inside}) {
    SCOPED_TRACE(dump->text());
    const TaskSnapshot* s = find(*dump, "spinner");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->state, TaskSnapshot::State::running);
    EXPECT_GE(s->loop, 0);
    EXPECT_NE(dump->text().find("'spinner'"), std::string::npos);
    EXPECT_NE(dump->text().find(": running on loop " + std::to_string(s->loop)), std::string::npos);
  }
  EXPECT_LT(took, 100ms) << "a dump never waits for a loop";
}

Task<void> short_lived(std::atomic<long>& done) {
  done.fetch_add(1, std::memory_order_relaxed);
  co_return;
}

Task<void> spawn_storm(std::atomic<bool>& stop, std::atomic<long>& done) {
  while (!stop.load(std::memory_order_relaxed)) {
    for (int i = 0; i < 64; ++i) weft::spawn(short_lived(done), {.name = "storm"}).detach();
    co_await weft::yield();
  }
}

TEST(TaskDump, ThousandDumpsDuringASpawnStormSeeEachLiveTaskOnce) {
  weft::Runtime runtime(weft::test::options(2));
  std::atomic<bool> stop{false};
  std::atomic<long> done{0};
  auto a = runtime.spawn(spawn_storm(stop, done), {.name = "stormer"});
  auto b = runtime.spawn(spawn_storm(stop, done), {.name = "stormer"});
  ASSERT_TRUE(weft::test::wait_until([&] { return done.load() >= 1000; }));
  const int dumps = static_cast<int>(weft::test::scaled(1000, 100));
  std::size_t largest = 0;
  for (int i = 0; i < dumps; ++i) {
    const TaskDump dump = runtime.dump();
    std::set<std::string> ids;
    for (const TaskSnapshot& t : dump.tasks) {
      EXPECT_TRUE(ids.insert(t.id).second) << "listed twice: " << t.id;
      EXPECT_TRUE(t.name == "storm" || t.name == "stormer") << t.name;
      if (t.state == TaskSnapshot::State::waiting) {
        EXPECT_FALSE(t.waits_on.empty()) << t.id;
      }
    }
    largest = std::max(largest, dump.tasks.size());
  }
  stop.store(true);
  ASSERT_TRUE(weft::test::wait_until([&] { return a.done() && b.done(); }));
  EXPECT_GE(largest, 2u);
}

TEST(TaskDump, TextAndJsonCarryTheSameFields) {
  weft::Runtime runtime(weft::test::options(1));
  weft::Event event;
  auto quoted = runtime.spawn(wait_event(event), {.name = "say \"hi\"\n"});
  TaskDump dump;
  ASSERT_TRUE(weft::test::wait_until([&] {
    dump = runtime.dump();
    return waiting(dump, "say \"hi\"\n");
  }));
  const TaskSnapshot& t = *find(dump, "say \"hi\"\n");
  const std::string json = dump.json();
  EXPECT_NE(json.find("\"loops\":1,\"complete\":true,\"tasks\":[{\"id\":\"" + t.id + "\""),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"name\":\"say \\\"hi\\\"\\u000a\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"state\":\"waiting\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"waits_on\":\"" + t.waits_on + "\""), std::string::npos) << json;
  const std::string text = dump.text();
  EXPECT_TRUE(starts_with(text, "weft task dump: 1 task on 1 loop\n")) << text;
  EXPECT_NE(text.find(t.id + " 'say \"hi\"\n' wait_event (spawned at task_dump_test.cpp:"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(": waiting for "), std::string::npos) << text;
  event.set();
  EXPECT_TRUE(weft::test::wait_until([&] { return quoted.done(); }));
}

TEST(TaskDump, TheDumpSignalReportsTheTreeWhileTheOnlyLoopIsStuck) {
  weft::test::ReportLog log;
  weft::RuntimeOptions options = weft::test::options(1);
  options.dump_signal = SIGUSR1;
  options.on_report = log.sink();
  weft::Runtime runtime(options);
  std::atomic<bool> spinning{false};
  std::atomic<bool> release{false};
  auto spinner = runtime.spawn(spin_until(spinning, release), {.name = "stuck"});
  ASSERT_TRUE(weft::test::wait_until([&] { return spinning.load(); }));
  ASSERT_EQ(::kill(::getpid(), SIGUSR1), 0);
  // The one loop is stuck: the report can only come from the dump's own thread.
  const bool reported =
      weft::test::wait_until([&] { return log.count(weft::ReportKind::task_dump) == 1; });
  release.store(true);
  ASSERT_TRUE(reported);
  ASSERT_TRUE(weft::test::wait_until([&] { return spinner.done(); }));
  for (const weft::Report& r : log.reports()) {
    if (r.kind != weft::ReportKind::task_dump) continue;
    EXPECT_TRUE(starts_with(r.message, "weft task dump: 1 task on 1 loop\n")) << r.message;
    EXPECT_NE(r.message.find("'stuck'"), std::string::npos) << r.message;
    EXPECT_NE(r.message.find(": running on loop 0"), std::string::npos) << r.message;
    EXPECT_NE(r.message.back(), '\n');
  }
}

TEST(TaskDump, TheDumpSignalCannotAlsoBeAwaited) {
  weft::RuntimeOptions options = weft::test::options(1);
  options.dump_signal = SIGUSR1;
  options.signals = {SIGUSR2, SIGUSR1};
  EXPECT_THROW(weft::Runtime{options}, std::invalid_argument);
  options.signals = {SIGUSR2};
  weft::Runtime runtime(options);  // two different signals: fine
}

TEST(TaskDump, SleepsAreShownOnTheSimulatedClock) {
  weft::RuntimeOptions options = weft::test::options(1);
  options.simulated_time = weft::SimulatedTime{};
  const std::string sleep = weft::run(
      []() -> Task<std::string> {
        auto sleeper = weft::spawn(sleep_an_hour(), {.name = "sleeper"});
        co_await weft::yield();  // the sleeper reaches its sleep; the clock has not moved
        const TaskDump dump = weft::dump_tasks();
        sleeper.cancel();
        try {
          co_await sleeper;
        } catch (const weft::CancelledError&) {
        }
        const TaskSnapshot* s = find(dump, "sleeper");
        co_return s != nullptr ? s->waits_on : std::string("no sleeper");
      }(),
      options);
  EXPECT_EQ(sleep, "sleep until +3600.0 s");
}

TEST(TaskDump, DumpTasksOutsideATaskThrows) {
  EXPECT_THROW((void)weft::dump_tasks(), std::logic_error);
}

}  // namespace

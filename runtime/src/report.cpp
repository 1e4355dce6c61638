#include "weft/report.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "loop.hpp"
#include "reporting.hpp"
#include "scheduler.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/metrics.hpp"
#include "weft/task.hpp"

namespace weft {

const char* to_string(ReportKind kind) noexcept {
  switch (kind) {
    case ReportKind::stall:
      return "stall";
    case ReportKind::stall_ended:
      return "stall_ended";
    case ReportKind::task_never_awaited:
      return "task_never_awaited";
    case ReportKind::detached_exception:
      return "detached_exception";
    case ReportKind::unretrieved_exception:
      return "unretrieved_exception";
    case ReportKind::shutdown_forced:
      return "shutdown_forced";
    case ReportKind::pending_at_shutdown:
      return "pending_at_shutdown";
    case ReportKind::task_dump:
      return "task_dump";
  }
  return "unknown";
}

LoopMetrics& LoopMetrics::operator+=(const LoopMetrics& o) noexcept {
  tasks_run += o.tasks_run;
  spawned_local += o.spawned_local;
  injected_taken += o.injected_taken;
  steals += o.steals;
  steal_attempts += o.steal_attempts;
  parks += o.parks;
  wakeups += o.wakeups;
  timers_fired += o.timers_fired;
  io_events += o.io_events;
  stalls += o.stalls;
  cancels_swallowed += o.cancels_swallowed;
  cancels_unseen += o.cancels_unseen;
  return *this;
}

LoopMetrics RuntimeMetrics::total() const noexcept {
  LoopMetrics sum;
  for (const LoopMetrics& m : loops) sum += m;
  return sum;
}

namespace detail {

namespace {

std::string describe_origin(const FrameOrigin& origin) {
  if (origin.file == nullptr) return std::string(origin.function) + " (call site not recorded)";
  const char* file = origin.file;
  // The file's last component is enough to find it and keeps the line short.
  for (const char* p = origin.file; *p != '\0'; ++p)
    if (*p == '/') file = p + 1;
  const std::string where = std::string(file) + ":" + std::to_string(origin.line);
  // A library coroutine (to_thread, a client request): the user's call is what to look at.
  if (origin.is_call_site) return std::string(origin.function) + " called at " + where;
  return std::string(origin.function) + " (" + where + ")";
}

}  // namespace

std::string format_task_id(std::uint64_t id) {
  // "#7@loop1" (the 7th task spawned on loop 1) rather than the packed 281474976710663.
  const std::uint64_t loop_plus_one = id >> TaskHeader::kIdLoopShift;
  const std::uint64_t number = id & ((std::uint64_t{1} << TaskHeader::kIdLoopShift) - 1);
  std::string s = "#" + std::to_string(number);
  if (loop_plus_one != 0) s += "@loop" + std::to_string(loop_plus_one - 1);
  return s;
}

std::string describe_task(const TaskHeader& task) {
  std::string s = format_task_id(task.id_);
  const std::string name = task.name();
  if (!name.empty()) s += " '" + name + "'";
  if (task.root_promise() != nullptr && !task.is_discarded())
    s += " " + describe_origin(task.root_promise()->origin());
  return s;
}

void emit_report(const Scheduler* scheduler, const Report& report) {
  if (scheduler != nullptr && scheduler->options().on_report) {
    scheduler->options().on_report(report);
    return;
  }
  // One fprintf per report: lines from different threads do not interleave.
  std::fprintf(stderr, "%s\n", report.message.c_str());
}

void report_never_awaited(const FrameOrigin& origin) noexcept {
  try {
    const std::string who = describe_origin(origin);
    Loop* loop = current_loop();
    emit_report(loop != nullptr ? &loop->scheduler() : nullptr,
                {ReportKind::task_never_awaited,
                 loop != nullptr ? static_cast<int>(loop->index()) : -1, who,
                 "weft: task " + who +
                     " was destroyed without being awaited or spawned (a lazy Task does "
                     "nothing until co_await or weft::spawn)"});
  } catch (...) {
    // Reporting must never turn a destructor into a crash.
  }
}

void PendingTasks::add_if_pending(const TaskHeader& task) {
  // Cancelled already (by its handle, a TaskGroup, a timeout): its owner ended it, the
  // shutdown did not; it may still be on its way out.
  if (task.is_complete() || task.cancel_requested()) return;
  if (task.root_promise() != nullptr && task.root_promise()->reports_own_end()) return;
  ++count;
  if (shown.size() < kShown) shown.push_back(describe_task(task));
}

void PendingTasks::merge(const PendingTasks& other) {
  count += other.count;
  for (const std::string& s : other.shown) {
    if (shown.size() < kShown) shown.push_back(s);
  }
}

void report_pending_at_shutdown(const Scheduler* scheduler, const PendingTasks& pending) {
  if (pending.count == 0) return;
  std::string list;
  for (const std::string& s : pending.shown) list += (list.empty() ? "" : ", ") + s;
  if (pending.count > pending.shown.size())
    list += ", and " + std::to_string(pending.count - pending.shown.size()) + " more";
  const bool one = pending.count == 1;
  emit_report(scheduler,
              {ReportKind::pending_at_shutdown, -1, pending.shown.front(),
               "weft: " + std::to_string(pending.count) + (one ? " task was" : " tasks were") +
                   " still running when the runtime shut down, and " + (one ? "was" : "were") +
                   " cancelled: " + list +
                   " (await or cancel them before run() returns, or set "
                   "RuntimeOptions::report_pending_at_shutdown = false)"});
}

void throw_no_result(const FrameOrigin& origin, bool taken_before) {
  const std::string who = describe_origin(origin);
  if (taken_before) throw std::logic_error("weft::Task: the result of " + who + " taken twice");
  throw std::logic_error(
      "weft::Task: " + who +
      " ended without co_return: a Task<T> coroutine ran off its end, which is undefined "
      "behaviour (clang warns with -Wreturn-type; g++ 12 does not warn)");
}

}  // namespace detail
}  // namespace weft

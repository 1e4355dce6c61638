#pragma once

#include <functional>
#include <string>

#include "weft/runtime_export.hpp"

namespace weft {

/// What weft's debug checks (on by default, like asyncio's debug mode) tell the user about.
enum class ReportKind {
  stall,                  ///< a loop's current task has run past the stall threshold
  stall_ended,            ///< that task finally suspended: its name and total run time
  task_never_awaited,     ///< a Task was destroyed without ever being awaited or spawned
  detached_exception,     ///< a detached task ended with an exception nobody can observe
  unretrieved_exception,  ///< a JoinHandle was dropped after its task failed, unawaited
  shutdown_forced,        ///< a task ignored cancellation past the shutdown grace period
  pending_at_shutdown,    ///< tasks still running when the runtime shut down (then cancelled)
  task_dump,              ///< RuntimeOptions::dump_signal arrived: the message is TaskDump::text()
};

/// One report, as the runtime passes it to RuntimeOptions::on_report.
struct Report {
  /// What happened.
  ReportKind kind;
  int loop = -1;  ///< index of the loop it concerns, or -1
  /// The task: for a spawned one its id ("#7@loop1") and name if it has one; then where it
  /// comes from — its coroutine
  /// ("fetch (crawler.cpp:41)"; for weft::spawn(callable) or make_task, the coroutine the
  /// callable returned), or for a library coroutine the line that called it
  /// ("weft::to_thread called at service.cpp:88", also the HTTP client's requests).
  std::string task;
  /// One human-readable line without a trailing newline; for task_dump, the dump's lines.
  std::string message;
};

/// Called from loop threads, the stall monitor and threads that destroy tasks: must be
/// thread-safe. The default writes the message to stderr.
using ReportSink = std::function<void(const Report&)>;

/// The kind's name as it is spelled in the enum ("stall", "task_never_awaited", ...).
[[nodiscard]] WEFT_RUNTIME_API const char* to_string(ReportKind kind) noexcept;

}  // namespace weft

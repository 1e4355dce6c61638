#pragma once

#include <functional>
#include <string>

namespace weft {

// What weft's debug checks (on by default, like asyncio's debug mode) tell the user about.
enum class ReportKind {
  stall,                  // a loop's current task has run past the stall threshold
  stall_ended,            // that task finally suspended: its name and total run time
  task_never_awaited,     // a Task was destroyed without ever being awaited or spawned
  detached_exception,     // a detached task ended with an exception nobody can observe
  unretrieved_exception,  // a JoinHandle was dropped after its task failed, unawaited
  shutdown_forced,        // a task ignored cancellation past the shutdown grace period
  pending_at_shutdown,    // tasks still running when the runtime shut down (then cancelled)
};

struct Report {
  ReportKind kind;
  int loop = -1;        // index of the loop it concerns, or -1
  std::string task;     // the task's name, or its coroutine's symbol, or its address
  std::string message;  // one human-readable line, without a trailing newline
};

// Called from loop threads, the stall monitor and threads that destroy tasks: must be
// thread-safe. The default writes the message to stderr.
using ReportSink = std::function<void(const Report&)>;

[[nodiscard]] const char* to_string(ReportKind kind) noexcept;

}  // namespace weft

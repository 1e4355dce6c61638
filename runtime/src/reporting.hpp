#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "weft/report.hpp"

namespace weft::detail {

class TaskHeader;
class Scheduler;

// "#7@loop1": the 7th task spawned on loop 1 ("#3": the 3rd spawned from outside the loops).
[[nodiscard]] std::string format_task_id(std::uint64_t id);
// "#42 'fetch user'" — the id, and the name when one was given.
[[nodiscard]] std::string describe_task(const TaskHeader& task);

// To `scheduler`'s sink, or when it is null to the default sink (stderr).
void emit_report(const Scheduler* scheduler, const Report& report);

// The tasks still running when shutdown began (asyncio's "Task was destroyed but it is
// pending!"): every one counted, the first kShown described. Not counted: a task cancelled
// before the shutdown began (its owner ended it; it may still be finishing), and a task
// whose end its owner reports (the block_on root, which may be in its last instructions when
// the blocked thread returns; a combinator's child, whose owner is counted).
struct PendingTasks {
  static constexpr std::size_t kShown = 10;
  std::size_t count = 0;
  std::vector<std::string> shown;

  void add_if_pending(const TaskHeader& task);
  void merge(const PendingTasks& other);
};

// One pending_at_shutdown report for them, if there are any.
void report_pending_at_shutdown(const Scheduler* scheduler, const PendingTasks& pending);

}  // namespace weft::detail

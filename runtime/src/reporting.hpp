#pragma once

#include <string>

#include "weft/report.hpp"

namespace weft::detail {

class TaskHeader;
class Scheduler;

// "#42 'fetch user'" — the id, and the name when one was given.
[[nodiscard]] std::string describe_task(const TaskHeader& task);

// To `scheduler`'s sink, or when it is null to the default sink (stderr).
void emit_report(const Scheduler* scheduler, const Report& report);

}  // namespace weft::detail

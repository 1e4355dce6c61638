#pragma once

// The internal entry point of task dumps (weft/task_dump.hpp); task_dump.cpp says how.

#include "weft/task_dump.hpp"

namespace weft::detail {

class Scheduler;

// From any thread, also a loop's: never waits for a loop.
[[nodiscard]] TaskDump take_task_dump(Scheduler& scheduler);

}  // namespace weft::detail

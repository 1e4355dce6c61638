#pragma once

/// @file
/// Everything of weft's runtime layer. See README.md for the asyncio -> weft table.
#include "weft/async_fd.hpp"
#include "weft/current_task.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/loop_info.hpp"
#include "weft/make_task.hpp"
#include "weft/metrics.hpp"
#include "weft/report.hpp"
#include "weft/runtime.hpp"
#include "weft/signal.hpp"
#include "weft/sleep.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"
#include "weft/task_dump.hpp"
#include "weft/to_thread.hpp"
#include "weft/yield.hpp"

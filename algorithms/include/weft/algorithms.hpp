#pragma once

/// @file
/// Everything of weft's algorithms layer: the asyncio toolkit beyond run/spawn/sleep. See
/// README.md for the asyncio -> weft table. (weft/weft.hpp is the runtime layer.)
#include "weft/as_completed.hpp"
#include "weft/async_resource.hpp"
#include "weft/condition.hpp"
#include "weft/event.hpp"
#include "weft/gather.hpp"
#include "weft/gather_settled.hpp"
#include "weft/generator.hpp"
#include "weft/mutex.hpp"
#include "weft/priority_queue.hpp"
#include "weft/queue.hpp"
#include "weft/semaphore.hpp"
#include "weft/settled.hpp"
#include "weft/shield.hpp"
#include "weft/task_group.hpp"
#include "weft/timeout.hpp"
#include "weft/timeout_error.hpp"
#include "weft/wait.hpp"
#include "weft/wait_for.hpp"
#include "weft/when_any.hpp"

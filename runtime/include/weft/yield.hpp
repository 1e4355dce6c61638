#pragma once

#include <coroutine>

#include "weft/detail/require_task.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"

namespace weft {

/// `co_await weft::yield()`: go to the back of this loop's run queue so others run first
/// (asyncio.sleep(0)). Throws CancelledError if the task was asked to stop.
class YieldAwaiter {
 public:
  /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
  bool await_ready() const noexcept { return false; }
  /// Awaiter protocol, called by `co_await` when await_ready() returned false.
  void await_suspend(std::coroutine_handle<> caller) const {
    detail::TaskHeader* self = detail::current_task();
    if (self == nullptr) detail::throw_no_current_task("co_await weft::yield()");
    self->yield_from(caller);
  }
  /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
  /// wait, or throws its error.
  void await_resume() const {
    if (detail::current_task()->take_cancel()) throw CancelledError();
  }
};

/// `co_await weft::yield()`: lets the loop run other tasks first (asyncio.sleep(0)); see
/// YieldAwaiter.
[[nodiscard]] inline YieldAwaiter yield() noexcept { return {}; }

}  // namespace weft

#pragma once

/// @file
/// weft::with_resource: the C++ answer to Python's `async with`. A destructor cannot co_await,
/// so a resource whose release is asynchronous (flush and close a connection, send a goodbye,
/// drain a queue) gets an `aclose()` coroutine, and with_resource guarantees it runs after the
/// body — on success, on exception and on cancellation:
///
///   struct Connection {
///     weft::Task<void> aclose();   // asynchronous clean-up
///     ...
///   };
///   int n = co_await weft::with_resource(co_await open_connection(), [](Connection& c)
///                                            -> weft::Task<int> { co_return co_await c.read(); });
///
/// The close runs as its own task, awaited shielded: a cancel of the caller that arrives
/// while (or before) it closes does not interrupt the close; it is delivered once the close
/// has finished (CancelledError). Keep the body a coroutine that takes the resource by
/// reference: the resource lives in with_resource's frame until the close has ended.
///
/// Errors: with_resource throws what the body threw (or CancelledError if the caller was
/// cancelled, in the body or during the close), unchanged, so a `catch` written for the
/// body's errors, or for cancellation, still catches it. If only the close threw, that is
/// thrown. A close error is never dropped: when something else is thrown, the close's task
/// (named "aclose (with_resource)") ends unretrieved and the runtime reports its exception
/// (ReportKind::unretrieved_exception, on RuntimeOptions::on_report). Python's `async with`
/// raises the __aexit__ error with the body's as its context instead; C++ cannot attach one
/// exception of unknown type to another, and throwing the close error (with the body's
/// nested) would take the body's error away from the handlers written for it.

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {

template <class T>
struct TaskValue;
template <class T>
struct TaskValue<Task<T>> {
  using type = T;
};

template <class R>
Task<void> close_resource(R& resource) {
  co_await resource.aclose();
}

}  // namespace detail

template <class R, class Body>
/// Runs `body(resource)`, then `co_await resource.aclose()` however the body ended; see this
/// file's description.
[[nodiscard]] auto with_resource(R resource, Body body)
    -> Task<typename detail::TaskValue<std::invoke_result_t<Body&, R&>>::type> {
  using Value = typename detail::TaskValue<std::invoke_result_t<Body&, R&>>::type;
  static_assert(!std::is_reference_v<Value>, "with_resource: the body returns a value or void");
  std::exception_ptr error;
  std::optional<std::conditional_t<std::is_void_v<Value>, bool, Value>> result;
  try {
    if constexpr (std::is_void_v<Value>) {
      co_await std::invoke(body, resource);
      result.emplace(true);
    } else {
      result.emplace(co_await std::invoke(body, resource));
    }
  } catch (...) {
    error = std::current_exception();
  }

  JoinHandle<void> closing =
      weft::spawn(detail::close_resource(resource), {.name = "aclose (with_resource)"});
  bool cancelled = false;
  for (;;) {
    try {
      co_await closing.shielded();
      break;
    } catch (const CancelledError&) {
      cancelled = true;  // keep waiting: the close always finishes; the cancel comes after
    }
  }
  if (error || cancelled) {
    // Something else is thrown: drop the handle unretrieved, so the runtime reports the
    // close's exception, if it threw one, instead of it vanishing here.
    closing = JoinHandle<void>{};
    if (error) std::rethrow_exception(error);
    throw CancelledError();
  }
  co_await closing;  // the close's exception, if any, is the outcome
  if constexpr (std::is_void_v<Value>) {
    co_return;
  } else {
    co_return std::move(*result);
  }
}

}  // namespace weft

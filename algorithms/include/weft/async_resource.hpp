#pragma once

// weft::with_resource: the C++ answer to Python's `async with`. A destructor cannot co_await,
// so a resource whose release is asynchronous (flush and close a connection, send a goodbye,
// drain a queue) gets an `aclose()` coroutine, and with_resource guarantees it runs after the
// body — on success, on exception and on cancellation:
//
//   struct Connection {
//     weft::Task<void> aclose();   // asynchronous clean-up
//     ...
//   };
//   int n = co_await weft::with_resource(co_await open_connection(), [](Connection& c)
//                                            -> weft::Task<int> { co_return co_await c.read(); });
//
// The close runs as its own task, awaited shielded: a cancel of the caller that arrives
// while (or before) it closes does not interrupt the close; it is delivered once the close
// has finished (CancelledError). What the body threw wins over what the close threw; if only
// the close threw, that is rethrown. Keep the body a coroutine that takes the resource by
// reference: the resource lives in with_resource's frame until the close has ended.

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

  JoinHandle<void> closing = weft::spawn(detail::close_resource(resource), {.name = "aclose"});
  bool cancelled = false;
  for (;;) {
    try {
      co_await closing.shielded();
      break;
    } catch (const CancelledError&) {
      cancelled = true;  // keep waiting: the close always finishes; the cancel comes after
    }
  }
  try {
    co_await closing;
  } catch (...) {
    if (!error) error = std::current_exception();
  }
  if (error) std::rethrow_exception(error);
  if (cancelled) throw CancelledError();
  if constexpr (std::is_void_v<Value>) {
    co_return;
  } else {
    co_return std::move(*result);
  }
}

}  // namespace weft

#pragma once

/// @file
/// weft::Generator<T>: async iteration (asyncio's async generators). The body co_yields values
/// and may co_await anything a task can (sleep, I/O, joins); the consumer pulls values one by
/// one:
///
///   weft::Generator<int> ticks(int n) {
///     for (int i = 0; i < n; ++i) {
///       co_await weft::sleep(10ms);
///       co_yield i;
///     }
///   }
///   ...
///   auto gen = ticks(5);
///   while (std::optional<int> v = co_await gen.next()) use(*v);
///
/// The generator runs inside the consumer's task: next() runs the body with a plain call and
/// co_yield returns to it (detail::InlineRun: no scheduler round trip, constant stack on every
/// compiler); a body that suspended on the runtime transfers back to the consumer when it
/// yields.
/// So cancelling the consumer cancels the body's current await; the CancelledError unwinds
/// the body (its destructors run) and next() rethrows it. Destroying the Generator — after
/// the last value, or abandoned mid-way — destroys a body suspended at a co_yield, running
/// its locals' destructors. A Generator is move-only and must be used from one task at a time.

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/frame_pool.hpp"
#include "weft/detail/inline_run.hpp"

namespace weft {

template <class T>
/// An asynchronous generator: a coroutine that `co_yield`s values, read with next(); see this
/// file's description.
class [[nodiscard]] Generator {
  static_assert(!std::is_reference_v<T>, "weft::Generator<T>: T is a value type");

 public:
  /// The coroutine's promise (the compiler's hook).
  class promise_type {
   public:
    /// Frames come from weft's frame pool, as Task's do.
    static void* operator new(std::size_t size) { return detail::frame_allocate(size); }
    /// Gives the frame back to the pool.
    static void operator delete(void* p, std::size_t size) noexcept {
      detail::frame_deallocate(p, size);
    }

    /// The Generator that owns this coroutine.
    Generator get_return_object() noexcept {
      return Generator{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    /// The body starts at the first next().
    std::suspend_always initial_suspend() const noexcept { return {}; }

    /// Back to the consumer, which is waiting in next().
    struct ToConsumer {
      /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
      bool await_ready() const noexcept { return false; }
      /// Awaiter protocol, called by `co_await` when await_ready() returned false.
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        promise_type& p = h.promise();
        return p.consumer_run_.hand_back(p.consumer_);
      }
      /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
      /// wait, or throws its error.
      void await_resume() const noexcept {}
    };
    /// Hands the turn back to the consumer, whose next() then gives std::nullopt (or rethrows
    /// what the body threw).
    ToConsumer final_suspend() noexcept {
      current_ = nullptr;
      return {};
    }
    /// The yielded object lives until the body resumes, which happens only in the next
    /// next(): after the consumer moved the value out of it.
    ToConsumer yield_value(T& value) noexcept {
      current_ = std::addressof(value);
      return {};
    }
    /// As the lvalue form.
    ToConsumer yield_value(T&& value) noexcept {
      current_ = std::addressof(value);
      return {};
    }
    /// The body ended.
    void return_void() noexcept {}
    /// Kept for next() to rethrow.
    void unhandled_exception() noexcept { error_ = std::current_exception(); }

   private:
    friend class Generator;
    T* current_ = nullptr;
    std::exception_ptr error_;
    std::coroutine_handle<> consumer_;
    detail::InlineRun consumer_run_;
  };

  /// Takes over `other`'s coroutine; `other` becomes empty.
  Generator(Generator&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  /// Destroys this generator's coroutine, if any, then takes over `other`'s.
  Generator& operator=(Generator&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;
  ~Generator() { reset(); }

  /// What `co_await gen.next()` waits with.
  class NextAwaiter {
   public:
    /// Resumes the body of `h` until its next yield or its end.
    explicit NextAwaiter(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
    bool await_ready() const noexcept { return !handle_ || handle_.done(); }
    /// False (the consumer goes on at once) when the body yielded or ended during the call.
    bool await_suspend(std::coroutine_handle<> consumer) noexcept {
      handle_.promise().consumer_ = consumer;
      return !handle_.promise().consumer_run_.run(handle_);
    }
    /// The next value; std::nullopt once the body has returned. Rethrows what the body threw
    /// (once; afterwards the generator is simply exhausted).
    std::optional<T> await_resume() {
      if (!handle_) return std::nullopt;
      promise_type& p = handle_.promise();
      if (p.error_) std::rethrow_exception(std::exchange(p.error_, nullptr));
      if (handle_.done() || p.current_ == nullptr) return std::nullopt;
      return std::optional<T>(std::move(*p.current_));
    }

   private:
    std::coroutine_handle<promise_type> handle_;
  };

  /// Runs the body to its next co_yield (or its end). Await it from a weft task.
  [[nodiscard]] NextAwaiter next() noexcept { return NextAwaiter{handle_}; }

  /// True once the body has returned (or thrown): next() gives std::nullopt from then on.
  [[nodiscard]] bool done() const noexcept { return !handle_ || handle_.done(); }

 private:
  explicit Generator(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  void reset() noexcept {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  std::coroutine_handle<promise_type> handle_;
};

}  // namespace weft

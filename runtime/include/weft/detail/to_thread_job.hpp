#pragma once

// The machinery of weft::to_thread (weft/to_thread.hpp): the job shared by the awaiting task and
// the pool worker, the slot and job awaiters, and the coroutine that runs them in order.

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/detail/intrusive_list.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"
#include "weft/runtime_export.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {

class ThreadPool;

// What the awaiting task and the pool worker share. Two references: the awaiter's and the
// pool's; whichever side lets go last frees it. In practice the pool lets go before it
// wakes the awaiter, so the result is destroyed on a loop, but neither side relies on it.
class ThreadJob {
 public:
  ThreadJob(const ThreadJob&) = delete;
  ThreadJob& operator=(const ThreadJob&) = delete;

  // On a pool worker: calls the callable and stores its outcome. Never throws.
  virtual void run() noexcept = 0;

  void release() noexcept {
    // acq_rel: the last owner must see the other side's writes (the outcome, the waiter)
    // before destroying them.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Empty (nostopstate) unless the callable takes a std::stop_token. request_stop() is
  // thread-safe: the canceller calls it while the worker reads the token.
  std::stop_source stop{std::nostopstate};
  // Set by the awaiter before the job is submitted; the submission (the pool's enqueue)
  // publishes it to the worker.
  TaskHeader* waiter = nullptr;
  ThreadPool* pool = nullptr;  // set with `waiter`

 protected:
  ThreadJob() = default;
  virtual ~ThreadJob() = default;

 private:
  std::atomic<std::uint32_t> refs_{2};
};

// Counts a job whose outcome nobody took (RuntimeMetrics::to_thread_discarded).
WEFT_RUNTIME_API void count_discarded_job(ThreadJob& job) noexcept;

// The awaiter's reference.
class ThreadJobRef {
 public:
  explicit ThreadJobRef(ThreadJob* job) noexcept : job_(job) {}
  ThreadJobRef(ThreadJobRef&& other) noexcept
      : job_(std::exchange(other.job_, nullptr)),
        submitted_(other.submitted_),
        delivered_(other.delivered_) {}
  ThreadJobRef& operator=(ThreadJobRef&&) = delete;
  ~ThreadJobRef() {
    if (job_ == nullptr) return;
    if (!submitted_) {
      // Never submitted: the pool's reference was never handed over, so drop it too.
      job_->release();
    } else if (!delivered_) {
      // It ran, and its awaiter was cancelled (or its frame destroyed at a forced shutdown,
      // after the job ended: the runtime waits for every job first).
      count_discarded_job(*job_);
    }
    job_->release();
  }
  [[nodiscard]] ThreadJob* get() const noexcept { return job_; }
  [[nodiscard]] bool submitted() const noexcept { return submitted_; }
  void mark_submitted() noexcept { submitted_ = true; }
  void mark_delivered() noexcept { delivered_ = true; }

 private:
  ThreadJob* job_;
  // Only the awaiting task reads or writes these.
  bool submitted_ = false;
  bool delivered_ = false;
};

// A task waiting for a slot: lives in the slot awaiter, linked into the pool's FIFO (see
// thread_pool.hpp for the protocol). Fields other than `task` are guarded by the pool's mutex.
struct ThreadSlotWaiter : IntrusiveListNode<ThreadSlotWaiter> {
  TaskHeader* task = nullptr;
  ThreadPool* pool = nullptr;
  bool granted = false;
};

// `co_await ThreadSlotAwaiter{}` takes one of the runtime's to_thread slots, waiting in FIFO
// order if all are taken; gives the pool that owns the slot. Throws CancelledError (holding
// no slot) if cancelled or if the runtime is shutting down.
class WEFT_RUNTIME_API ThreadSlotAwaiter {
 public:
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> caller);
  ThreadPool* await_resume();

 private:
  enum class State { waiting, taken, cancelled, shutting_down };
  ThreadSlotWaiter waiter_;
  State state_ = State::waiting;
};

// `co_await ThreadJobAwaiter{job}`, holding a slot: submits the job and waits for its end.
// The slot is the job's from here on: the pool frees it when the job ends (or at once if
// the job is never submitted). Throws CancelledError if a cancel was delivered.
class WEFT_RUNTIME_API ThreadJobAwaiter {
 public:
  ThreadJobAwaiter(ThreadPool& pool, ThreadJobRef& job) noexcept : pool_(pool), job_(job) {}
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> caller);
  void await_resume();

 private:
  ThreadPool& pool_;
  ThreadJobRef& job_;
};

// The outcome of a job: empty until the worker stores it, then read once by the awaiter
// after the wake-up (which orders the two).
template <class R>
class ThreadJobImplBase : public ThreadJob {
 public:
  R take() {
    if (outcome_.index() == 2) std::rethrow_exception(std::get<2>(outcome_));
    if constexpr (std::is_void_v<R>) {
      return;
    } else if constexpr (std::is_reference_v<R>) {
      return *std::get<1>(outcome_);
    } else {
      return std::move(std::get<1>(outcome_));
    }
  }

 protected:
  using Stored = std::conditional_t<
      std::is_void_v<R>, std::monostate,
      std::conditional_t<std::is_reference_v<R>, std::remove_reference_t<R>*, R>>;
  std::variant<std::monostate, Stored, std::exception_ptr> outcome_;
};

template <class F, class... Args>
inline constexpr bool takes_stop_token_v = std::is_invocable_v<F, std::stop_token, Args...>;

template <class F, class... Args>
struct ThreadResult {
  using type = std::invoke_result_t<F, Args...>;
};
template <class F, class... Args>
requires takes_stop_token_v<F, Args...>
struct ThreadResult<F, Args...> {
  using type = std::invoke_result_t<F, std::stop_token, Args...>;
};

template <class R, class F, class... Args>
class ThreadJobImpl final : public ThreadJobImplBase<R> {
 public:
  template <class G, class... A>
  explicit ThreadJobImpl(G&& fn, A&&... args)
      : fn_(std::forward<G>(fn)), args_(std::forward<A>(args)...) {
    if constexpr (takes_stop_token_v<F, Args...>) this->stop = std::stop_source();
  }

  void run() noexcept override {
    try {
      if constexpr (std::is_void_v<R>) {
        invoke();
        this->outcome_.template emplace<1>();
      } else if constexpr (std::is_reference_v<R>) {
        this->outcome_.template emplace<1>(std::addressof(invoke()));
      } else {
        this->outcome_.template emplace<1>(invoke());
      }
    } catch (...) {
      this->outcome_.template emplace<2>(std::current_exception());
    }
  }

 private:
  decltype(auto) invoke() {
    // Rvalues, as std::thread passes its copies: the job runs once.
    return std::apply(
        [this](Args&... args) -> R {
          if constexpr (takes_stop_token_v<F, Args...>) {
            return std::invoke(std::move(fn_), this->stop.get_token(), std::move(args)...);
          } else {
            return std::invoke(std::move(fn_), std::move(args)...);
          }
        },
        args_);
  }

  F fn_;
  std::tuple<Args...> args_;
};

// `site` is the user's call of to_thread: reports about this task name it (task.hpp).
template <class R>
Task<R> run_on_thread_pool(ThreadJobRef job, CallSite /*site*/) {
  ThreadPool* pool = co_await ThreadSlotAwaiter{};
  co_await ThreadJobAwaiter{*pool, job};
  co_return static_cast<ThreadJobImplBase<R>*>(job.get())->take();
}

template <class F, class... Args>
Task<typename ThreadResult<std::decay_t<F>, std::decay_t<Args>...>::type> start_to_thread(
    CallSite site, F&& fn, Args&&... args) {
  using R = typename ThreadResult<std::decay_t<F>, std::decay_t<Args>...>::type;
  static_assert(!std::is_rvalue_reference_v<R>,
                "weft::to_thread: a callable returning an rvalue reference would dangle");
  // Built before the (lazy) coroutine starts, so the caller's arguments are copied or moved
  // while they still exist.
  return run_on_thread_pool<R>(
      ThreadJobRef(new ThreadJobImpl<R, std::decay_t<F>, std::decay_t<Args>...>(
          std::forward<F>(fn), std::forward<Args>(args)...)),
      site);
}

}  // namespace detail

}  // namespace weft

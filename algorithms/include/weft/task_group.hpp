#pragma once

/// @file
/// weft::with_task_group / weft::TaskGroup: structured concurrency (asyncio.TaskGroup).
///
///   co_await weft::with_task_group([&](weft::TaskGroup& group) -> weft::Task<void> {
///     for (const auto& url : urls) group.spawn(fetch_into(url, results));
///     weft::ChildHandle<int> n = group.spawn(count_lines(file));  // a child with a result
///     use(co_await n);
///   });
///   // here every child has ended
///
/// The group exists only inside with_task_group, handed to the body by reference: there is
/// no TaskGroup to construct, forget to join or destroy early, and an exception escaping the
/// body cannot skip the join (in C++ a destructor cannot co_await, so a group object that
/// relied on a `co_await group.join()` call would have to abort — or leave children running —
/// whenever an exception went past the join). The body runs as a child of the group too, so
/// a failing sibling can interrupt it, as asyncio cancels the body of an `async with`.
///
/// - group.spawn(task) starts a child (asyncio's create_task) and returns its ChildHandle<T>:
///   `co_await handle` gives the child's value or rethrows its exception, handle.cancel()
///   cancels that child alone, done()/cancelled() say how far it got. The group owns the
///   child's lifetime whether or not the handle is kept: dropping it (the usual thing for a
///   Task<void> child) neither detaches nor cancels anything. The body and the children may
///   spawn more children while the group runs, from any loop.
/// - A child that ends in CancelledError (cancelled through its handle, or one that threw it)
///   is not a failure: the group carries on (asyncio's TaskGroup ignores a cancelled child).
/// - The group ends when the body and every child have ended; with_task_group then returns
///   the body's value.
/// - The first failure (an exception other than CancelledError, from the body or a child)
///   cancels the body and every other child; children spawned after that start cancelled,
///   and their work never runs (asyncio raises RuntimeError from create_task instead; here a
///   child's clean-up may spawn without a new way to fail, and its handle says cancelled).
///   Once all have ended, every such failure — in the order they happened — is thrown
///   together as TaskGroupError.
/// - group.cancel(), or a cancel of the task awaiting with_task_group, cancels the body and
///   every child; after they all ended it comes out as CancelledError (the body was
///   interrupted, so there is no value to return). If there were failures too,
///   TaskGroupError is thrown (nothing is lost); if the awaiting task itself was cancelled,
///   that cancel is then re-armed on it, so its next suspension throws CancelledError: an
///   outside cancel always reaches the owner.
/// - A body that ends in CancelledError by itself (not because the group or the owner was
///   cancelled) propagates it as the group's outcome.
///
/// Memory follows the live children only: a child's node (its result slot and task) is freed
/// as soon as the group has dealt with its end (joined it, kept its failure) and its
/// ChildHandle, if any, is gone. A group that lives as long as a server, with a child per
/// connection, does not grow with the connections it has served.
///
/// Never keep the TaskGroup& beyond the body and its children: spawn() after the group ended
/// throws std::logic_error while the group still exists, and is undefined afterwards. A
/// ChildHandle may outlive the group (and be awaited after it: the child has ended).

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/detail/frame_pool.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"
#include "weft/event.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

/// Every failure of a task group (asyncio's ExceptionGroup), in the order they happened.
class TaskGroupError : public std::exception {
 public:
  /// The group's failures, in the order they happened.
  explicit TaskGroupError(std::vector<std::exception_ptr> errors)
      : errors_(std::move(errors)), what_(describe(errors_)) {}

  /// The failures, in the order they happened.
  [[nodiscard]] const std::vector<std::exception_ptr>& errors() const noexcept { return errors_; }
  /// "weft: 2 task group failures: [1] boom; [2] unknown exception"
  [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }

 private:
  static std::string describe(const std::vector<std::exception_ptr>& errors) {
    std::string out = "weft: " + std::to_string(errors.size()) + " task group failure" +
                      (errors.size() == 1 ? "" : "s") + ":";
    for (std::size_t i = 0; i < errors.size(); ++i) {
      out += (i == 0 ? " [" : "; [") + std::to_string(i + 1) + "] ";
      try {
        std::rethrow_exception(errors[i]);
      } catch (const std::exception& e) {
        out += e.what();
      } catch (...) {
        out += "unknown exception";
      }
    }
    return out;
  }

  std::vector<std::exception_ptr> errors_;
  std::string what_;
};

class TaskGroup;

namespace detail {
class GroupChildBase;
template <class T>
class GroupChild;
}  // namespace detail

/// Runs `body(group)` (a callable returning Task<R>) with a new TaskGroup, waits for the body
/// and every child to end, and returns the body's value. See the top of this file. `site`,
/// defaulted, records the line of the call for reports and task dumps.
template <class Body>
auto with_task_group(Body body, CallSite site = CallSite::here("weft::with_task_group"))
    -> Task<typename std::invoke_result_t<Body&, TaskGroup&>::value_type>;

/// The handle to one child of a TaskGroup (asyncio's Task, as create_task returns it). Unlike
/// a JoinHandle it does not own the child: the group runs and joins it whatever happens to the
/// handle, and a failure of the child is the group's failure. Move-only; use it from one task
/// at a time.
template <class T>
class ChildHandle {
 public:
  ChildHandle() noexcept = default;
  /// Takes over `other`'s child; `other` becomes empty.
  ChildHandle(ChildHandle&& other) noexcept;
  /// Lets go of this handle's child, then takes over `other`'s.
  ChildHandle& operator=(ChildHandle&& other) noexcept;
  ChildHandle(const ChildHandle&) = delete;
  ChildHandle& operator=(const ChildHandle&) = delete;
  ~ChildHandle();

  /// False for an empty handle (default-constructed or moved from).
  [[nodiscard]] bool valid() const noexcept { return child_ != nullptr; }
  /// True once the child has ended: its value, exception or cancellation is there to take.
  [[nodiscard]] bool done() const noexcept;
  /// True once the child has ended in CancelledError.
  [[nodiscard]] bool cancelled() const noexcept;
  /// Cancels this child only; the group goes on (a cancelled child is not a failure). A child
  /// cancelled before it started never runs its work; a running one gets CancelledError at
  /// its next suspension (if it returns without suspending again, its value stands). False if
  /// the child had already ended (asyncio's Task.cancel()).
  bool cancel() noexcept;

  class Awaiter;
  /// `co_await handle`: waits for the child to end, then gives its value or rethrows its
  /// exception (CancelledError if it was cancelled). Like awaiting a JoinHandle, a cancel of
  /// the awaiting task cancels the child too, and the awaiter resumes (with CancelledError)
  /// once the child has ended. The value is taken once; a second await, or a child awaiting
  /// its own handle, throws logic_error.
  Awaiter operator co_await() &;
  /// As the lvalue form.
  Awaiter operator co_await() &&;

 private:
  friend class TaskGroup;
  explicit ChildHandle(detail::GroupChild<T>* child) noexcept : child_(child) {}
  detail::GroupChild<T>* checked_awaitable() const;

  detail::GroupChild<T>* child_ = nullptr;
  bool retrieved_ = false;
};

/// A group of child tasks that ends only once all of them have ended (asyncio.TaskGroup), run
/// by weft::with_task_group; see this file's description.
class TaskGroup {
 public:
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  /// Starts `task` as a child of the group. From inside a weft task (the body, a child, or
  /// any task that has the group while it runs). Dropping the handle is fine: the group still
  /// owns the child.
  /// (No defaulted SpawnOptions, as weft::spawn: g++ 12 would relocate it bitwise inside a
  /// co_await expression.)
  /// `site`, defaulted, records the line of the call for task dumps (weft/task_dump.hpp).
  ChildHandle<void> spawn(Task<void> task, SpawnOptions options,
                          CallSite site = CallSite::here("weft::TaskGroup::spawn")) {
    return spawn_child(std::move(task), std::move(options), site);
  }
  /// As spawn(task, options), without a name.
  ChildHandle<void> spawn(Task<void> task,
                          CallSite site = CallSite::here("weft::TaskGroup::spawn")) {
    return spawn_child(std::move(task), SpawnOptions(), site);
  }
  /// A child with a value: keep the handle to get it.
  template <class T>
  [[nodiscard]] ChildHandle<T> spawn(
      Task<T> task, SpawnOptions options,
      CallSite site = CallSite::here("weft::TaskGroup::spawn")) requires(!std::is_void_v<T>) {
    return spawn_child(std::move(task), std::move(options), site);
  }
  template <class T>
  /// As spawn(task, options), without a name.
  [[nodiscard]] ChildHandle<T> spawn(
      Task<T> task,
      CallSite site = CallSite::here("weft::TaskGroup::spawn")) requires(!std::is_void_v<T>) {
    return spawn_child(std::move(task), SpawnOptions(), site);
  }

  /// Cancels the body and every child; with_task_group then ends in CancelledError (or
  /// TaskGroupError if something failed). From any task; nothing once the group has ended.
  void cancel() noexcept { cancel_all(true); }

  /// Only with_task_group joins a group, and then no child is left. A frame destroyed mid-way
  /// (forced runtime shutdown, already reported by the runtime as shutdown_forced) drops the
  /// group's references to the children it had not dealt with; the runtime still owns and
  /// finishes their tasks.
  ~TaskGroup();

 private:
  template <class Body>
  friend auto with_task_group(Body body, CallSite site)
      -> Task<typename std::invoke_result_t<Body&, TaskGroup&>::value_type>;

  TaskGroup() = default;

  template <class T>
  ChildHandle<T> spawn_child(Task<T> task, SpawnOptions options, CallSite site);
  /// Starts `child`'s task and links it among the live children. Call with mutex_ held.
  template <class T>
  void start_locked(detail::GroupChild<T>& child, Task<T> task, SpawnOptions options,
                    CallSite site);
  /// Cancels the body and every live child, once: a second reason to stop (the owner's cancel
  /// after a failure, or the reverse) must not interrupt a child's clean-up from the first.
  /// Children spawned from now on start cancelled. `requested`: group.cancel(), which makes the
  /// group end in CancelledError.
  void cancel_all(bool requested) noexcept;
  /// The owner is done with `child` (it posted its end): no longer live.
  void unlink(detail::GroupChildBase& child) noexcept;
  /// True (and no more spawns accepted) if every child spawned so far has been dealt with.
  bool close_if_all_ended() noexcept;
  bool cancel_requested() noexcept;

  std::mutex mutex_;
  detail::GroupChildBase* live_ = nullptr;  // the body and the children not yet dealt with
  bool cancelling_ = false;
  bool cancel_requested_ = false;
  bool closed_ = false;
  // The task running with_task_group: task dumps show the children under it.
  std::uint64_t owner_id_ = 0;
  detail::CompletionQueue queue_;
};

// --- detail ----------------------------------------------------------------------------------

namespace detail {

// One child of a group (or its body): how it ended, its task, the event its handle waits on,
// and its links among the group's live children. Reference-counted: one reference is the
// group's, from spawn until the owner has dealt with the child's end; one is its handle's.
class GroupChildBase : public ChildNode {
 public:
  GroupChildBase() = default;
  GroupChildBase(const GroupChildBase&) = delete;
  GroupChildBase& operator=(const GroupChildBase&) = delete;
  virtual ~GroupChildBase() = default;

  // From the frame pool, as the child's task and frames are: a spawn takes no lock and, in
  // the steady state of a long-lived group, no trip to malloc. (The virtual destructor hands
  // the most-derived size to the sized delete.)
  static void* operator new(std::size_t size) { return frame_allocate(size); }
  static void operator delete(void* block, std::size_t size) noexcept {
    frame_deallocate(block, size);
  }

  // The child's exception (ending == error or cancelled), or null.
  [[nodiscard]] virtual std::exception_ptr error() const noexcept = 0;

  // Starting and cancelling meet on one word, so that a child cancelled before it started
  // never runs its work (asyncio: a task cancelled before it first ran never runs), and so
  // that each child gets at most one cancel however many reasons to stop come (its handle,
  // a failure, the owner's cancel, group.cancel()). The wrapper task itself always runs (it
  // is marked reports_own_end: the owner waits for its post), so a cancel before the start
  // only leaves kCancel, which the wrapper finds when it starts and then skips the work; a
  // cancel after the start cancels the task, once. Exactly one of the two sees the other's
  // bit: RMWs on one atomic are totally ordered. Relaxed is enough because no data is
  // published through this word: `task` is set under the group's mutex before the child is
  // linked (cancel_all reads it under that mutex) and before its handle exists (a handle
  // reaches other tasks through their own synchronisation).
  static constexpr std::uint32_t kStarted = 1u << 0;
  static constexpr std::uint32_t kCancel = 1u << 1;
  static constexpr std::uint32_t kEnded = 1u << 2;

  // Before the child is spawned: it will start cancelled.
  void cancel_before_start() noexcept { state_.store(kCancel, std::memory_order_relaxed); }
  // The wrapper's first act. True if the child was cancelled before it started.
  [[nodiscard]] bool begin() noexcept {
    return (state_.fetch_or(kStarted, std::memory_order_relaxed) & kCancel) != 0;
  }
  // False if the child had already ended. Sends the task's cancel at most once.
  bool request_cancel() noexcept {
    const std::uint32_t prev = state_.fetch_or(kCancel, std::memory_order_relaxed);
    if ((prev & (kStarted | kCancel | kEnded)) == kStarted) task.cancel();
    return (prev & kEnded) == 0;
  }
  // The wrapper's last acts before it posts the child: records the ending (from now on a
  // cancel of this child does nothing)...
  void mark_ended(ChildEnding how) noexcept {
    ending = how;
    state_.fetch_or(kEnded, std::memory_order_relaxed);  // only cancel()'s answer reads it
  }
  // ...then wakes the handle (for a failure, the owner does, after cancelling the group).
  void wake_handle() noexcept {
    ended.set();  // its mutex orders `ending` and the slot before done() and the awaiter
  }

  void add_ref() noexcept {
    // Relaxed: a new reference is made from an existing one, which keeps the child alive.
    refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept {
    // acq_rel: the last release must see every other holder's writes before deleting.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  JoinHandle<void> task;  // the wrapper's task: set once, under the group's mutex
  Event ended;            // set when the child's outcome is in its slot
  // Links among the group's live children, under the group's mutex.
  GroupChildBase* live_prev = nullptr;
  GroupChildBase* live_next = nullptr;

 private:
  std::atomic<std::uint32_t> state_{0};
  std::atomic<std::uint32_t> refs_{1};
};

template <class T>
class GroupChild final : public GroupChildBase {
 public:
  [[nodiscard]] std::exception_ptr error() const noexcept override { return slot.error(); }

  Settled<T> slot;
};

// One reference to a child, released when this goes (with_task_group's hold on its body).
class GroupChildRef {
 public:
  explicit GroupChildRef(GroupChildBase* child) noexcept : child_(child) {}
  GroupChildRef(const GroupChildRef&) = delete;
  GroupChildRef& operator=(const GroupChildRef&) = delete;
  ~GroupChildRef() { child_->release(); }

 private:
  GroupChildBase* child_;
};

// The body of every group child's task: runs the work (unless cancelled before it started),
// settles the slot, wakes the handle, then posts the child to the owner — its last touch of
// the child, whose group reference the owner drops only after taking the post.
//
// A failed child's handle is woken by the owner instead, after the failure has cancelled
// the group, as asyncio runs TaskGroup's done-callback before the awaiter's wake-up: a task
// awaiting the failed child's handle inside the group (the body, or a sibling) is then
// itself being cancelled, so it gets CancelledError, not the child's exception, whichever
// loop each runs on. The failure reaches the owner through the group.
template <class T>
Task<void> run_group_child_body(Task<T> task, GroupChild<T>* child, CompletionQueue* queue,
                                std::uint64_t owner_id) {
  // A dump shows the child under the group's owner, whichever task spawned it.
  current_task()->parent_id_.store(owner_id, std::memory_order_relaxed);
  ChildEnding ending = ChildEnding::value;
  {
    Task<T> work = std::move(task);
    if (child->begin()) {
      // Never run: mark it started so destroying it is not reported as "never awaited".
      work.handle().promise().mark_started();
      child->slot.set_error(std::make_exception_ptr(CancelledError()));
      ending = ChildEnding::cancelled;
    } else {
      try {
        if constexpr (std::is_void_v<T>) {
          co_await std::move(work);
          child->slot.emplace_value();
        } else {
          child->slot.emplace_value(co_await std::move(work));
        }
      } catch (const CancelledError&) {
        child->slot.set_error(std::current_exception());
        ending = ChildEnding::cancelled;
      } catch (...) {
        child->slot.set_error(std::current_exception());
        ending = ChildEnding::error;
      }
    }
  }
  child->mark_ended(ending);
  if (ending != ChildEnding::error) child->wake_handle();
  queue->post(*child);
  if (ending == ChildEnding::cancelled) throw ChildCancelled();
}

// The child task, marked (as run_child's) so that the runtime always runs it, even when it is
// cancelled before its first run (at a runtime shutdown): the owner waits for its post.
template <class T>
Task<void> run_group_child(Task<T> task, GroupChild<T>* child, CompletionQueue* queue,
                           std::uint64_t owner_id) {
  // Reports and dumps name the child's own coroutine, not this wrapper.
  const FrameOrigin origin = wrapped_origin(task);
  Task<void> wrapper = run_group_child_body(std::move(task), child, queue, owner_id);
  wrapper.handle().promise().set_origin(origin);
  wrapper.handle().promise().set_reports_own_end();
  return wrapper;
}

// What `co_await child_handle` runs: waits for the child's end; a cancel of the awaiter is
// passed on to the child, and the awaiter still waits for the end (as a JoinHandle does).
template <class T>
Task<T> await_group_child(GroupChild<T>& child, bool& retrieved) {
  bool cancelled = false;
  for (;;) {
    try {
      co_await child.ended.wait();
      break;
    } catch (const CancelledError&) {
      cancelled = true;
      (void)child.request_cancel();
    }
  }
  if (cancelled) throw CancelledError();
  if (retrieved) throw std::logic_error("weft::ChildHandle: result already taken");
  retrieved = true;
  co_return std::move(child.slot).value();
}

}  // namespace detail

// --- ChildHandle ----------------------------------------------------------------------------

template <class T>
ChildHandle<T>::ChildHandle(ChildHandle&& other) noexcept
    : child_(std::exchange(other.child_, nullptr)), retrieved_(other.retrieved_) {}

template <class T>
ChildHandle<T>& ChildHandle<T>::operator=(ChildHandle&& other) noexcept {
  if (this != &other) {
    if (child_ != nullptr) child_->release();
    child_ = std::exchange(other.child_, nullptr);
    retrieved_ = other.retrieved_;
  }
  return *this;
}

template <class T>
ChildHandle<T>::~ChildHandle() {
  if (child_ != nullptr) child_->release();
}

template <class T>
bool ChildHandle<T>::done() const noexcept {
  return child_ != nullptr && child_->ended.is_set();
}

template <class T>
bool ChildHandle<T>::cancelled() const noexcept {
  return done() && child_->ending == detail::ChildEnding::cancelled;
}

template <class T>
bool ChildHandle<T>::cancel() noexcept {
  return child_ != nullptr && child_->request_cancel();
}

/// Owns the coroutine that waits (so the await needs no waiter of its own in the child).
template <class T>
class ChildHandle<T>::Awaiter {
 public:
  /// Awaits `wait`, the coroutine that joins the child.
  explicit Awaiter(Task<T> wait) noexcept : wait_(std::move(wait)) {}
  /// Awaiter protocol, called by `co_await`: true when the wait can end without suspending.
  bool await_ready() const noexcept { return false; }
  /// Awaiter protocol, called by `co_await` when await_ready() returned false.
  bool await_suspend(std::coroutine_handle<> caller) noexcept {
    return typename Task<T>::Awaiter{wait_.handle()}.await_suspend(caller);
  }
  /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
  /// wait, or throws its error.
  decltype(auto) await_resume() { return typename Task<T>::Awaiter{wait_.handle()}.await_resume(); }

 private:
  Task<T> wait_;
};

template <class T>
detail::GroupChild<T>* ChildHandle<T>::checked_awaitable() const {
  if (child_ == nullptr) throw std::logic_error("weft::ChildHandle: awaiting an empty handle");
  if (retrieved_) throw std::logic_error("weft::ChildHandle: result already taken");
  // It would wait for its own end, and the group for it, forever (as JoinHandle refuses).
  const detail::TaskHeader* self = detail::current_task();
  if (self != nullptr && child_->task.id() == self->id_)
    throw std::logic_error("weft::ChildHandle: a child cannot await its own handle");
  return child_;
}

template <class T>
typename ChildHandle<T>::Awaiter ChildHandle<T>::operator co_await() & {
  return Awaiter{detail::await_group_child(*checked_awaitable(), retrieved_)};
}

template <class T>
typename ChildHandle<T>::Awaiter ChildHandle<T>::operator co_await() && {
  return Awaiter{detail::await_group_child(*checked_awaitable(), retrieved_)};
}

// --- TaskGroup ------------------------------------------------------------------------------

template <class T>
ChildHandle<T> TaskGroup::spawn_child(Task<T> task, SpawnOptions options, CallSite site) {
  auto* child = new detail::GroupChild<T>();  // its one reference is the group's
  // Held across weft::spawn so the owner, which unlinks a child under the same mutex before
  // it joins the child's task, never sees a child whose task is not set yet (the child may
  // end on another loop before spawn() returns; its post() takes only the queue's mutex).
  std::lock_guard lock(mutex_);
  if (closed_) {
    delete child;
    throw std::logic_error("weft::TaskGroup::spawn: the group has ended");
  }
  try {
    start_locked(*child, std::move(task), std::move(options), site);
  } catch (...) {
    delete child;
    throw;
  }
  child->add_ref();  // the handle's
  return ChildHandle<T>{child};
}

template <class T>
void TaskGroup::start_locked(detail::GroupChild<T>& child, Task<T> task, SpawnOptions options,
                             CallSite site) {
  if (cancelling_) child.cancel_before_start();
  child.task = weft::spawn(detail::run_group_child(std::move(task), &child, &queue_, owner_id_),
                           std::move(options), site);
  child.live_next = live_;
  if (live_ != nullptr) live_->live_prev = &child;
  live_ = &child;
}

inline void TaskGroup::cancel_all(bool requested) noexcept {
  std::lock_guard lock(mutex_);
  if (closed_) return;  // asyncio: cancelling a group that has exited does nothing
  if (requested) cancel_requested_ = true;
  if (cancelling_) return;
  cancelling_ = true;
  for (detail::GroupChildBase* c = live_; c != nullptr; c = c->live_next) (void)c->request_cancel();
}

inline TaskGroup::~TaskGroup() {
  for (detail::GroupChildBase* c = live_; c != nullptr;) {
    detail::GroupChildBase* next = c->live_next;
    c->release();
    c = next;
  }
}

inline void TaskGroup::unlink(detail::GroupChildBase& child) noexcept {
  std::lock_guard lock(mutex_);
  if (child.live_prev != nullptr) {
    child.live_prev->live_next = child.live_next;
  } else {
    live_ = child.live_next;
  }
  if (child.live_next != nullptr) child.live_next->live_prev = child.live_prev;
  child.live_prev = child.live_next = nullptr;
}

inline bool TaskGroup::close_if_all_ended() noexcept {
  std::lock_guard lock(mutex_);
  if (live_ != nullptr) return false;
  closed_ = true;
  return true;
}

inline bool TaskGroup::cancel_requested() noexcept {
  std::lock_guard lock(mutex_);
  return cancel_requested_;
}

template <class Body>
auto with_task_group(Body body, CallSite site)
    -> Task<typename std::invoke_result_t<Body&, TaskGroup&>::value_type> {
  using R = typename std::invoke_result_t<Body&, TaskGroup&>::value_type;
  TaskGroup group;
  group.owner_id_ = detail::current_task() != nullptr ? detail::current_task()->id_ : 0;
  group.queue_.set_label("weft::with_task_group (its children)");
  // `body` lives in this frame, so a lambda's captures outlive the body's coroutine. Called
  // outside the group's mutex: a plain callable returning a Task may spawn right here.
  Task<R> body_task = body(group);
  // The body is a child like the others (same wrapper, same cancel rules); this frame keeps
  // a reference of its own, as its slot holds the value to return.
  auto* body_child = new detail::GroupChild<R>();
  detail::GroupChildRef body_ref(body_child);
  {
    std::lock_guard lock(group.mutex_);
    group.start_locked(*body_child, std::move(body_task), {}, site);  // if it throws: not linked
    body_child->add_ref();  // the group's, like every child's
  }

  std::vector<std::exception_ptr> failures;
  bool owner_cancelled = false;
  while (!group.close_if_all_ended()) {
    detail::GroupChildBase* ended = nullptr;
    try {
      ended = &static_cast<detail::GroupChildBase&>(co_await group.queue_.next());
    } catch (const CancelledError&) {
      owner_cancelled = true;
      group.cancel_all(false);
      continue;
    }
    // Under the group's mutex: after the spawn that set ended->task.
    group.unlink(*ended);
    // The child posted as its last act; join its task so none is still completing when we
    // return (the join is short: there is nothing left for it to run).
    const bool cancelled_while_joining = co_await detail::join_child(ended->task);
    if (cancelled_while_joining) {
      owner_cancelled = true;
      group.cancel_all(false);
    }
    if (ended->ending == detail::ChildEnding::error) {
      // noexcept: running out of memory while children run must not unwind this frame from
      // under them (they hold pointers into it), so it ends the process instead.
      [&]() noexcept { failures.push_back(ended->error()); }();
      group.cancel_all(false);
      ended->wake_handle();  // after the cancel: see run_group_child_body
    }
    ended->release();  // the group's reference: freed now unless a handle is kept
  }

  if (!failures.empty()) {
    // Deliver both: the failures now, the owner's cancel at its next suspension.
    if (owner_cancelled) detail::current_task()->request_cancel();
    throw TaskGroupError(std::move(failures));
  }
  if (owner_cancelled || group.cancel_requested()) throw CancelledError();
  co_return std::move(body_child->slot).value();
}

}  // namespace weft

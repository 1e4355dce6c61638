#pragma once

// The machinery under every deadline of the toolkit: wait_for, timeout_at and
// weft::timeout's TimeoutScope. One piece of work runs under one DeadlineScope.
//
// The work runs as a child task (a Task is spawned through run_child; a JoinHandle's task
// is already running and a small child awaits it into the same kind of slot). A timer task
// sleeps until the deadline and then *cancels the work* — the scope's single cancel,
// claimed under the scope's mutex, so a timer and a cancel of the owner never both
// interrupt the work's clean-up. The owner waits for the work with a shielded join (a cancel
// of the owner is noted and turned into that single cancel, never passed on twice), then
// cancels and joins the timers. Nothing returns while the work or a timer still runs.
//
// Outcome: the owner cancelled -> CancelledError. The deadline fired and the work ended in
// CancelledError (or never started) -> TimeoutError. Otherwise the work's own value or
// exception (a value it returned after the cancel wins, as in asyncio).
//
// Nesting. asyncio counts cancel requests on the task, so with two scopes that expire
// together only the outermost turns the cancel into TimeoutError. weft's loops run timers
// on different threads: the inner timer may fire, and the inner scope finish, before the
// outer timer has even run. So the decision does not depend on which timer ran first but on
// the deadlines: every scope knows the scopes it runs inside (a registry maps the task that
// runs a scope's work to that scope), and a scope whose deadline fired does *not* claim the
// timeout when an enclosing scope has a deadline no later than its own and that enclosing
// scope's cancel has not yet been delivered and consumed. The enclosing deadline has then
// passed too, so its cancel is certain to reach this task: the inner scope waits for it and
// ends in CancelledError, which the enclosing scope turns into its TimeoutError. Same result
// every time, on any number of loops. Only scopes whose work runs in the enclosing scope's
// own work task are seen (directly, or through awaited Tasks, which run in the same task);
// a scope in a task spawned inside the work (a gather child, say) does not see it and
// decides on its own timer, as before.
//
// Lifetime: the scope, the slot, the node and the queue live in the owner's frame, which
// joins the work and every timer before it goes. Timers touch the scope only while they run.

#include <coroutine>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "weft/detail/child_tasks.hpp"
#include "weft/detail/handle_joins.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/errors.hpp"
#include "weft/join_handle.hpp"
#include "weft/settled.hpp"
#include "weft/sleep.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"
#include "weft/timeout_error.hpp"

namespace weft::detail {

class DeadlineScope;

// Which scope's work each task runs. A global map under one mutex: it is touched twice per
// scope (enter, leave) and once per expired scope, which costs far less than the two task
// spawns every scope already makes; shard it if it ever shows up in a profile.
class ScopeRegistry {
 public:
  static const DeadlineScope* scope_of(const TaskHeader* task) {
    if (task == nullptr) return nullptr;
    std::lock_guard lock(mutex());
    auto it = map().find(task);
    return it == map().end() ? nullptr : it->second;
  }

  // Registers the current task as running `scope`'s work, until destroyed.
  class Entry {
   public:
    explicit Entry(const DeadlineScope* scope) : task_(current_task()) {
      if (task_ == nullptr) return;
      std::lock_guard lock(mutex());
      auto [it, inserted] = map().try_emplace(task_, scope);
      if (!inserted) {  // cannot happen today (one scope's work per task); keep it exact
        previous_ = it->second;
        it->second = scope;
      }
    }
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry() {
      if (task_ == nullptr) return;
      std::lock_guard lock(mutex());
      if (previous_ != nullptr) {
        map()[task_] = previous_;
      } else {
        map().erase(task_);
      }
    }

   private:
    const TaskHeader* task_;
    const DeadlineScope* previous_ = nullptr;
  };

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::unordered_map<const TaskHeader*, const DeadlineScope*>& map() {
    static std::unordered_map<const TaskHeader*, const DeadlineScope*> m;
    return m;
  }
};

// The shared state of one deadline. Every field is under `mutex_`: it is read and written by
// the owner, the work (TimeoutScope's reschedule, expired), the timers and the scopes nested
// inside, on any loop, and each of those touches it a handful of times per scope.
class DeadlineScope {
 public:
  using Deadline = std::optional<Clock::time_point>;  // nullopt: no deadline

  explicit DeadlineScope(Deadline deadline)
      : deadline_(deadline), enclosing_(ScopeRegistry::scope_of(current_task())) {}
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;

  [[nodiscard]] Deadline deadline() const {
    std::lock_guard lock(mutex_);
    return deadline_;
  }
  [[nodiscard]] bool expired() const {
    std::lock_guard lock(mutex_);
    return expired_;
  }
  [[nodiscard]] bool passed(Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    return deadline_ && *deadline_ <= now;
  }

  // From the work: a new deadline (nullopt: none). A deadline already passed expires the
  // scope at once; a later one gets a fresh timer, and the older timers are cancelled (one
  // that fires anyway sees a newer generation and does nothing).
  void reschedule(Deadline deadline) {
    std::lock_guard lock(mutex_);
    if (expired_) throw std::logic_error("weft::TimeoutScope: reschedule after it expired");
    if (closed_) throw std::logic_error("weft::TimeoutScope: reschedule after it ended");
    deadline_ = deadline;
    ++generation_;
    for (JoinHandle<void>& timer : timers_) timer.cancel();  // superseded
    std::erase_if(timers_, [](const JoinHandle<void>& t) { return t.done(); });
    arm_locked();
  }

  // The work cannot start: its deadline passed before it did.
  void expire_unstarted() {
    std::lock_guard lock(mutex_);
    expired_ = true;
    claimed_ = true;
    delivered_ = true;
  }

  // From the owner, once the work is spawned: `cancel` stops it; `queue` is where the owner
  // waits for the work, and where an expiry posts to wake it. Arms the timer
  // unless the work already did (a reschedule) — or expires at once if the deadline passed.
  void start(void (*cancel)(void*), void* target, CompletionQueue& queue) {
    std::lock_guard lock(mutex_);
    cancel_ = cancel;
    target_ = target;
    queue_ = &queue;
    if (claimed_ && !delivered_) deliver_locked();
    if (expired_) queue.post(expiry_node_);
    if (!armed_) arm_locked();
  }

  // The owner was cancelled: the work is cancelled (unless the timer already did it).
  void cancel_for_owner() noexcept {
    std::lock_guard lock(mutex_);
    claim_locked(false);
  }

  // From the timer armed for `generation`: the deadline has come.
  void fire(std::uint64_t generation) noexcept {
    std::lock_guard lock(mutex_);
    if (generation != generation_ || closed_) return;  // superseded, or the work ended
    claim_locked(true);
  }

  // The work has ended: no timer may act any more. Returns the timers, all cancelled, for
  // the owner to join.
  std::vector<JoinHandle<void>> close() noexcept {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (JoinHandle<void>& timer : timers_) timer.cancel();
    return std::move(timers_);
  }

  // True if an enclosing scope will turn this expiry into its own TimeoutError: its
  // deadline is no later than ours (so it has passed too) and its cancel of the task running
  // us is still to come or still pending in `self`. See the top comment.
  [[nodiscard]] bool enclosing_claims_expiry(const TaskHeader& self) const {
    const Deadline mine = deadline();
    if (!mine) return false;
    for (const DeadlineScope* e = enclosing_; e != nullptr; e = e->enclosing_) {
      std::lock_guard lock(e->mutex_);
      if (!e->deadline_ || *e->deadline_ > *mine) continue;
      // Our deadline fired, so e's has passed: unless e has closed (impossible while its
      // work, which runs us, goes on), its timer fires or has fired. Under e's mutex,
      // `delivered_` means its request_cancel has happened; the request is then either still
      // pending on this task or was consumed earlier by the work (which went on anyway: our
      // expiry is then ours).
      if (!e->delivered_ || self.cancel_requested()) return true;
    }
    return false;
  }

 private:
  // A deadline already passed expires at once; a later one gets a timer task.
  void arm_locked();
  void claim_locked(bool by_timer) noexcept {
    if (claimed_) return;
    claimed_ = true;
    expired_ = by_timer;
    if (cancel_ == nullptr) return;  // start() delivers it, and posts the expiry
    deliver_locked();
    if (by_timer) queue_->post(expiry_node_);
  }
  void deliver_locked() noexcept {
    cancel_(target_);
    delivered_ = true;
  }

  mutable std::mutex mutex_;
  ChildNode expiry_node_;  // posted to the owner's queue once the deadline's cancel went out
  Deadline deadline_;
  const DeadlineScope* const enclosing_;  // outlives us: its owner joins the task we run in
  std::uint64_t generation_ = 0;          // bumped by reschedule; older timers do nothing
  std::vector<JoinHandle<void>> timers_;
  void (*cancel_)(void*) = nullptr;
  void* target_ = nullptr;
  CompletionQueue* queue_ = nullptr;
  bool armed_ = false;      // a timer was armed for the work (by start or reschedule)
  bool claimed_ = false;    // the single cancel of the work was decided
  bool expired_ = false;    // ... and it was the deadline's
  bool delivered_ = false;  // ... and it has been requested of the work's task
  bool closed_ = false;     // the work has ended
};

inline Task<void> deadline_timer(DeadlineScope* scope, Clock::time_point at,
                                 std::uint64_t generation) {
  co_await sleep_until(at);
  scope->fire(generation);
}

inline void DeadlineScope::arm_locked() {
  armed_ = true;
  if (!deadline_) return;
  if (*deadline_ <= Clock::now()) {
    claim_locked(true);
    return;
  }
  timers_.push_back(spawn(deadline_timer(this, *deadline_, generation_)));
}

// The work's wrapper inside its child task: registers the task as running `scope`'s work.
template <class T>
Task<T> in_scope(Task<T> work, const DeadlineScope* scope) {
  ScopeRegistry::Entry entry(scope);
  co_return co_await std::move(work);
}

// Drops a Task that must not run, without the never-awaited report: not running it was the
// point (asyncio's wait_for with a timeout <= 0 never starts a coroutine either).
template <class T>
void discard_unstarted(Task<T>& task) noexcept {
  if (!task.valid()) return;
  task.handle().promise().mark_started();
  task = Task<T>();
}

template <class H>
void cancel_handle(void* handle) {
  static_cast<H*>(handle)->cancel();
}

// The scope expired and the work ended in CancelledError: TimeoutError — unless an
// enclosing scope claims the expiry, in which case we wait for its cancel (see the top
// comment) and end in CancelledError.
inline Task<void> throw_expiry(const DeadlineScope& scope) {
  TaskHeader* self = current_task();
  if (self == nullptr || !scope.enclosing_claims_expiry(*self)) throw TimeoutError();
  CompletionQueue never_posted;
  (void)co_await never_posted.next();  // only a cancel ends this wait: it throws
  throw CancelledError();
}

// The common tail: the work child runs (already spawned). Waits for it, then for the timers,
// and gives the outcome.
template <class T>
Task<T> finish_scope(DeadlineScope& scope, CompletionQueue& queue, JoinHandle<void>& work,
                     Settled<T>& slot, const ChildNode& node) {
  // Until the work ends or its single cancel has gone out (the deadline's, or ours for a
  // cancel of this task). Then a shielded join: a later cancel of ours is only noted, so it
  // cannot interrupt the clean-up the first cancel started — and a work child cancelled
  // before its first run, which never posts, is joined all the same.
  bool owner_cancelled = false;
  try {
    (void)co_await queue.next();
  } catch (const CancelledError&) {
    owner_cancelled = true;
    scope.cancel_for_owner();
  }
  owner_cancelled |= co_await join_shielded(work);
  std::vector<JoinHandle<void>> timers = scope.close();
  for (JoinHandle<void>& timer : timers) {
    owner_cancelled |= co_await join_shielded(timer);
  }
  if (owner_cancelled) throw CancelledError();
  // A child that never ran (cancelled before its first run) left the slot empty.
  const bool work_cancelled =
      node.ending == ChildEnding::cancelled || (!slot.has_value() && !slot.has_error());
  if (scope.expired() && work_cancelled) co_await throw_expiry(scope);
  if constexpr (std::is_void_v<T>) {
    slot.value();
  } else {
    co_return std::move(slot).value();
  }
}

// Runs `task` under `scope`. A deadline already passed: the task never starts.
template <class T>
Task<T> run_under(DeadlineScope& scope, Task<T> task) {
  if (scope.passed(Clock::now())) {
    discard_unstarted(task);
    scope.expire_unstarted();
    co_await throw_expiry(scope);
  }
  Settled<T> slot;
  CompletionQueue queue;  // the work's end, or the expiry
  ChildNode node;
  JoinHandle<void> work = spawn(run_child(in_scope(std::move(task), &scope), &slot, &queue, &node));
  std::exception_ptr start_error;
  try {
    scope.start(&cancel_handle<JoinHandle<void>>, &work, queue);
  } catch (...) {  // the timer could not be spawned: stop the work, join it, say why
    start_error = std::current_exception();
    scope.cancel_for_owner();
    work.cancel();
  }
  if (start_error) {
    const bool cancelled = co_await join_shielded(work);
    for (JoinHandle<void>& timer : scope.close()) (void)co_await join_shielded(timer);
    if (cancelled) throw CancelledError();
    std::rethrow_exception(start_error);
  }
  co_return co_await finish_scope(scope, queue, work, slot, node);
}

// Runs an already spawned task under `scope`: a finished one gives its outcome whatever
// the deadline; a running one is cancelled (its own task, through its handle) when the
// deadline passes, and joined.
template <class T>
Task<T> run_under(DeadlineScope& scope, JoinHandle<T> handle) {
  if (!handle.valid()) throw std::logic_error("weft: a timeout on an empty JoinHandle");
  if (handle.done()) co_return co_await handle;
  Settled<T> slot;
  CompletionQueue queue;
  ChildNode node;
  // The collecting child is never cancelled by us (only the handle's task is), so it always
  // runs and always fills the slot.
  JoinHandle<void> work = spawn(run_child(await_handle(&handle), &slot, &queue, &node));
  std::exception_ptr start_error;
  try {
    scope.start(&cancel_handle<JoinHandle<T>>, &handle, queue);
  } catch (...) {
    start_error = std::current_exception();
    scope.cancel_for_owner();
  }
  if (start_error) {
    const bool cancelled = co_await join_shielded(work);
    for (JoinHandle<void>& timer : scope.close()) (void)co_await join_shielded(timer);
    if (cancelled) throw CancelledError();
    std::rethrow_exception(start_error);
  }
  co_return co_await finish_scope(scope, queue, work, slot, node);
}

}  // namespace weft::detail

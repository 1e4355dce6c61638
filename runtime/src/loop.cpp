// The loop: how one thread runs tasks, polls I/O and timers, steals, parks and shuts down.
//
// Each iteration takes one runnable task, in this order:
//   1. the LIFO slot — the first task woken or spawned by the task that ran last on this
//      loop (message passing: the woken task runs next, while its data is hot). The run's
//      later wake-ups and spawns go to the back of the deque, so tasks woken together run
//      in the order they were woken (a Semaphore's releases, a Condition's notify_all:
//      FIFO hand-off, as asyncio's locks give), while a ping-pong or a spawn chain, one
//      wake-up per run, still hands over through the slot. At most 3 in a
//      row while the deque has work, then the slot is demoted to the back of the deque, so
//      two tasks bouncing a message cannot starve the rest of the queue. Thieves leave the
//      slot alone, except when the stall monitor has seen the loop inside one task run for a
//      whole sampling period (5 ms by default): then the slot is exposed and taken;
//   2. every 61st tick the injection queue first, so work from outside is never starved by
//      a busy local queue (61: Tokio's global_queue_interval, a prime so it does not beat
//      with periodic task patterns; the injection queue is checked at least every 61 tasks);
//   3. the local deque (FIFO), then the injection queue (a batch: one share per loop).
// A task runs with a cooperative budget of 128 operations (consume_budget()): an awaiter
// that could complete without suspending suspends through yield once it is spent. I/O also
// charges the bytes it moved (charge_io()): 256 KiB spend the whole budget, so a transfer to
// or from a fast peer yields every 256 KiB instead of every 128 syscalls. A run that ended
// with its budget spent is followed by maintenance before the next task: the yielded task is
// queued again at once, and without the poll a lone busy task would hold off the reactor for
// 61 runs, so the readiness of other sockets (another client's request) would wait for
// 61 budgets of its transfer.
// Every 61 tasks, and whenever the queues are empty, the loop does maintenance: it drains
// its mailboxes (timer cancels, retired fds, tasks of its registry that completed
// elsewhere), fires expired timers and polls epoll without blocking.
//
// Out of work, the loop searches: if fewer than half of the loops are searching, it tries
// to steal half of a victim's deque, victims in random order, then the injection queue. A
// searching loop that finds work stops searching and, if it was the last searcher, wakes
// another loop (idle.hpp). Otherwise it parks: it joins the parked set, re-checks every
// queue (every parking loop does, not only the last searcher: see park()) and blocks in
// epoll_wait with the next timer as the timeout. Another thread wakes it only through
// Parker::unpark(), which writes the eventfd only if the loop is parked. A searcher spins
// briefly before parking while another loop is busy, unless its last spins found nothing
// (then it only probes now and then). Tasks woken by a loop's own epoll poll wake a sibling
// only when they form a backlog (maintenance()): their sockets are watched by this loop, so
// spreading a few of them costs more than it gains.
//
// Simulated time (loop_simulation.cpp): park() jumps the clock to the next timer instead of
// blocking, and with a seed one list picked from at random replaces the LIFO slot and deque.
//
// Invariants:
//   - A task is in at most one run queue and runs on at most one loop at a time (the
//     NOTIFIED/RUNNING protocol in task_header.hpp). A task woken while RUNNING is re-queued
//     by the loop running it, after resume() returns.
//   - Only this thread touches the LIFO slot, the deque's owner end, the timer queue, the
//     registry and the counters' writes. Other threads reach the loop only through the
//     mailboxes, the deque's stealer end and the parker.
//   - A task's registry entry (owner_) is on the loop that spawned it (or the foreign
//     registry); it is unlinked only by that loop, after the task completed — locally
//     right away, from another loop through the remote_completed_ stack.
//
// Shutdown (driven by ~Scheduler): each loop, on first seeing shutting_down(), requests
// cancellation of every task in its registry (loop 0 also the foreign registry), then
// keeps running them. A loop out of work checks quiescent() — every task ever spawned has
// completed — and if so asks all loops to stop. If the grace period ends first, the loops
// stop anyway and the runtime's destructor, with every thread joined, destroys the frames
// that are left (abandon_remaining).

#include "loop.hpp"

#include <sys/prctl.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <exception>
#include <string>

#include "reporting.hpp"
#include "scheduler.hpp"
#include "signal_hub.hpp"
#include "weft/detail/require_task.hpp"
#include "weft/detail/task_deadline.hpp"
#include "weft/errors.hpp"
#include "weft/loop_info.hpp"
#include "weft/report.hpp"

namespace weft::detail {

namespace {

thread_local Loop* tls_loop = nullptr;

constexpr unsigned kMaxLifoStreak = 3;
constexpr std::uint64_t kInjectionInterval = 61;
constexpr std::uint64_t kMaintenanceInterval = 61;
constexpr int kBudget = 128;
// Bytes of I/O per run (guess, tune: the HTTP server's send piece; over loopback 256 KiB
// move in 50-100 us, so a downloader holds a loop for about that long between polls).
constexpr std::size_t kIoAllowance = 256 * 1024;
constexpr std::size_t kMaxInjectedBatch = 64;
// How long a searcher keeps looking before it parks while another loop is busy: about the
// cost of one park/unpark round trip (an eventfd write, an epoll_wait return and the
// context switches), so spinning never costs more than the park it may save.
constexpr std::int64_t kSpinNs = 20'000;
// Spinning pays when work arrives microseconds after a loop runs out (a peer feeding it one
// task at a time) and is pure waste when it does not (an I/O-driven server, whose work comes
// from its own reactor). After kMaxFruitlessSpins spins in a row found nothing, only every
// kSpinProbeInterval-th search spins, which notices when the pattern changes.
constexpr unsigned kMaxFruitlessSpins = 4;
constexpr unsigned kSpinProbeInterval = 16;
// See maintenance(): the smallest batch of I/O wake-ups worth waking a sibling for.
constexpr std::int64_t kIoWakeBacklog = 8;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

Loop* current_loop() noexcept { return tls_loop; }

void require_loop(const char* api) {
  if (tls_loop == nullptr) throw_no_current_task(api);
}

}  // namespace weft::detail

namespace weft {

unsigned current_loop_index() {
  const detail::Loop* loop = detail::tls_loop;
  if (loop == nullptr) detail::throw_no_current_task("weft::current_loop_index");
  return loop->index();
}

unsigned loop_count() {
  detail::Loop* loop = detail::tls_loop;
  if (loop == nullptr) detail::throw_no_current_task("weft::loop_count");
  return loop->scheduler().num_loops();
}

unsigned least_loaded_loop() {
  detail::Loop* here = detail::tls_loop;
  if (here == nullptr) detail::throw_no_current_task("weft::least_loaded_loop");
  detail::Scheduler& scheduler = here->scheduler();
  // Ties stay here: a connection registered on the accepting loop needs no hand-over.
  unsigned best = here->index();
  std::size_t best_fds = here->registered_fds();
  for (unsigned i = 0; i < scheduler.num_loops(); ++i) {
    const std::size_t fds = scheduler.loop(i).registered_fds();
    if (fds < best_fds) {
      best = i;
      best_fds = fds;
    }
  }
  return best;
}

}  // namespace weft

namespace weft::detail {

TaskHeader* current_task() noexcept {
  Loop* loop = tls_loop;
  return loop != nullptr ? loop->current_task() : nullptr;
}

bool consume_budget() noexcept {
  Loop* loop = tls_loop;
  return loop == nullptr || loop->consume_budget();
}

void charge_budget_for_io(std::size_t bytes) noexcept {
  if (Loop* loop = tls_loop) loop->charge_io(bytes);
}

std::int64_t monotonic_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Loop::Loop(Scheduler& scheduler, unsigned index, std::size_t deque_capacity)
    : scheduler_(scheduler),
      index_(index),
      rng_(0x9e3779b9u * (index + 1)),
      simulated_(scheduler.options().simulated_time.has_value()),
      seeded_(simulated_ && scheduler.options().simulated_time->seed.has_value()),
      seed_state_(seeded_ ? *scheduler.options().simulated_time->seed : 0) {
  auto [owner, stealer] = Deque::make(static_cast<std::int64_t>(deque_capacity));
  deque_ = std::move(owner);
  stealer_ = std::move(stealer);
}

Loop::~Loop() = default;

// --- scheduling -------------------------------------------------------------------------

void Loop::push_back(TaskHeader* task) {
  if (seeded_) {
    seeded_ready_.push_back(task);
    return;
  }
  const bool was_empty = deque_.size() == 0;
  deque_.push(task);
  // This loop runs what it queues, so a notification is never needed for liveness, only to
  // put an idle loop to work. The push that makes the deque non-empty notifies (unless a
  // loop is already searching); pushes onto a non-empty deque skip the seq_cst read: the
  // loop notified then, or the searcher it saw, keeps stealing while there is work here,
  // and a searcher that finds work wakes the next loop (idle.hpp).
  if (was_empty && scheduler_.num_loops() > 1) {
    if (dispatching_io_) {
      io_wake_pending_ = true;  // decided once the poll's batch is queued (maintenance)
    } else {
      scheduler_.notify_one();
    }
  }
}

void Loop::schedule_local(TaskHeader* task) {
  if (current_task_ == nullptr || seeded_) {  // woken by I/O, a timer or a mailbox: FIFO
    push_back(task);
    return;
  }
  // Only the run's first wake-up takes the slot; later ones queue behind it, so tasks woken
  // by one run start in wake order (first, then the deque's FIFO). Letting each wake-up
  // displace the previous one ran the last woken first.
  if (lifo_filled_this_run_) {
    push_back(task);
    return;
  }
  lifo_filled_this_run_ = true;
  // The slot is empty here (next_task empties it before every run); the exchange keeps that
  // assumption from ever losing a task. Release publishes the task to a thief that takes an
  // exposed slot (steal_lifo).
  if (TaskHeader* prev = lifo_slot_.exchange(task, std::memory_order_release)) push_back(prev);
}

TaskHeader* Loop::steal_lifo() noexcept {
  // Only a slot exposed by the stall monitor for the run in progress: the owner has been
  // inside one task for at least a monitor period, so the slot would otherwise wait for it.
  const std::uint64_t seq = run_seq_.load(std::memory_order_relaxed);
  if ((seq & 1) == 0 || lifo_exposed_.load(std::memory_order_relaxed) != seq) return nullptr;
  if (lifo_slot_.load(std::memory_order_relaxed) == nullptr) return nullptr;
  // Acquire pairs with the owner's release in schedule_local; the exchange makes the owner
  // and thieves agree on who took the task.
  return lifo_slot_.exchange(nullptr, std::memory_order_acquire);
}

void Loop::expose_lifo(std::uint64_t run_seq) noexcept {
  lifo_exposed_.store(run_seq, std::memory_order_relaxed);
  // The deque too: tasks queued by a poll below kIoWakeBacklog notified nobody.
  if (lifo_slot_.load(std::memory_order_relaxed) != nullptr || has_queued_work())
    scheduler_.notify_one();
}

void Loop::spawn_local(TaskHeader* task) {
  // Ids from a per-loop counter (loop index in the top bits): no shared cache line on the
  // spawn path.
  task->id_ = (static_cast<std::uint64_t>(index_) + 1) << TaskHeader::kIdLoopShift | ++next_id_;
  task->owner_ = this;
  {
    // The registry's reference is the header's second from the start (make_spawned_task).
    const RegistryGuard::OwnerScope changing(registry_guard_);
    registry_.push_front(task);
  }
  spawned_count.add();
  spawned_local_.add();
  if (shutdown_seen_) task->request_cancel();
  // A task that spawns many children without suspending keeps this loop from maintenance,
  // while other loops complete the children and post them back here: free those now and
  // then, so their frames return to this thread's pool and are reused while still in cache
  // instead of piling up until the spawner ends.
  if ((next_id_ & 63) == 0 && remote_completed_.load(std::memory_order_relaxed) != nullptr)
    drain_remote_completions();
  // Like a wake-up: to the LIFO slot, so a task that spawns one child and ends (a chain, a
  // fan-out of one) hands it over without a queue round trip or a thief taking it.
  schedule_local(task);
}

TaskHeader* Loop::take_injected() {
  if (scheduler_.injection_empty()) return nullptr;
  std::array<TaskHeader*, kMaxInjectedBatch> batch{};
  const std::size_t share = std::clamp<std::size_t>(
      scheduler_.injection().size_approx() / scheduler_.num_loops() + 1, 1, kMaxInjectedBatch);
  const std::size_t n = scheduler_.injection().try_dequeue_bulk(batch.data(), share);
  if (n == 0) return nullptr;
  injected_taken_.add(n);
  for (std::size_t i = 1; i < n; ++i) deque_.push(batch[i]);
  if (n > 1 && scheduler_.num_loops() > 1) scheduler_.notify_one();
  return batch[0];
}

TaskHeader* Loop::next_task() {
  if (seeded_) return next_task_seeded();
  TaskHeader* lifo = nullptr;
  // Relaxed: only this thread puts tasks in the slot; a thief may have emptied it.
  if (lifo_slot_.load(std::memory_order_relaxed) != nullptr)
    lifo = lifo_slot_.exchange(nullptr, std::memory_order_relaxed);
  if (lifo != nullptr) {
    // Past the streak the slot's task goes behind the queue, unless the queue is empty:
    // then nobody waits for it to yield the turn (injection and maintenance still come
    // every 61 ticks).
    if (lifo_streak_ < kMaxLifoStreak || deque_.size() == 0) {
      ++lifo_streak_;
      return lifo;
    }
    push_back(lifo);
  }
  lifo_streak_ = 0;
  if (tick_ % kInjectionInterval == 0) {
    if (TaskHeader* t = take_injected()) return t;
  }
  TaskHeader* t = nullptr;
  if (deque_.pop(t)) return t;
  return take_injected();
}

void Loop::run_task(TaskHeader* task) {
  task->begin_run();
  current_task_ = task;
  task->note_run(index_, clock_ns_);
  lifo_filled_this_run_ = false;
  if (!task->body_started_) {
    task->body_started_ = true;
    // asyncio's rule: a task cancelled before it first runs never runs. complete() sees the
    // pending request (with the CLOSED RMW, which decides against a racing request) and
    // ends the task in CancelledError without entering its body. A request that arrives
    // after this load is delivered at the body's first suspension, or at its end.
    if (task->cancel_requested() && !task->root_promise()->reports_own_end()) {
      complete(task, /*body_ran=*/false);
      current_task_ = nullptr;
      return;
    }
  }
  budget_ = kBudget;
  io_allowance_ = kIoAllowance;
  const std::uint64_t seq = run_seq_.load(std::memory_order_relaxed) + 1;  // odd: running
  run_seq_.store(seq, std::memory_order_relaxed);
  task->resume_point().resume();
  run_seq_.store(seq + 1, std::memory_order_relaxed);
  tasks_run_.add();
  // Acquire pairs with flag_stall()'s release: first_seen is the monitor's.
  if (stall_flag_.load(std::memory_order_acquire) == seq) report_stall_end(task);

  if (task->root_done()) {
    // Still "in" the task: a joiner it wakes goes to the LIFO slot, like any wake-up a
    // running task issues (the joiner usually wants the result right away).
    complete(task);
    current_task_ = nullptr;
    return;
  }
  // Still RUNNING, so no other loop runs the task while its deadline scopes are armed here.
  if (task->deadline_unarmed_) TaskDeadline::arm_all(*task);
  task->note_state_change(clock_ns_);  // for dumps: when it began to wait (or was requeued)
  current_task_ = nullptr;
  if (task->end_run()) push_back(task);  // woken while it ran
}

namespace {
bool ended_cancelled(const TaskHeader& task) {
  const std::exception_ptr& e = task.root_promise()->exception();
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
  }
  return false;
}
}  // namespace

void Loop::complete(TaskHeader* task, bool body_ran) {
  // Close the task to cancel requests, and see whether one is pending: one the task never
  // saw (not delivered at a suspension).
  const bool undelivered_cancel = task->close_to_cancel();
  // What an undelivered request means (JoinHandle's top comment):
  //  - the body never ran: the outcome is CancelledError;
  //  - the task cancelled itself and then returned: asyncio's Task.__step, the value is
  //    discarded (an exception it raised is kept);
  //  - another task or thread asked after the task's last wake-up: the task never reached a
  //    suspension where the request could land, and its outcome stands (as a Tokio task
  //    aborted during its last poll). Discarding it would lose what the task took at its
  //    last wake-up (a Queue's item handed to it, say) whenever a cancel from another loop
  //    races with that wake-up; the request is counted as unseen instead.
  // A discarded frame goes now: nothing will ever take what it holds, and its parameters'
  // resources are released at once.
  bool discard = false;
  if (undelivered_cancel && !task->root_promise()->reports_own_end()) {
    discard = !body_ran || (task->self_cancel_pending_ && !task->root_promise()->exception());
    if (body_ran && !task->self_cancel_pending_) cancels_unseen_.add();
  }
  if (discard) {
    task->cancel_delivered_ = true;  // delivered as the outcome: not swallowed
    task->discard_frame();
  }
  const bool cancelled = discard || ended_cancelled(*task);
  const std::uint32_t outcome = TaskHeader::kComplete | (discard ? TaskHeader::kDiscarded : 0u) |
                                (cancelled ? TaskHeader::kEndedCancelled : 0u);
  const std::uint32_t prev = task->mark_complete(outcome);
  if ((prev & TaskHeader::kJoinWaiter) != 0) task->joiner()->wake();
  if (task->cancel_delivered_ && !cancelled) cancels_swallowed_.add();
  if ((prev & TaskHeader::kDetached) != 0 && !discard) {
    if (const std::exception_ptr& e = task->root_promise()->exception()) {
      try {
        std::rethrow_exception(e);
      } catch (const CancelledError&) {
        // A cancelled task ending in CancelledError did what was asked: nothing to report.
      } catch (const std::exception& ex) {
        scheduler_.report(
            {ReportKind::detached_exception, static_cast<int>(index_), describe_task(*task),
             "weft: detached task " + describe_task(*task) + " failed: " + ex.what()});
      } catch (...) {
        scheduler_.report(
            {ReportKind::detached_exception, static_cast<int>(index_), describe_task(*task),
             "weft: detached task " + describe_task(*task) + " failed: unknown exception"});
      }
    }
  }
  completed_count.add();
  if (task->owner_ == this) {
    {
      const RegistryGuard::OwnerScope changing(registry_guard_);
      registry_.unlink(task);
    }
    task->release();
  } else if (task->owner_ != nullptr) {
    task->owner_->post_remote_completion(task);
  } else {
    scheduler_.unlink_foreign(task);
  }
}

// --- mailboxes --------------------------------------------------------------------------

void Loop::post_timer_cancel(TimerNode* node) {
  timer_cancels_.enqueue(node);
  parker_.unpark();
}

void Loop::post_io_retire(IoState* state) {
  io_retired_.enqueue(state);
  parker_.unpark();
}

void Loop::post_remote_completion(TaskHeader* task) noexcept {
  TaskHeader* head = remote_completed_.load(std::memory_order_relaxed);
  do {
    task->remote_next_ = head;
    // Release publishes remote_next_ and the completed task to the owner's exchange.
  } while (!remote_completed_.compare_exchange_weak(head, task, std::memory_order_release,
                                                    std::memory_order_relaxed));
  // No unpark: unlinking is bookkeeping, done at the owner's next maintenance.
}

void Loop::drain_remote_completions() noexcept {
  // Acquire pairs with the pushers' release.
  TaskHeader* t = remote_completed_.exchange(nullptr, std::memory_order_acquire);
  {
    const RegistryGuard::OwnerScope changing(registry_guard_);
    for (TaskHeader* u = t; u != nullptr; u = u->remote_next_) registry_.unlink(u);
  }
  while (t != nullptr) {
    TaskHeader* next = t->remote_next_;  // read before release() may free t
    t->release();
    t = next;
  }
}

void Loop::cancel_timer_here(TimerNode* node) noexcept {
  if (node->is_deadline) {
    timers_.drop_cancelled_deadline(node);
    return;
  }
  TaskHeader* task = node->task;
  const bool removed = timers_.cancel(node);
  task->finish_cancel(removed);
}

bool Loop::drain_mailboxes() {
  bool any = false;
  if (remote_completed_.load(std::memory_order_relaxed) != nullptr) drain_remote_completions();
  TimerNode* node = nullptr;
  while (timer_cancels_.try_dequeue(node)) {
    cancel_timer_here(node);
    any = true;
  }
  IoState* io = nullptr;
  while (io_retired_.try_dequeue(io)) retire_io(io);
  return any;
}

void Loop::add_io(IoState* state) {
  reactor_.add(state->fd, state);
  registered_fds_.fetch_add(1, std::memory_order_relaxed);
}

void Loop::retire_io(IoState* state) noexcept {
  delete state;
  registered_fds_.fetch_sub(1, std::memory_order_relaxed);
}

// --- maintenance, stealing, parking -------------------------------------------------------

void Loop::fire_timers() {
  // Also when empty: the wheel moves its clock on (see fire_expired).
  clock_ns_ = now_ns();
  const std::size_t n = timers_.fire_expired(clock_ns_);
  if (n > 0) timers_fired_.add(n);
}

void Loop::watch_signals(SignalHub& hub) {
  signal_hub_ = &hub;
  reactor_.add(hub.loop_fd(index_), signal_hub_);
}

bool Loop::maintenance(std::int64_t timeout_ns) {
  bool any = drain_mailboxes();
  fire_timers();
  // A loop watching signals polls even with no fd registered, so a busy loop reads them.
  if (registered_fds_.load(std::memory_order_relaxed) > 0 || signal_hub_ != nullptr ||
      timeout_ns != 0) {
    std::uint64_t events = 0;
    dispatching_io_ = true;
    const bool notified = reactor_.poll(timeout_ns, [&](ReadyEvent ev) {
      ++events;
      if (signal_hub_ != nullptr && ev.cookie == signal_hub_) {  // never an IoState's address
        signal_hub_->read_loop_fd(index_);
        return;
      }
      auto* state = static_cast<IoState*>(ev.cookie);
      constexpr std::uint32_t kErr = EPOLLERR | EPOLLHUP;
      if ((ev.events & (EPOLLRDHUP | kErr)) != 0) {
        state->read.set_ready(/*closed=*/true);
      } else if ((ev.events & (EPOLLIN | EPOLLPRI)) != 0) {
        state->read.set_ready();
      }
      if ((ev.events & (EPOLLOUT | kErr)) != 0) state->write.set_ready();
    });
    dispatching_io_ = false;
    // Tasks woken by this loop's own reactor wake a sibling only as a batch of at least
    // kIoWakeBacklog. Their sockets are watched here, so they will be woken here again, and
    // a sibling that steals one of a few finds its next edge back on this loop: at 2 loops a
    // wake per poll cost an eventfd write, a sibling's epoll_wait and its spin — 16% of an
    // echo server's CPU for 1 steal in 25 runs. A backlog is worth sharing. Liveness does not
    // depend on it: this loop runs what it queued, and if it gets stuck in one task the stall
    // monitor wakes a sibling for the deque (expose_lifo).
    if (std::exchange(io_wake_pending_, false) && deque_.size() >= kIoWakeBacklog)
      scheduler_.notify_one();
    if (events > 0) io_events_.add(events);
    any = any || events > 0 || notified;
    if (timeout_ns != 0) {
      any = drain_mailboxes() || any;
      fire_timers();
    }
  }
  return any || has_local_work();
}

TaskHeader* Loop::steal() {
  const unsigned n = scheduler_.num_loops();
  if (!searching_) {
    if (!scheduler_.idle().transition_to_searching()) return nullptr;
    searching_ = true;
  }
  TaskHeader* found = nullptr;
  // Two passes: a victim that made us retry (a lost CAS) still has work.
  for (int pass = 0; pass < 2 && found == nullptr; ++pass) {
    bool retry = false;
    const unsigned start = static_cast<unsigned>(rng_()) % n;
    for (unsigned k = 0; k < n && found == nullptr; ++k) {
      const unsigned victim = (start + k) % n;
      if (victim == index_) continue;
      steal_attempts_.add();
      Loop& other = scheduler_.loop(victim);
      auto r = other.stealer().steal_half_into(deque_);
      if (r.status == StealStatus::success) {
        steals_.add(static_cast<std::uint64_t>(r.count));
        found = r.item;
      } else if (r.status == StealStatus::retry) {
        retry = true;
      } else if ((found = other.steal_lifo()) != nullptr) {
        steals_.add();
      }
    }
    if (found == nullptr) found = take_injected();
    if (!retry) break;
  }
  if (found == nullptr) return nullptr;
  searching_ = false;
  if (scheduler_.idle().transition_from_searching()) scheduler_.notify_one();
  return found;
}

TaskHeader* Loop::spin_for_work() {
  // Only the searcher spins (at most half of the loops), and only while another loop is
  // running tasks that may spawn or wake more: a loop fed one task at a time by a busy peer
  // then takes them without either side paying for an eventfd write and an epoll_wait per
  // task. An idle runtime never spins (no loop is busy), so parked CPU stays at zero.
  if (!searching_ || !scheduler_.idle().others_unparked()) return nullptr;
  if (fruitless_spins_ >= kMaxFruitlessSpins && ++spin_skips_ % kSpinProbeInterval != 0)
    return nullptr;
  const std::int64_t deadline = monotonic_ns() + kSpinNs;
  const unsigned n = scheduler_.num_loops();
  do {
    for (int i = 0; i < 64; ++i) cpu_relax();
    bool seen = !scheduler_.injection_empty();
    for (unsigned v = 0; v < n && !seen; ++v)
      seen = v != index_ && scheduler_.loop(v).has_queued_work();
    if (seen) {
      if (TaskHeader* found = steal()) {
        fruitless_spins_ = 0;
        return found;
      }
    }
    if (scheduler_.shutting_down()) return nullptr;  // the run loop's quiescence check is next
  } while (monotonic_ns() < deadline);
  if (fruitless_spins_ < kMaxFruitlessSpins) ++fruitless_spins_;
  return nullptr;
}

std::int64_t Loop::park_timeout_ns() {
  constexpr std::int64_t kShutdownPoll = 10'000'000;  // 10 ms: see the shutdown steps
  if (timers_.empty()) return scheduler_.shutting_down() ? kShutdownPoll : -1;
  const std::int64_t delta = timers_.next_deadline_ns() - now_ns();
  if (delta <= 0) return 0;
  return scheduler_.shutting_down() ? std::min(delta, kShutdownPoll) : delta;
}

void Loop::park() {
  Idle& idle = scheduler_.idle();
  const bool was_searching = std::exchange(searching_, false);
  // Tokio re-checks only when the last searcher parks; weft re-checks on every park (a
  // few loads, next to a syscall): work queued while this loop decided to park, whose
  // notify saw a searcher (us) or nobody parked yet, must not be stranded.
  (void)idle.transition_to_parked(index_, was_searching);
  if (scheduler_.any_work_queued()) scheduler_.notify_one();
  for (;;) {
    if (scheduler_.stop_requested()) break;
    const std::int64_t timeout = park_timeout_ns();
    if (simulated_ && timeout > 0 && !timers_.empty()) {
      park_simulated();  // the clock jumps instead of the thread blocking
    } else {
      park_for(timeout);
    }
    if (!idle.is_parked(index_)) {  // a notifier took us off the set: we are searching
      searching_ = true;
      return;
    }
    // Simulated: the injection queue too, which park_simulated leaves to the run loop.
    const bool have_work = has_local_work() || (simulated_ && !scheduler_.injection_empty());
    if (have_work || scheduler_.shutting_down()) {
      if (!idle.leave_parked(index_)) searching_ = true;  // raced with a notifier
      return;
    }
    // Spurious: nothing for us. Park again without leaving the set.
  }
  if (!idle.leave_parked(index_)) searching_ = true;
}

void Loop::park_for(std::int64_t timeout_ns) {
  if (parker_.begin_park()) {
    parks_.add();
    scheduler_.loop_parking();
    maintenance(timeout_ns);
    clock_ns_ = now_ns();  // the park may have lasted: tasks it woke start from now
    scheduler_.loop_unparked();
    if (parker_.end_park()) wakeups_.add();
  } else {
    maintenance(0);
  }
}

void Loop::begin_shutdown() {
  shutdown_seen_ = true;
  const bool report_pending = scheduler_.options().report_pending_at_shutdown;
  registry_.for_each([this, report_pending](TaskHeader* t) {
    if (report_pending) pending_at_shutdown_.add_if_pending(*t);
    t->request_cancel();
  });
  if (index_ == 0) scheduler_.cancel_foreign_tasks();
}

void Loop::run() {
  tls_loop = this;
  bind_clock(true);
  clock_ns_ = now_ns();
  // The kernel may delay a thread's timed waits by its timer slack (50 us by default) to
  // batch wake-ups. A loop parks until its earliest timer, so that slack is added to every
  // timer of an idle loop (BUILD_NOTES.md, "Timers"). 1 us leaves the kernel's own wake-up
  // latency; only this thread's waits are affected.
  (void)::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
  for (;;) {
    if (!shutdown_seen_ && scheduler_.shutting_down()) begin_shutdown();
    if (TaskHeader* t = next_task()) {
      if (searching_) {
        // Woken as a searcher, we found work of our own: stop searching, and hand the
        // search on if we were the last one (idle.hpp).
        searching_ = false;
        if (scheduler_.idle().transition_from_searching()) scheduler_.notify_one();
      }
      run_task(t);
      // A spent budget: the task yielded with work left (see the top of the file).
      if (++tick_ % kMaintenanceInterval == 0 || budget_ <= 0) maintenance(0);
      continue;
    }
    ++tick_;
    if (maintenance(0)) continue;
    if (scheduler_.num_loops() > 1) {
      // Out of work of our own: another loop's, found by stealing now or while spinning.
      TaskHeader* found = steal();
      if (found == nullptr) found = spin_for_work();
      if (found != nullptr) {
        run_task(found);
        continue;
      }
    }
    if (scheduler_.stop_requested()) break;
    if (shutdown_seen_ && scheduler_.quiescent()) {
      scheduler_.request_stop();
      break;
    }
    park();
    if (scheduler_.stop_requested()) break;
  }
  if (searching_) {
    searching_ = false;
    (void)scheduler_.idle().transition_from_searching();
  }
  bind_clock(false);
  tls_loop = nullptr;
  scheduler_.loop_exited();
}

bool Loop::has_queued_work() const noexcept { return !stealer_.empty(); }

// --- forced shutdown --------------------------------------------------------------------

void Loop::drain_after_stop() noexcept {
  drain_mailboxes();
  timers_.clear();
  lifo_slot_.store(nullptr, std::memory_order_relaxed);
  seeded_ready_.clear();
  TaskHeader* t = nullptr;
  while (deque_.pop(t)) {
  }
}

void Loop::abandon_remaining() noexcept {
  std::vector<TaskHeader*> left;
  registry_.for_each([&](TaskHeader* task) {
    if (!task->is_complete()) {
      scheduler_.report({ReportKind::shutdown_forced, static_cast<int>(index_),
                         describe_task(*task),
                         "weft: task " + describe_task(*task) +
                             " did not finish within the shutdown grace period after being "
                             "cancelled; its frame was destroyed"});
      left.push_back(task);
    }
  });
  for (TaskHeader* task : left) task->abandon();
}

void Loop::release_registry() noexcept {
  drain_mailboxes();
  const RegistryGuard::OwnerScope changing(registry_guard_);
  registry_.for_each([&](TaskHeader* task) {
    registry_.unlink(task);
    task->release();
  });
}

}  // namespace weft::detail

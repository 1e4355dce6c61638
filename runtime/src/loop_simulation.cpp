// Simulated time (RuntimeOptions::simulated_time; docs/simulated-time.md): the loop's clock,
// its jumps, and the seeded choice of the next task.
//
// The clock. A simulated loop keeps its time in virtual_now_, which starts at 0 and moves
// only in park_simulated(): when the loop has nothing to run, has polled its mailboxes and
// its reactor without waiting, and has timers pending, it sets the clock to the earliest
// deadline and fires what is due. So no time passes while a task runs, however long it
// runs, and none while the loop waits for real I/O: time passes only when everything is
// idle. weft::Clock::now() on the loop's thread reads virtual_now_ through a thread-local
// pointer (bind_clock); any other thread reads CLOCK_MONOTONIC.
//
// What holds the clock. A to_thread job in flight will wake its task from a worker: the
// loop must not jump past timers while that job runs, or the job would appear to take
// however long the next timer is away. The loop then waits for real, a millisecond at a
// time, until the pool is idle. A task spawned from outside is in the injection queue
// before the loop can see it, so a non-empty queue holds the clock as well. Work another
// thread has yet to hand over cannot be seen and does not hold it.
//
// The seeded order. With a seed, every wake-up and spawn goes to one vector
// (seeded_ready_), and next_task_seeded() swaps a pseudo-random element of it with the last
// and takes that: O(1) per task, and the same seed, with the same events, gives the same
// choices. The LIFO slot and the deque stay empty (nothing steals with one loop).

#include <time.h>

#include <algorithm>

#include "loop.hpp"
#include "scheduler.hpp"
#include "thread_pool.hpp"
#include "weft/sleep.hpp"

namespace weft::detail {

namespace {

// Set by a simulated loop's thread for its life: that loop's virtual_now_.
thread_local const std::int64_t* tls_simulated_now = nullptr;

// How often a loop whose clock is held by a to_thread job looks again (real time).
constexpr std::int64_t kHeldPollNs = 1'000'000;

// SplitMix64 (Steele, Lea and Flood, 2014): one add and three multiply-xorshifts per number,
// the same sequence on every platform and standard library, unlike std::uniform_int_distribution.
std::uint64_t next_random(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::int64_t clock_now_ns() noexcept {
  if (const std::int64_t* simulated = tls_simulated_now) return *simulated;
  return monotonic_ns();
}

std::int64_t clock_now_coarse_ns() noexcept {
  if (const std::int64_t* simulated = tls_simulated_now) return *simulated;
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void Loop::bind_clock(bool bind) noexcept {
  if (simulated_) tls_simulated_now = bind ? &virtual_now_ : nullptr;
}

void Loop::park_simulated() {
  // What is there without waiting: mailboxes, timers due, sockets already readable.
  maintenance(0);
  if (has_local_work() || !scheduler_.injection_empty()) return;
  if (scheduler_.thread_pool().busy()) {
    park_for(kHeldPollNs);  // a job's wake-up is on its way: no time passes meanwhile
    return;
  }
  // The pool was idle (seen under its mutex, after the last job's wake-up injected its
  // task), so a wake-up from a job is in the queue by now: look once more.
  if (!scheduler_.injection_empty()) return;
  // The earliest deadline, or the start of the earliest slot of a higher wheel level (the
  // wheel then places that slot's timers lower, and the next park jumps again).
  virtual_now_ = std::max(virtual_now_, timers_.next_deadline_ns());
  virtual_now_published_.store(virtual_now_, std::memory_order_relaxed);
  fire_timers();
}

TaskHeader* Loop::next_task_seeded() {
  TaskHeader* injected = nullptr;
  while (scheduler_.injection().try_dequeue(injected)) {
    injected_taken_.add();
    seeded_ready_.push_back(injected);
  }
  if (seeded_ready_.empty()) return nullptr;
  const std::size_t pick = next_random(seed_state_) % seeded_ready_.size();
  std::swap(seeded_ready_[pick], seeded_ready_.back());
  TaskHeader* task = seeded_ready_.back();
  seeded_ready_.pop_back();
  return task;
}

}  // namespace weft::detail

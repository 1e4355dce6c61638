// Wake-ups under cancellation, many seeded rounds on 1 and 2 loops: a Semaphore's releases
// and a Condition's notifications race with cancels of the waiters at random points (before
// the hand-off, between the hand-off and the waiter's resumption, while a notified waiter
// re-locks). In every round:
//   - no waiter starves: each waiter that was never cancelled gets its permit (or its
//     notification and the ticket behind it) within the round;
//   - permits are conserved: at the end the semaphore has its initial count, nobody waits,
//     and at no time did more tasks hold a permit than there are permits;
//   - notifications are conserved: a notified waiter that is cancelled passes its
//     notification on, so no ticket is left while a waiter still waits, and tickets issued
//     = tickets taken + tickets left.
// A failure prints the seed and the round; WEFT_STRESS_SEED=<seed> replays it.
//
// Size: 10,000 rounds of each kind per loop count; WEFT_STRESS_SCALE shrinks it.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>
#include <weft/condition.hpp>
#include <weft/mutex.hpp>
#include <weft/semaphore.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::CancelledError;
using weft::Condition;
using weft::JoinHandle;
using weft::Mutex;
using weft::Semaphore;
using weft::Task;

std::uint64_t base_seed() {
  if (const char* s = std::getenv("WEFT_STRESS_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

// What one waiter did. Written by its task, read by the driver after joining it.
struct Outcome {
  std::atomic<bool> got{false};        // took a permit / a ticket
  std::atomic<bool> cancelled{false};  // ended by CancelledError
};

// What failed in a round, or empty.
using Failure = std::string;

// Waits (yielding, so the others run) until every handle finished; false if one did not
// within the deadline (a starved waiter), after cancelling the rest so the runtime can end.
Task<bool> join_all(std::vector<JoinHandle<void>>& handles) {
  bool all = true;
  for (auto& h : handles) {
    if (const bool ok = co_await weft::test::co_wait_until([&h] { return h.done(); },
                                                           weft::test::kDeadline, 0ms);
        !ok) {
      all = false;
      break;
    }
  }
  if (!all) {
    for (auto& h : handles) h.cancel();
    for (auto& h : handles) (void)co_await weft::test::co_wait_until([&h] { return h.done(); });
  }
  for (auto& h : handles) {
    if (!h.done()) continue;
    try {
      co_await h;
    } catch (const CancelledError&) {
      // A waiter catches the CancelledError of its wait; this one is the task's own ending:
      // cancelled before it ran, or a cancel still pending when its body returned (asyncio
      // then ends the task cancelled too). Only a waiter the driver cancelled may end so,
      // which the rounds check through `cancelled` and `got`.
    }
  }
  co_return all;
}

// The driver's moves, shuffled: release (or notify) one, or cancel one waiter.
struct Move {
  bool cancel = false;
  std::size_t victim = 0;
};

std::vector<Move> shuffled_moves(std::mt19937_64& rng, std::size_t gifts, std::size_t waiters) {
  std::vector<Move> moves(gifts);
  std::vector<std::size_t> ids(waiters);
  for (std::size_t i = 0; i < waiters; ++i) ids[i] = i;
  std::shuffle(ids.begin(), ids.end(), rng);
  const std::size_t cancels = rng() % waiters;  // never all of them
  for (std::size_t i = 0; i < cancels; ++i) moves.push_back(Move{true, ids[i]});
  std::shuffle(moves.begin(), moves.end(), rng);
  return moves;
}

// --- Semaphore -------------------------------------------------------------------------------

struct Holding {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
};

// Counts a holder in while it lives; declared after the permit guard, so it counts out
// before the permit is released, also when a late cancel unwinds the holder.
class CountedHolder {
 public:
  explicit CountedHolder(Holding& holding) : holding_(holding) {
    // Relaxed: counters only; the semaphore's mutex orders the holders themselves.
    const int now = holding_.now.fetch_add(1, std::memory_order_relaxed) + 1;
    int seen = holding_.max.load(std::memory_order_relaxed);
    while (now > seen &&
           !holding_.max.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
  }
  CountedHolder(const CountedHolder&) = delete;
  CountedHolder& operator=(const CountedHolder&) = delete;
  ~CountedHolder() { holding_.now.fetch_sub(1, std::memory_order_relaxed); }

 private:
  Holding& holding_;
};

Task<void> permit_waiter(Semaphore* sem, Holding* holding, Outcome* out, bool yield_holding) {
  try {
    auto permit = co_await sem->scoped();
    out->got.store(true);
    CountedHolder counted(*holding);
    if (yield_holding) co_await weft::yield();
  } catch (const CancelledError&) {
    out->cancelled.store(true);
  }
}

Task<Failure> semaphore_round(std::mt19937_64& rng) {
  const std::size_t permits = 1 + rng() % 3;
  const std::size_t waiters = permits + 1 + rng() % 4;
  Semaphore sem(permits);
  for (std::size_t i = 0; i < permits; ++i) {
    if (!sem.try_acquire()) co_return "a fresh semaphore refused a permit";
  }
  Holding holding;
  auto outcomes = std::make_unique<Outcome[]>(waiters);
  std::vector<JoinHandle<void>> handles;
  for (std::size_t i = 0; i < waiters; ++i) {
    handles.push_back(weft::spawn(permit_waiter(&sem, &holding, &outcomes[i], rng() % 2 == 0)));
  }
  if (const bool ok = co_await weft::test::co_wait_until([&] { return sem.waiting() == waiters; },
                                                         weft::test::kDeadline, 0ms);
      !ok) {
    co_return "the waiters never queued";
  }
  std::vector<bool> cancelled(waiters, false);
  for (const Move& move : shuffled_moves(rng, permits, waiters)) {
    if (move.cancel) {
      handles[move.victim].cancel();
      cancelled[move.victim] = true;
    } else {
      sem.release();
    }
    if (rng() % 3 == 0) co_await weft::yield();  // let woken waiters run at random points
  }
  if (const bool ok = co_await join_all(handles); !ok)
    co_return "a waiter starved (never got a permit)";
  for (std::size_t i = 0; i < waiters; ++i) {
    if (!cancelled[i] && !outcomes[i].got.load()) {
      co_return "waiter " + std::to_string(i) + " was not cancelled and got no permit";
    }
    if (!cancelled[i] && outcomes[i].cancelled.load()) {
      co_return "waiter " + std::to_string(i) + " got CancelledError uncancelled";
    }
  }
  if (holding.max.load() > static_cast<int>(permits)) co_return "more holders than permits";
  if (sem.available() != permits) {
    co_return "permits not conserved: " + std::to_string(sem.available()) + " of " +
        std::to_string(permits);
  }
  if (sem.waiting() != 0) co_return "a waiter is still queued";
  co_return Failure{};
}

// --- Condition -------------------------------------------------------------------------------

struct Tickets {
  Mutex mutex;
  Condition cond{mutex};
  std::size_t left = 0;  // guarded by mutex
};

Task<void> ticket_waiter(Tickets* t, Outcome* out) {
  try {
    auto guard = co_await t->mutex.lock();
    co_await t->cond.wait(guard, [t] { return t->left > 0; });
    --t->left;
    out->got.store(true);
  } catch (const CancelledError&) {
    out->cancelled.store(true);
  }
}

// A ticket comes with a notify(1), and only a notified waiter looks for one, so each
// notification is either used (a ticket taken) or, by a waiter cancelled after it was
// notified, passed on. Fewer tickets than waiters: once the waiters in transit have settled,
// a ticket may be left only if no waiter waits any more — a ticket left while a waiter
// waits is a notification that was lost. Then the waiters still waiting get a ticket each
// (notify_all), and every waiter that was not cancelled must have one.
Task<Failure> condition_round(std::mt19937_64& rng) {
  const std::size_t waiters = 2 + rng() % 5;
  const std::size_t tickets = 1 + rng() % waiters;
  Tickets t;
  auto outcomes = std::make_unique<Outcome[]>(waiters);
  std::vector<JoinHandle<void>> handles;
  for (std::size_t i = 0; i < waiters; ++i) {
    handles.push_back(weft::spawn(ticket_waiter(&t, &outcomes[i])));
  }
  if (const bool ok = co_await weft::test::co_wait_until(
          [&] { return t.cond.waiting() == waiters; }, weft::test::kDeadline, 0ms);
      !ok) {
    co_return "the waiters never waited";
  }
  std::vector<bool> cancelled(waiters, false);
  for (const Move& move : shuffled_moves(rng, tickets, waiters)) {
    if (move.cancel) {
      handles[move.victim].cancel();
      cancelled[move.victim] = true;
    } else {
      auto guard = co_await t.mutex.lock();
      ++t.left;
      t.cond.notify(1);
    }
    if (rng() % 3 == 0) co_await weft::yield();
  }
  // Settle: every notified waiter takes its ticket or passes the notification on.
  bool settled = false;
  const auto deadline = std::chrono::steady_clock::now() + weft::test::kDeadline;
  while (!settled && std::chrono::steady_clock::now() < deadline) {
    {
      auto guard = co_await t.mutex.lock();
      settled = t.left == 0 || t.cond.waiting() == 0;
    }
    if (!settled) co_await weft::yield();
  }
  std::size_t topped_up = 0;
  {
    auto guard = co_await t.mutex.lock();
    topped_up = t.cond.waiting();
    t.left += topped_up;
    t.cond.notify_all();
  }
  if (const bool ok = co_await join_all(handles); !ok)
    co_return "a waiter never ended after notify_all";
  if (!settled) co_return "a notification was lost: a ticket was left while a waiter waited";
  std::size_t taken = 0;
  for (std::size_t i = 0; i < waiters; ++i) {
    taken += outcomes[i].got.load() ? 1 : 0;
    if (!cancelled[i] && !outcomes[i].got.load()) {
      co_return "waiter " + std::to_string(i) + " was not cancelled and got no ticket";
    }
  }
  if (taken + t.left != tickets + topped_up) co_return "tickets created or destroyed";
  if (t.mutex.locked()) co_return "the mutex was left locked";
  co_return Failure{};
}

// --- the test --------------------------------------------------------------------------------

template <class Round>
void run_rounds(unsigned loops, const char* kind, Round round) {
  const std::size_t rounds = weft::test::scaled(10'000, 200);
  const std::uint64_t seed = base_seed();
  std::size_t failed_round = 0;
  Failure failure;
  auto body = [&]() -> Task<void> {
    for (std::size_t r = 0; r < rounds; ++r) {
      std::mt19937_64 rng(seed ^ (r * 0x9E3779B97F4A7C15ull));
      failure = co_await round(rng);
      if (!failure.empty()) {
        failed_round = r;
        co_return;
      }
    }
  };
  weft::run(body(), weft::test::options(loops));
  EXPECT_TRUE(failure.empty()) << kind << " on " << loops << " loop(s), round " << failed_round
                               << " of " << rounds << ": " << failure
                               << " (replay with WEFT_STRESS_SEED=" << seed << ")";
}

TEST(WakeOrderStress, SemaphoreReleasesRacingCancelsLoseNoPermitAndStarveNoWaiter) {
  for (unsigned loops : {1u, 2u}) run_rounds(loops, "Semaphore", semaphore_round);
}

TEST(WakeOrderStress, ConditionNotifiesRacingCancelsLoseNoNotification) {
  for (unsigned loops : {1u, 2u}) run_rounds(loops, "Condition", condition_round);
}

}  // namespace

#include "timer_queue.hpp"

#include <algorithm>
#include <bit>
#include <new>

#include "weft/detail/frame_pool.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

TimerQueue::~TimerQueue() { clear(); }

TimerNode* TimerQueue::insert(std::int64_t deadline_ns, TaskHeader* task, Loop* home) {
  void* mem = frame_allocate(sizeof(TimerNode));
  auto* node = ::new (mem) TimerNode{deadline_ns, next_sequence_++, task, home};
  link(node);
  return node;
}

TimerNode* TimerQueue::insert_deadline(std::int64_t deadline_ns, TaskHeader* task, Loop* home) {
  TimerNode* node = insert(deadline_ns, task, home);
  node->is_deadline = true;
  return node;
}

void TimerQueue::link(TimerNode* n) noexcept {
  // A past deadline is due now; one beyond the wheel's range waits in the last level, at the
  // slot just before `elapsed_`'s, and is placed again when that slot comes round.
  constexpr std::uint64_t kRange = std::uint64_t{1} << (kSlotBits * kLevels);
  const std::uint64_t tick = std::clamp(tick_of(n->deadline_ns), elapsed_, elapsed_ + (kRange - 1));
  // The lowest level whose 6 bits are the highest in which `tick` and `elapsed_` differ; the
  // last level also takes a tick in the next block of its range (its slot then comes before
  // `elapsed_`'s: see next_due).
  const std::uint64_t differ = (tick ^ elapsed_) | (kSlots - 1);
  const unsigned level =
      std::min((63u - static_cast<unsigned>(std::countl_zero(differ))) / kSlotBits, kLevels - 1);
  const auto slot_index = static_cast<unsigned>((tick >> (kSlotBits * level)) & (kSlots - 1));
  Slot& slot = slots_[level][slot_index];
  n->level = static_cast<std::uint8_t>(level);
  n->slot = static_cast<std::uint8_t>(slot_index);
  n->next = nullptr;
  n->prev = slot.tail;
  if (slot.tail != nullptr) {
    if (level == 0 && earlier(n, slot.tail)) slot.sorted = false;
    slot.tail->next = n;
  } else {
    slot.head = n;
  }
  slot.tail = n;
  occupied_[level] |= std::uint64_t{1} << slot_index;
  n->linked = true;
  ++size_;
}

void TimerQueue::unlink(TimerNode* n) noexcept {
  Slot& slot = slots_[n->level][n->slot];
  if (n->prev != nullptr) {
    n->prev->next = n->next;
  } else {
    slot.head = n->next;
  }
  if (n->next != nullptr) {
    n->next->prev = n->prev;
  } else {
    slot.tail = n->prev;
  }
  if (slot.head == nullptr) {
    occupied_[n->level] &= ~(std::uint64_t{1} << n->slot);
    slot.sorted = true;
  }
  n->prev = n->next = nullptr;
  n->linked = false;
  --size_;
}

bool TimerQueue::next_due(Due& due) const noexcept {
  // The earliest slot start over all levels; on a tie the higher level, so that a slot's
  // nodes join level 0 before that tick fires (and fire in order with the nodes already
  // there). Taking the lowest occupied level instead would let `elapsed_` move into a
  // higher level's slot (by the +1 after a level-0 slot, or the move to `now_tick`) without
  // placing its nodes lower, and level 0 could then hide them for as long as it has timers.
  bool found = false;
  for (unsigned level = 0; level < kLevels; ++level) {
    if (occupied_[level] == 0) continue;
    const unsigned shift = kSlotBits * level;
    const std::uint64_t width = std::uint64_t{1} << shift;
    const std::uint64_t range = width << kSlotBits;
    const std::uint64_t block = elapsed_ & ~(range - 1);
    const auto pos = static_cast<unsigned>((elapsed_ >> shift) & (kSlots - 1));
    // Only the last level wraps: its nodes may lie in the next block of its range, in a
    // slot before `elapsed_`'s, or in `elapsed_`'s own once the wheel is inside that slot
    // (that slot's nodes of this block were placed lower when it began), which then comes
    // last. Every lower level's occupied slots lie at or after `elapsed_`'s, and `elapsed_`
    // enters one only at its start.
    const bool inside_pos = level == kLevels - 1 && block + pos * width < elapsed_;
    const unsigned from = (pos + (inside_pos ? 1 : 0)) & (kSlots - 1);
    const auto first = static_cast<unsigned>(
        std::countr_zero(std::rotr(occupied_[level], static_cast<int>(from))));
    const unsigned slot = (from + first) & (kSlots - 1);
    std::uint64_t start = block + slot * width;
    if (slot < pos || (slot == pos && inside_pos)) start += range;
    start = std::max(start, elapsed_);
    if (!found || start <= due.start_tick) due = Due{level, slot, start};
    found = true;
  }
  return found;
}

std::int64_t TimerQueue::next_deadline_ns() noexcept {
  Due due{};
  if (!next_due(due)) return INT64_MAX;
  if (due.level > 0) return static_cast<std::int64_t>(due.start_tick << kTickShift);
  std::int64_t earliest = INT64_MAX;
  for (TimerNode* n = slots_[0][due.slot].head; n != nullptr; n = n->next)
    earliest = std::min(earliest, n->deadline_ns);
  return earliest;
}

void TimerQueue::sort_slot(Slot& slot) {
  scratch_.clear();
  for (TimerNode* n = slot.head; n != nullptr; n = n->next) scratch_.push_back(n);
  std::sort(scratch_.begin(), scratch_.end(), earlier);
  TimerNode* prev = nullptr;
  for (TimerNode* n : scratch_) {
    n->prev = prev;
    if (prev != nullptr) prev->next = n;
    prev = n;
  }
  prev->next = nullptr;
  slot.head = scratch_.front();
  slot.tail = prev;
  slot.sorted = true;
}

std::size_t TimerQueue::fire_expired(std::int64_t now_ns) {
  const std::uint64_t now_tick = tick_of(now_ns);
  std::size_t fired = 0;
  Due due{};
  while (next_due(due) && due.start_tick <= now_tick) {
    elapsed_ = due.start_tick;
    Slot& slot = slots_[due.level][due.slot];
    if (due.level > 0) {
      // Place the slot's nodes again, relative to its start: each lands lower.
      TimerNode* n = slot.head;
      slot.head = slot.tail = nullptr;
      occupied_[due.level] &= ~(std::uint64_t{1} << due.slot);
      while (n != nullptr) {
        TimerNode* next = n->next;
        --size_;  // link() counts it again
        link(n);
        n = next;
      }
      continue;
    }
    if (!slot.sorted) sort_slot(slot);
    // One at a time from the head: firing may cancel other timers of this queue (a deadline
    // cancelling its task's sleep), which unlinks them wherever they are.
    while (slot.head != nullptr && slot.head->deadline_ns <= now_ns) {
      TimerNode* n = slot.head;
      unlink(n);
      fire(n);
      ++fired;
    }
    if (slot.head != nullptr) break;  // the rest of this tick is not due yet
    // The tick `now_ns` is in is not over: a timer set later in it, for later in it, must go
    // to this slot, not to the next tick's, where it would fire up to a tick late (and a
    // loop parking until its exact deadline would wake, find nothing due and spin until
    // the next tick; under simulated time, whose clock stops at that deadline, forever).
    if (due.start_tick == now_tick) break;
    elapsed_ = due.start_tick + 1;
  }
  // Nothing is due before `now_tick`, so moving there skips only empty slots, and keeps every
  // node's place valid (each is in the same higher-level block as `now_tick`). Without this,
  // a wheel that was empty for a while would place new timers against an old tick: too high.
  elapsed_ = std::max(elapsed_, now_tick);
  return fired;
}

void TimerQueue::fire(TimerNode* node) noexcept {
  if (node->is_deadline) {
    fire_deadline(node);  // its scope frees it
  } else if (node->task->wake() == WakeResult::claimed_by_canceller) {
    ++fired_pending_cancel_;  // the canceller's message frees it
  } else {
    free_node(node);
  }
}

bool TimerQueue::release_deadline(TimerNode* node) noexcept {
  // Only this thread fires the node, so it is either still linked or fully fired.
  const bool fired = !node->linked;
  if (!fired) unlink(node);
  free_node(node);
  return fired;
}

void TimerQueue::drop_cancelled_deadline(TimerNode* node) noexcept {
  if (node->linked) unlink(node);
  free_node(node);
}

void TimerQueue::fire_deadline(TimerNode* node) noexcept {
  DeadlineState expected = DeadlineState::armed;
  // Relaxed: the CAS only decides against the scope's armed -> cancelled; nothing is read
  // through it. If the scope won, its posted node (through the mailbox) is freed there.
  if (!node->deadline_state.compare_exchange_strong(expected, DeadlineState::firing,
                                                    std::memory_order_relaxed))
    return;
  node->task->request_deadline_cancel();
  // Release: the scope that sees `fired` (acquire) may free the node; the request above
  // happened before.
  node->deadline_state.store(DeadlineState::fired, std::memory_order_release);
}

bool TimerQueue::cancel(TimerNode* node) noexcept {
  const bool waiting = node->linked;
  if (waiting) {
    unlink(node);
  } else {
    --fired_pending_cancel_;
  }
  free_node(node);
  return waiting;
}

void TimerQueue::clear() noexcept {
  for (unsigned level = 0; level < kLevels; ++level) {
    for (Slot& slot : slots_[level]) {
      TimerNode* n = slot.head;
      slot = Slot{};
      while (n != nullptr) {
        TimerNode* next = n->next;
        n->linked = false;
        if (n->is_deadline) {
          // Its scope lives in a frame the runtime destroys later (perhaps on no loop at
          // all): it frees the node then, finding it `fired` without any cancel having gone
          // out. (A node whose scope already won, armed -> cancelled, is in a mailbox, which
          // shutdown drained before this.)
          DeadlineState armed = DeadlineState::armed;
          n->deadline_state.compare_exchange_strong(
              armed, DeadlineState::fired, std::memory_order_release, std::memory_order_relaxed);
        } else {
          free_node(n);
        }
        n = next;
      }
    }
    occupied_[level] = 0;
  }
  size_ = 0;
}

void TimerQueue::free_node(TimerNode* n) noexcept {
  n->~TimerNode();
  frame_deallocate(n, sizeof(TimerNode));
}

}  // namespace weft::detail

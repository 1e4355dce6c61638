#include "connection_registry.hpp"

#include <sys/socket.h>

namespace weft::http::detail {

ConnectionRegistry::~ConnectionRegistry() {
  // Every connection removes itself before the server's state goes; anything left is a
  // precondition violation (a Server destroyed while serving) — free what we own.
  while (head_ != nullptr) {
    ConnectionEntry* next = head_->next;
    delete head_;
    head_ = next;
  }
}

void ConnectionRegistry::add_locked(ConnectionEntry* entry) noexcept {
  entry->next = head_;
  if (head_ != nullptr) head_->prev = entry;
  head_ = entry;
  ++size_;
}

void ConnectionRegistry::remove(ConnectionEntry* entry) noexcept {
  JoinHandle<void> task;
  {
    std::lock_guard guard(mutex_);
    if (entry->prev != nullptr) entry->prev->next = entry->next;
    if (entry->next != nullptr) entry->next->prev = entry->prev;
    if (head_ == entry) head_ = entry->next;
    --size_;
    task = std::move(entry->task);
  }
  delete entry;
  // Dropping the handle detaches the (still running) connection task: it is ending anyway.
  std::move(task).detach();
}

void ConnectionRegistry::sweep(std::int64_t now_ns) noexcept {
  std::lock_guard guard(mutex_);
  for (ConnectionEntry* e = head_; e != nullptr; e = e->next) {
    std::int64_t d = e->deadline.load(std::memory_order_acquire);
    if (d > 0 && d <= now_ns &&
        e->deadline.compare_exchange_strong(d, ConnectionEntry::kExpired,
                                            std::memory_order_acq_rel)) {
      // Relaxed: a statistic, read relaxed by Server::stats(). The count precedes the FIN the
      // client reads through program order and the shutdown(2) below, not through an
      // atomic this thread pairs with.
      if (e->timeouts != nullptr) e->timeouts->fetch_add(1, std::memory_order_relaxed);
      ::shutdown(e->fd, SHUT_RDWR);
    }
  }
}

std::size_t ConnectionRegistry::close_idle() noexcept {
  std::lock_guard guard(mutex_);
  for (ConnectionEntry* e = head_; e != nullptr; e = e->next) {
    // Relaxed: a hint for the response in progress ("Connection: close"), read relaxed by
    // append_response. A connection that misses it is still ended: see the loads below.
    e->closing.store(true, std::memory_order_relaxed);
    // The shutdown's half of a Dekker pair: shutdown_state's seq_cst exchange of `stopping`
    // came first, then these seq_cst loads; the connection stores `idle` and arms its
    // deadline (seq_cst), then loads `stopping` (seq_cst; arm_read_deadline, handshake).
    // Either we see the armed idle wait and cut it, or the connection sees `stopping` and
    // ends its keep-alive itself.
    if (!e->idle.load(std::memory_order_seq_cst)) continue;
    std::int64_t d = e->deadline.load(std::memory_order_seq_cst);
    // Only an armed idle wait: a connection that just received bytes disarmed it and will
    // see `closing` or `stopping` after its response. acq_rel, like sweep's CAS: the race
    // with the connection's disarm is decided by the deadline's modification order.
    if (d > 0 && e->deadline.compare_exchange_strong(d, ConnectionEntry::kShutDown,
                                                     std::memory_order_acq_rel))
      ::shutdown(e->fd, e->idle_shutdown_how);
  }
  return size_;
}

void ConnectionRegistry::cut_all() noexcept {
  std::lock_guard guard(mutex_);
  for (ConnectionEntry* e = head_; e != nullptr; e = e->next) {
    // Relaxed: `closing` is a hint (see close_idle), and kShutDown only tells the connection's
    // disarm, through the deadline's modification order, that its wait was cut; neither
    // publishes other data. The shutdown(2) and the cancel end the connection regardless.
    e->closing.store(true, std::memory_order_relaxed);
    e->deadline.store(ConnectionEntry::kShutDown, std::memory_order_relaxed);
    ::shutdown(e->fd, SHUT_RDWR);
    e->task.cancel();
  }
}

std::size_t ConnectionRegistry::size() const noexcept {
  std::lock_guard guard(mutex_);
  return size_;
}

}  // namespace weft::http::detail

#pragma once

/// @file
/// AsyncFd: a non-blocking file descriptor registered once, edge-triggered, with the epoll
/// reactor of the loop that created it (its home loop). Any task on any loop may wait on it:
/// readiness is recorded in the fd's state by the home loop and the waiting task is woken
/// wherever it runs. One task at a time may wait for each direction (read, write).
///
///   weft::AsyncFd in(pipe_read_end);
///   std::array<std::byte, 4096> buf;
///   std::size_t n = co_await in.read_some(buf);   // 0 at end of file
///
/// Or at the readiness level, for code that drives its own syscalls:
///   auto ready = co_await weft::readable(in);
///   ... \::read(in.fd(), ...) == -1 && errno == EAGAIN -> in.clear_readable(ready);
///
/// The destructor deregisters and closes the fd; no task may be waiting on it then.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <span>

#include "weft/runtime_export.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
struct IoState;
}

/// What a readiness wait saw: pass it back to clear_readable/clear_writable after EAGAIN.
struct Readiness {
  /// The fd's readiness count when the wait ended; compared by clear_readable/clear_writable.
  std::uint32_t tick = 0;
};

/// What `co_await fd.readable()` and `co_await fd.writable()` wait with; gives a Readiness.
class WEFT_RUNTIME_API ReadinessAwaiter {
 public:
  /// Waits on `state`'s read side, or its write side if `write`.
  ReadinessAwaiter(detail::IoState* state, bool write) noexcept : state_(state), write_(write) {}
  /// Awaiter protocol, called by `co_await`; the wait throws CancelledError if the task is
  /// cancelled while waiting.
  bool await_ready() noexcept;
  /// Awaiter protocol, called by `co_await` when await_ready() returned false.
  bool await_suspend(std::coroutine_handle<> caller);
  /// Awaiter protocol, called by `co_await` as the task goes on: gives the outcome of the
  /// wait, or throws its error.
  Readiness await_resume();

 private:
  detail::IoState* state_;
  bool write_;
};

/// A file descriptor registered with a loop's reactor (epoll, edge-triggered); see this file's
/// description.
class WEFT_RUNTIME_API AsyncFd {
 public:
  /// Takes ownership of `fd`, makes it non-blocking and registers it with the current loop.
  /// Must be called from inside a weft task.
  explicit AsyncFd(int fd);
  /// Registers with loop `home_loop` (< weft::loop_count()) of the current runtime instead:
  /// its reactor sees the fd's edges, and a task woken by them runs there. A server spreads
  /// its listeners (and so its connections) over the loops this way.
  AsyncFd(int fd, unsigned home_loop);
  /// Takes over `other`'s registration; `other` becomes empty.
  AsyncFd(AsyncFd&& other) noexcept;
  /// Closes this one's fd, then takes over `other`'s registration; `other` becomes empty.
  AsyncFd& operator=(AsyncFd&& other) noexcept;
  AsyncFd(const AsyncFd&) = delete;
  AsyncFd& operator=(const AsyncFd&) = delete;
  ~AsyncFd();

  /// The file descriptor; -1 once closed or moved from.
  [[nodiscard]] int fd() const noexcept;
  /// False once closed or moved from.
  [[nodiscard]] bool valid() const noexcept { return state_ != nullptr; }

  /// Waits until the fd is readable (or a readiness seen earlier was not cleared).
  [[nodiscard]] ReadinessAwaiter readable() noexcept { return {state_, false}; }
  /// Waits until the fd is writable (or a readiness seen earlier was not cleared).
  [[nodiscard]] ReadinessAwaiter writable() noexcept { return {state_, true}; }
  /// The index of the loop whose reactor watches this fd.
  [[nodiscard]] unsigned home_loop() const noexcept;

  /// After EAGAIN: forget the readiness seen at `seen`, unless a newer edge arrived since.
  /// For a stream socket or a pipe, a read that returned less than it asked for (but not 0)
  /// emptied the receive buffer too: clear_readable then saves the EAGAIN syscall. An end of
  /// stream (or error) reported with that edge is kept, so the next read still sees it.
  void clear_readable(Readiness seen) noexcept;
  /// As clear_readable, for the write side.
  void clear_writable(Readiness seen) noexcept;

  /// Reads what is available (at least 1 byte, waiting if none); 0 means end of file.
  /// Throws std::system_error on errors. Cancellable while waiting.
  [[nodiscard]] Task<std::size_t> read_some(std::span<std::byte> buffer);
  /// Writes some bytes (at least 1, waiting for room if none).
  [[nodiscard]] Task<std::size_t> write_some(std::span<const std::byte> buffer);
  /// Writes every byte.
  [[nodiscard]] Task<void> write_all(std::span<const std::byte> buffer);

  /// Deregisters and closes now (the destructor does the same).
  void close() noexcept;

 private:
  detail::IoState* state_ = nullptr;
};

/// `co_await weft::readable(fd)`: the same as `co_await fd.readable()`.
[[nodiscard]] inline ReadinessAwaiter readable(AsyncFd& fd) noexcept { return fd.readable(); }
/// `co_await weft::writable(fd)`: the same as `co_await fd.writable()`.
[[nodiscard]] inline ReadinessAwaiter writable(AsyncFd& fd) noexcept { return fd.writable(); }

}  // namespace weft

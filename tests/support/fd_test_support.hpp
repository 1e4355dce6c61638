#pragma once

// What the fd and socket tests share: pipes and socketpairs (close-on-exec), bytes <-> strings, a
// read of an exact length, and an observed readiness wait that records whether it really
// suspended.

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <span>
#include <string>
#include <system_error>
#include <weft/weft.hpp>

namespace weft::test {

inline std::array<int, 2> make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category());
  return fds;
}

inline std::array<int, 2> make_socketpair() {
  std::array<int, 2> fds{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0)
    throw std::system_error(errno, std::system_category());
  return fds;
}

inline std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s));
}

inline std::string to_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// Reads until `n` bytes arrived (or EOF).
inline Task<std::string> read_exactly(weft::AsyncFd& fd, std::size_t n) {
  std::string out;
  std::array<std::byte, 256> buffer{};
  while (out.size() < n) {
    const std::size_t got =
        co_await fd.read_some(std::span(buffer).first(std::min(buffer.size(), n - out.size())));
    if (got == 0) break;
    out += to_string(std::span(buffer).first(got));
  }
  co_return out;
}

// What a readiness wait under observation went through. A round that checks "no spurious
// wake-up" proves something only if the reader really was suspended in its wait when the
// detection window ran and the write came; one that was merely about to wait (or was
// descheduled before it) would pass vacuously. So the writer checks blocked() right before
// it writes, and the test requires it.
struct WaitProbe {
  std::atomic<bool> suspended{false};  // await_suspend returned true: the task left its loop
  std::atomic<bool> resumed{false};    // the wait returned (woken, or it never suspended)
  [[nodiscard]] bool blocked() const { return suspended.load() && !resumed.load(); }
};

// weft::readable/writable, recording into a WaitProbe.
class ObservedWait {
 public:
  ObservedWait(weft::ReadinessAwaiter inner, WaitProbe* probe) noexcept
      : inner_(inner), probe_(probe) {}
  bool await_ready() noexcept { return inner_.await_ready(); }
  bool await_suspend(std::coroutine_handle<> caller) {
    WaitProbe* probe = probe_;  // once suspended, the task may resume elsewhere: `this` too
    const bool suspended = inner_.await_suspend(caller);
    if (suspended) probe->suspended.store(true);
    return suspended;
  }
  weft::Readiness await_resume() {
    probe_->resumed.store(true);
    return inner_.await_resume();
  }

 private:
  weft::ReadinessAwaiter inner_;
  WaitProbe* probe_;
};

}  // namespace weft::test

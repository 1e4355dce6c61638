#include "reactor.hpp"

#include "sanitizers.hpp"
#if defined(WEFT_TSAN)
#include <sanitizer/tsan_interface.h>
#endif

#include <sys/eventfd.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace weft::detail {

Reactor::Reactor()
    : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!epoll_.valid()) throw std::system_error(errno, std::system_category(), "epoll_create1");
  if (!wake_.valid()) throw std::system_error(errno, std::system_category(), "eventfd");
  // Level-triggered: a pending wake-up is seen by every poll until drained, so it cannot be
  // lost between the edge and the read.
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) != 0)
    throw std::system_error(errno, std::system_category(), "epoll_ctl(eventfd)");
}

// TSan orders epoll_ctl before the epoll_wait that reports the fd (its interceptors release
// and acquire on the epoll instance), which is how a state registered by one loop is seen
// complete by the loop that polls it. It does not intercept epoll_pwait2, so weft states
// that edge itself, on the same object.
void Reactor::announce_registration() noexcept {
#if defined(WEFT_TSAN)
  __tsan_release(this);
#endif
}

void Reactor::observe_registrations() noexcept {
#if defined(WEFT_TSAN)
  __tsan_acquire(this);
#endif
}

void Reactor::add(int fd, void* cookie) {
  announce_registration();
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = cookie;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
    throw std::system_error(errno, std::system_category(), "epoll_ctl(ADD)");
}

void Reactor::remove(int fd) noexcept {
  // ENOENT/EBADF are fine: the fd was never added or is already closed.
  (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void Reactor::notify() noexcept {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: a wake-up is pending anyway.
  (void)!::write(wake_.get(), &one, sizeof one);
}

int Reactor::wait(std::int64_t timeout_ns) noexcept {
  // epoll_pwait2 takes the timeout in nanoseconds: a 1 ms sleep on an idle loop wakes at its
  // deadline, where epoll_wait's whole milliseconds, rounded up so as never to wake early,
  // made it up to 1 ms late. Kernels before 5.11 lack it (ENOSYS): then milliseconds.
  static std::atomic<bool> has_pwait2{true};
  for (;;) {
    int n = -1;
    if (has_pwait2.load(std::memory_order_relaxed)) {
      timespec ts{};
      ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
      n = ::epoll_pwait2(epoll_.get(), events_.data(), static_cast<int>(events_.size()),
                         timeout_ns < 0 ? nullptr : &ts, nullptr);
      if (n < 0 && errno == ENOSYS) {
        has_pwait2.store(false, std::memory_order_relaxed);  // any thread may see it first
        continue;
      }
    } else {
      const std::int64_t ms =
          timeout_ns < 0 ? -1 : std::min<std::int64_t>((timeout_ns + 999'999) / 1'000'000, 1 << 30);
      n = ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()),
                       static_cast<int>(ms));
    }
    if (n >= 0) {
      if (n > 0) observe_registrations();
      return n;
    }
    if (errno != EINTR) return 0;
    if (timeout_ns == 0) return 0;
  }
}

void Reactor::drain_notify() noexcept {
  std::uint64_t value = 0;
  (void)!::read(wake_.get(), &value, sizeof value);
}

}  // namespace weft::detail

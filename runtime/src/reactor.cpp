#include "reactor.hpp"

#include <sys/eventfd.h>

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

void Reactor::add(int fd, void* cookie) {
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

int Reactor::wait(int timeout_ms) noexcept {
  for (;;) {
    const int n =
        ::epoll_wait(epoll_.get(), events_.data(), static_cast<int>(events_.size()), timeout_ms);
    if (n >= 0) return n;
    if (errno != EINTR) return 0;
    if (timeout_ms == 0) return 0;
  }
}

void Reactor::drain_notify() noexcept {
  std::uint64_t value = 0;
  (void)!::read(wake_.get(), &value, sizeof value);
}

}  // namespace weft::detail

#include "dump_on_signal.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>

#include "reporting.hpp"
#include "scheduler.hpp"
#include "task_dump.hpp"
#include "weft/detail/sigpipe.hpp"

namespace weft::detail {

DumpOnSignal::DumpOnSignal(Scheduler& scheduler, int signal_fd)
    : scheduler_(scheduler),
      signal_fd_(signal_fd),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!wake_fd_.valid())
    throw std::system_error(errno, std::system_category(),
                            "weft::RuntimeOptions::dump_signal: eventfd");
  // Started by the Scheduler's constructor, after the SignalHub blocked the runtime's signals
  // on the constructing thread: this thread inherits the mask, so the dump signal stays
  // pending for the signalfd instead of running a handler here.
  thread_ = std::thread([this] { run(); });
}

DumpOnSignal::~DumpOnSignal() {
  // Release pairs with run()'s acquire load after the eventfd wakes it.
  stop_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  (void)::write(wake_fd_.get(), &one, sizeof one);
  thread_.join();
}

void DumpOnSignal::request(void* self) noexcept {
  const std::uint64_t one = 1;
  (void)::write(static_cast<DumpOnSignal*>(self)->wake_fd_.get(), &one, sizeof one);
}

void DumpOnSignal::run() {
  block_sigpipe_in_this_thread();  // as every thread of weft's: weft/detail/sigpipe.hpp
  std::array<pollfd, 2> fds{pollfd{signal_fd_, POLLIN, 0}, pollfd{wake_fd_.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    unsigned dumps = 0;
    std::array<signalfd_siginfo, 8> infos{};
    for (;;) {  // read the signalfd to empty: each signal read is one dump
      const ssize_t n = ::read(signal_fd_, infos.data(), sizeof infos);
      if (n <= 0) break;
      dumps += static_cast<unsigned>(static_cast<std::size_t>(n) / sizeof(signalfd_siginfo));
    }
    std::uint64_t requests = 0;
    if (::read(wake_fd_.get(), &requests, sizeof requests) == sizeof requests)
      dumps += static_cast<unsigned>(requests);
    if (stop_.load(std::memory_order_acquire)) return;
    for (unsigned i = 0; i < dumps; ++i) {
      try {
        std::string text = take_task_dump(scheduler_).text();
        if (!text.empty() && text.back() == '\n') text.pop_back();
        scheduler_.report({ReportKind::task_dump, -1, std::string(), std::move(text)});
      } catch (...) {
        // Out of memory for the dump: nothing to report it with either. The next signal tries
        // again.
      }
    }
  }
}

}  // namespace weft::detail

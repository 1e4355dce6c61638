// The cooperative budget holds for I/O: a task that moves data through a socket that never
// makes it wait (a fast reader, a large buffer) still lets the other tasks of its loop run
// every 256 KiB, because I/O charges the bytes it moved, not one unit per call.
//
// What users rely on: one client downloading a large static file at full speed does not
// hold a loop for the whole download; the other clients of that loop are answered between
// its pieces. The property is checked structurally, on one loop: another task runs while
// the transfer is still in progress, and how many bytes the transfer had moved by then.
// The peer leaves the bytes in its socket until then, so the sender never has to wait for
// it: without the byte charge the send ran to its end in one run, however large.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <weft/io/unix_stream.hpp>
#include <weft/weft.hpp>

#include "http_server_test_support.hpp"

namespace {

using weft::test::TempDir;

constexpr std::size_t kIoAllowance = 256 * 1024;  // runtime/src/loop.cpp
constexpr std::size_t kTransfer = 1 << 20;        // four allowances

// A connected Unix stream pair whose sending side may queue the whole transfer: the
// receiver reads nothing until the watcher task has looked, so the sender never waits.
// Owns both ends until an AsyncFd takes one (take_sender / take_receiver).
class SocketPair {
 public:
  SocketPair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
      throw std::system_error(errno, std::system_category(), "socketpair");
    sender_ = fds[0];
    receiver_ = fds[1];
    const int size = 8 << 20;  // the kernel caps it at net.core.wmem_max
    ::setsockopt(sender_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  ~SocketPair() {
    if (sender_ >= 0) ::close(sender_);
    if (receiver_ >= 0) ::close(receiver_);
  }
  [[nodiscard]] int sender() const noexcept { return sender_; }
  int take_sender() noexcept { return std::exchange(sender_, -1); }
  int take_receiver() noexcept { return std::exchange(receiver_, -1); }

 private:
  int sender_ = -1;
  int receiver_ = -1;
};

class FileFd {
 public:
  explicit FileFd(const std::filesystem::path& path)
      : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::system_category(), "open");
  }
  FileFd(const FileFd&) = delete;
  FileFd& operator=(const FileFd&) = delete;
  ~FileFd() { ::close(fd_); }
  [[nodiscard]] int get() const noexcept { return fd_; }

 private:
  int fd_;
};

// Bytes queued in `fd`'s receive buffer.
std::size_t queued(int fd) {
  int n = 0;
  if (::ioctl(fd, FIONREAD, &n) != 0) throw std::system_error(errno, std::system_category());
  return static_cast<std::size_t>(n);
}

// Runs `send` (which sets *started just before its transfer) beside a watcher on one loop;
// returns how many bytes had reached the receiver when the watcher first ran after the
// transfer began. The watcher then reads everything, so `send` always finishes.
template <class Send>
std::size_t bytes_sent_before_another_task_ran(Send send, std::size_t total) {
  return weft::run(
      [](Send body, std::size_t expected) -> weft::Task<std::size_t> {
        SocketPair pair;
        weft::io::UnixStream sender{weft::AsyncFd(pair.take_sender())};
        weft::io::UnixStream receiver{weft::AsyncFd(pair.take_receiver())};
        bool started = false;
        std::size_t seen = 0;
        auto watcher = weft::spawn([](bool& go, weft::io::UnixStream& in, std::size_t& out,
                                      std::size_t want) -> weft::Task<void> {
          while (!go) co_await weft::yield();
          out = queued(in.native_handle());
          std::vector<std::byte> sink(want);
          co_await in.read_exact(sink);
        }(started, receiver, seen, expected));
        co_await body(sender, started);
        co_await watcher;
        co_return seen;
      }(std::move(send), total),
      weft::test::options(1));
}

TEST(IoBudget, SendFileToASocketThatNeverWaitsYieldsEvery256KiB) {
  TempDir dir("io-budget");
  const std::filesystem::path file = dir.write("payload.bin", std::string(kTransfer, 'x'));
  const FileFd payload(file);
  const std::size_t seen = bytes_sent_before_another_task_ran(
      [file_fd = payload.get()](weft::io::UnixStream& out, bool& started) -> weft::Task<void> {
        // One byte first: the socket's write readiness is known before the transfer.
        const std::byte one{1};
        co_await out.write_all(std::span(&one, 1));
        started = true;
        co_await out.send_file(file_fd, 0, kTransfer);
      },
      kTransfer + 1);
  EXPECT_LT(seen, kTransfer + 1) << "the transfer ran to its end without yielding";
  EXPECT_LE(seen, 1 + 2 * kIoAllowance) << "the transfer ran past its byte allowance";
}

TEST(IoBudget, WriteAllOfALargeBufferYieldsEvery256KiB) {
  const std::size_t seen = bytes_sent_before_another_task_ran(
      [](weft::io::UnixStream& out, bool& started) -> weft::Task<void> {
        const std::byte one{1};
        co_await out.write_all(std::span(&one, 1));
        started = true;
        const std::vector<std::byte> body(kTransfer, std::byte{'y'});
        co_await out.write_all(body);
      },
      kTransfer + 1);
  EXPECT_LT(seen, kTransfer + 1) << "the write ran to its end without yielding";
  EXPECT_LE(seen, 1 + 2 * kIoAllowance) << "the write ran past its byte allowance";
}

// The client of a loop's other connection: a task waiting for its socket to become readable.
// Its readiness arrives through the loop's epoll, which a loop polls between tasks only now
// and then; a run that spent its budget must be followed by a poll, or the waiting task would
// stay asleep while the transfer is queued again and again.
TEST(IoBudget, ATaskWaitingForItsSocketRunsDuringAnotherTasksLargeTransfer) {
  const std::size_t seen = weft::run(
      []() -> weft::Task<std::size_t> {
        SocketPair bulk;
        SocketPair request;
        weft::io::UnixStream sender{weft::AsyncFd(bulk.take_sender())};
        weft::io::UnixStream receiver{weft::AsyncFd(bulk.take_receiver())};
        weft::io::UnixStream server_side{weft::AsyncFd(request.take_receiver())};
        std::size_t seen_by_waiter = 0;
        auto waiter = weft::spawn([](weft::io::UnixStream& in, weft::io::UnixStream& bulk_in,
                                     std::size_t& out) -> weft::Task<void> {
          std::byte byte{};
          co_await in.read_exact(std::span(&byte, 1));
          out = queued(bulk_in.native_handle());
          std::vector<std::byte> sink(kTransfer + 1);
          co_await bulk_in.read_exact(sink);
        }(server_side, receiver, seen_by_waiter));
        const std::byte one{1};
        co_await sender.write_all(std::span(&one, 1));
        // The request arrives now, while the waiter sleeps in epoll: only a poll of this
        // loop's reactor can wake it.
        if (::write(request.sender(), "?", 1) != 1)
          throw std::system_error(errno, std::system_category(), "write");
        const std::vector<std::byte> body(kTransfer, std::byte{'z'});
        co_await sender.write_all(body);
        co_await waiter;
        co_return seen_by_waiter;
      }(),
      weft::test::options(1));
  EXPECT_LT(seen, kTransfer + 1) << "the waiting task ran only after the transfer";
  EXPECT_LE(seen, 1 + 2 * kIoAllowance);
}

}  // namespace

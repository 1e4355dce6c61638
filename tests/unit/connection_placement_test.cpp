// Which loop watches an accepted connection (weft::io::ConnectionPlacement): by default the
// least loaded loop, so one listener's connections spread over the loops; listener_loop keeps
// them on the listener's loop. And weft::least_loaded_loop() itself.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <stdexcept>
#include <utility>
#include <vector>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/loop_info.hpp>
#include <weft/wait_for.hpp>

#include "test_support.hpp"

namespace {

using weft::Task;
using weft::io::ConnectionPlacement;
using weft::io::SocketAddress;
using weft::io::TcpListener;
using weft::io::TcpStream;

template <class T>
T run_bounded(Task<T> body, unsigned loops) {
  weft::RuntimeOptions options = weft::test::options();
  options.loops = loops;
  return weft::run(weft::wait_for(std::move(body), weft::test::kDeadline), options);
}

// A blocking client socket that no loop watches, so it does not count in any loop's load.
// connect() to a loopback listener completes from the backlog, before any accept.
class RawClient {
 public:
  explicit RawClient(const SocketAddress& address) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (fd_ < 0 || ::connect(fd_, address.native(), address.native_size()) != 0)
      throw std::runtime_error("RawClient: connect failed");
  }
  RawClient(RawClient&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  RawClient& operator=(RawClient&&) = delete;
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int fd() const noexcept { return fd_; }

 private:
  int fd_;
};

constexpr std::size_t kConnections = 8;

// Accepts kConnections on one listener registered with loop 0 and returns, per loop, how many
// of them that loop watches. Each accepted connection then carries one byte each way, from
// this task, wherever its socket is watched.
Task<std::array<std::size_t, 2>> accept_and_count(ConnectionPlacement placement) {
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"),
                                    {.home_loop = 0u, .placement = placement});
  std::vector<RawClient> clients;
  std::vector<TcpStream> accepted;
  for (std::size_t i = 0; i < kConnections; ++i) {
    clients.emplace_back(listener.local_address());
    accepted.push_back(co_await listener.accept());
  }
  std::array<std::size_t, 2> per_loop{};
  for (std::size_t i = 0; i < kConnections; ++i) {
    const unsigned home = accepted[i].home_loop();
    EXPECT_LT(home, 2u);
    if (home < 2) ++per_loop[home];

    const char ping = static_cast<char>('a' + i);
    EXPECT_EQ(::write(clients[i].fd(), &ping, 1), 1);
    std::array<std::byte, 1> got{};
    co_await accepted[i].read_exact(got);
    EXPECT_EQ(static_cast<char>(got[0]), ping);
    co_await accepted[i].write_all(got);
    char back = 0;
    EXPECT_EQ(::read(clients[i].fd(), &back, 1), 1);
    EXPECT_EQ(back, ping);
  }
  co_return per_loop;
}

TEST(ConnectionPlacement, ByDefaultOneListenersConnectionsSpreadOverTheLoops) {
  const auto per_loop = run_bounded(accept_and_count(ConnectionPlacement::least_loaded), 2);
  // Loop 0 also watches the listener, so the loops' fd counts stay within one of each other:
  // 3 or 4 of the 8 connections on loop 0, the rest on loop 1.
  EXPECT_GE(per_loop[0], 3u);
  EXPECT_LE(per_loop[0], 4u);
  EXPECT_EQ(per_loop[0] + per_loop[1], kConnections);
}

TEST(ConnectionPlacement, ListenerLoopKeepsEveryConnectionOnTheListenersLoop) {
  const auto per_loop = run_bounded(accept_and_count(ConnectionPlacement::listener_loop), 2);
  EXPECT_EQ(per_loop[0], kConnections);
  EXPECT_EQ(per_loop[1], 0u);
}

TEST(ConnectionPlacement, LeastLoadedLoopFollowsTheRegisteredFds) {
  auto body = []() -> Task<void> {
    // Nothing registered anywhere: a tie, which the current loop wins.
    EXPECT_EQ(weft::least_loaded_loop(), weft::current_loop_index());
    auto busy = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"), {.home_loop = 1u});
    EXPECT_EQ(weft::least_loaded_loop(), 0u);
    auto other = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"), {.home_loop = 0u});
    auto third = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"), {.home_loop = 0u});
    EXPECT_EQ(weft::least_loaded_loop(), 1u);
    co_return;
  };
  run_bounded(body(), 2);
}

TEST(ConnectionPlacement, OneLoopIsAlwaysTheLeastLoaded) {
  auto body = []() -> Task<void> {
    auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
    EXPECT_EQ(weft::least_loaded_loop(), 0u);
    co_return;
  };
  run_bounded(body(), 1);
}

TEST(ConnectionPlacement, LeastLoadedLoopOutsideATaskThrows) {
  EXPECT_THROW((void)weft::least_loaded_loop(), std::logic_error);
}

}  // namespace

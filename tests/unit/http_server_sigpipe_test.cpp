// A peer that goes away while weft writes to it must cost an EPIPE, never the process.
//
// sendfile(2) cannot take MSG_NOSIGNAL, so a download cut short (a client that closes with
// unread data, a stalled client whose send timeout shuts its socket down) raises SIGPIPE on
// the loop thread that was sending; write(2) to a closed pipe or socket does the same on a
// to_thread worker. weft's threads keep SIGPIPE blocked (weft/detail/sigpipe.hpp), so a
// test binary that gets killed by one fails here. The process's own disposition stays the
// default (checked first), so nothing else hides the signal.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <weft/http/server.hpp>
#include <weft/to_thread.hpp>
#include <weft/weft.hpp>

#include "http_server_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::TempDir;
using weft::test::http::fetch;
using weft::test::http::get_request;
using weft::test::http::RawClient;
using weft::test::http::status_of;
using weft::test::http::TestServer;

constexpr std::uint64_t kBigFileSize = 64ull << 20;

// A root with a 64 MiB file (sparse: its pages read as zeros, no disk needed) and a small one.
struct Downloads {
  TempDir dir{"sigpipe"};
  Downloads() {
    dir.write("big.bin", "");
    const std::filesystem::path big = dir.path() / "big.bin";
    if (::truncate(big.c_str(), static_cast<off_t>(kBigFileSize)) != 0)
      throw std::system_error(errno, std::system_category(), "truncate");
    dir.write("small.txt", "still here\n");
  }
};

bool sigpipe_has_default_disposition() {
  struct sigaction current {};
  ::sigaction(SIGPIPE, nullptr, &current);
  return current.sa_handler == SIG_DFL;
}

class HttpServerSigpipe : public ::testing::TestWithParam<unsigned> {};

INSTANTIATE_TEST_SUITE_P(Loops, HttpServerSigpipe, ::testing::Values(1u, 2u),
                         [](const auto& test) { return std::to_string(test.param) + "_loops"; });

TEST_P(HttpServerSigpipe, ClientsClosingMidDownloadDoNotKillTheServer) {
  ASSERT_TRUE(sigpipe_has_default_disposition());
  Downloads files;
  TestServer server({}, GetParam());
  server.server().static_files("/files", files.dir.path());
  const weft::io::SocketAddress address = server.start();

  // Each client reads the head and a little of the body, then closes with the rest unread
  // (the kernel answers the server's next segments with a reset): the server's sendfile
  // then fails with ECONNRESET or EPIPE, and EPIPE comes with a SIGPIPE.
  constexpr int kClients = 24;
  for (int i = 0; i < kClients; ++i) {
    RawClient client = RawClient::connect(address);
    ASSERT_TRUE(client.send(get_request("/files/big.bin")));
    ASSERT_TRUE(client.read_until("\r\n\r\n").has_value()) << "client " << i;
    // From 16 KiB to a few MiB into the body, so the close lands at different points of the
    // server's pieces.
    const std::size_t wanted = std::size_t{16384} << (i % 9);
    std::size_t got = 0;
    while (got < wanted) {
      pollfd p{client.fd(), POLLIN, 0};
      ASSERT_EQ(::poll(&p, 1, 10'000), 1) << "client " << i << ": no data";
      char buf[16384];
      const ssize_t n = ::recv(client.fd(), buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      ASSERT_GT(n, 0) << "client " << i;
      got += static_cast<std::size_t>(n);
    }
    if (i % 2 == 0) {
      client.close();
    } else {
      client.abort();
    }
  }
  // Still serving: the process survived, and so did the server.
  const auto r = fetch(address, get_request("/files/small.txt"));
  EXPECT_EQ(status_of(r), 200);
  // The SIGPIPEs that sendfile raised were taken back: none is left pending on the loop thread
  // (with one loop, the one that served every download).
  const bool left_pending = server.runtime().block_on([]() -> weft::Task<bool> {
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    co_return sigismember(&pending, SIGPIPE) == 1;
  }());
  EXPECT_FALSE(left_pending);
  server.stop();
}

TEST_P(HttpServerSigpipe, SendTimeoutOfAStalledDownloadDoesNotKillTheServer) {
  ASSERT_TRUE(sigpipe_has_default_disposition());
  Downloads files;
  // The sweeper shuts down the socket of a download that made no progress for 100 ms; the
  // sendfile waiting on it then fails with EPIPE.
  weft::http::ServerOptions options;
  options.send_idle_timeout = 100ms;
  TestServer server(std::move(options), GetParam());
  server.server().static_files("/files", files.dir.path());
  const weft::io::SocketAddress address = server.start();

  for (int i = 0; i < 3; ++i) {
    RawClient stalled = RawClient::connect(address);
    ASSERT_TRUE(stalled.send(get_request("/files/big.bin")));
    // Reads nothing: the server's socket buffer fills and its deadline passes.
    ASSERT_TRUE(weft::test::wait_until([&] {
      return server.stats().timeouts >= static_cast<std::uint64_t>(i + 1);
    })) << "the stalled download was never timed out";
  }
  const auto r = fetch(address, get_request("/files/small.txt"));
  EXPECT_EQ(status_of(r), 200);
  server.stop();
}

TEST_P(HttpServerSigpipe, ToThreadJobWritingToAClosedPeerGetsEpipe) {
  ASSERT_TRUE(sigpipe_has_default_disposition());
  const int err = weft::run(
      []() -> weft::Task<int> {
        co_return co_await weft::to_thread([] {
          int pair[2];
          if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return errno;
          ::close(pair[1]);
          // write(2), not send(MSG_NOSIGNAL): what a library called from a job would do.
          const ssize_t n = ::write(pair[0], "x", 1);
          const int result = n < 0 ? errno : 0;
          ::close(pair[0]);
          return result;
        });
      }(),
      weft::test::options(GetParam()));
  EXPECT_EQ(err, EPIPE);
  // The runtime is gone and this thread's own mask was never touched: a SIGPIPE raised
  // here would still be delivered (not tested: it would end the process).
  sigset_t mask;
  ::pthread_sigmask(SIG_SETMASK, nullptr, &mask);
  EXPECT_EQ(::sigismember(&mask, SIGPIPE), 0);
}

}  // namespace

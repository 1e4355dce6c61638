// TCP connections opened and closed in bulk over two loops, a random part of them cancelled
// at random points (while connecting, writing or reading, on the client side): afterwards
// the process holds exactly the fds it held before. Seeded; size from WEFT_STRESS_SCALE.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/task_group.hpp>
#include <weft/wait_for.hpp>

#include "test_support.hpp"
#include "fd_count.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::io::SocketAddress;
using weft::io::TcpListener;
using weft::io::TcpStream;

using weft::test::open_fd_count;

// Server side of one connection: echo until the client ends or resets it.
Task<void> serve(TcpStream stream, std::atomic<long>& live) {
  live.fetch_add(1, std::memory_order_relaxed);
  try {
    std::array<std::byte, 512> buffer{};
    for (;;) {
      const std::size_t n = co_await stream.read_some(buffer);
      if (n == 0) break;
      co_await stream.write_all(std::span(buffer).first(n));
    }
  } catch (const std::system_error&) {
    // ECONNRESET/EPIPE: the client was cancelled and closed mid-exchange.
  }
  live.fetch_sub(1, std::memory_order_relaxed);
}

struct Counts {
  std::atomic<long> completed{0};
  std::atomic<long> cancelled{0};
};

// The joiner counts the outcome, which only the join knows for sure: a cancel accepted
// before the client's last suspension ends it cancelled, one after it leaves it completed.
Task<void> client(SocketAddress address, int id) {
  TcpStream stream = co_await TcpStream::connect(address);
  const std::string message = "connection " + std::to_string(id);
  co_await stream.write_all(std::as_bytes(std::span(message)));
  std::string reply(message.size(), '\0');
  co_await stream.read_exact(std::as_writable_bytes(std::span(reply)));
  EXPECT_EQ(reply, message);
}

TEST(TcpStress, ConnectionsWithRandomCancellationsLeakNoFds) {
  const std::size_t total = weft::test::scaled(10'000, 200);
  constexpr std::size_t kBatch = 100;
  auto body = [](std::size_t connections) -> Task<void> {
    const std::size_t baseline = open_fd_count();
    {
      auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
      const SocketAddress address = listener.local_address();
      std::atomic<long> live_handlers{0};
      JoinHandle<void> acceptor =
          weft::spawn(weft::with_task_group([&](weft::TaskGroup& group) -> Task<void> {
            for (;;) group.spawn(serve(co_await listener.accept(), live_handlers));
          }));

      std::mt19937 rng(20261125);
      Counts counts;
      for (std::size_t done = 0; done < connections; done += kBatch) {
        std::vector<JoinHandle<void>> batch;
        for (std::size_t i = 0; i < kBatch; ++i)
          batch.push_back(weft::spawn(client(address, static_cast<int>(done + i))));
        // Cancel about a third, after 0-3 yields: some before they connected, some mid-way.
        for (std::size_t i = 0; i < kBatch; ++i) {
          if (rng() % 3 != 0) continue;
          for (unsigned y = rng() % 4; y > 0; --y) co_await weft::yield();
          batch[i].cancel();
        }
        for (auto& h : batch) {
          if (const bool ok = co_await weft::test::finished_within(h); !ok) {
            ADD_FAILURE() << "a client did not finish";
            continue;
          }
          try {
            co_await h;
            counts.completed.fetch_add(1, std::memory_order_relaxed);
          } catch (const weft::CancelledError&) {
            counts.cancelled.fetch_add(1, std::memory_order_relaxed);
          }
        }
      }
      EXPECT_EQ(counts.completed.load() + counts.cancelled.load(), static_cast<long>(connections));
      EXPECT_GT(counts.completed.load(), 0);
      EXPECT_GT(counts.cancelled.load(), 0);
      // Every client end is closed, so every server handler sees EOF or a reset and ends.
      EXPECT_TRUE(co_await weft::test::co_wait_until(
          [&] { return live_handlers.load(std::memory_order_relaxed) == 0; }));
      acceptor.cancel();
      EXPECT_TRUE(co_await weft::test::finished_within(acceptor));
    }
    EXPECT_EQ(open_fd_count(), baseline);
  };
  weft::run(weft::wait_for(body(total), 600s), weft::test::options(2));
}

}  // namespace

// TLS connections by the thousand over two loops, all open at once, each cut at a random
// point: before the handshake, with garbage instead of a ClientHello, after the handshake
// without close_notify, by a cancel while it waits to read, or not at all (an echo and an
// orderly close_notify). Afterwards every server task has ended and the process holds exactly
// the fds it held before; the sanitizer builds add that no byte leaked and nothing raced.
// Seeded; size from WEFT_STRESS_SCALE.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/task_group.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/tls_stream.hpp>
#include <weft/wait_for.hpp>

#include "test_certs.hpp"
#include "test_support.hpp"
#include "fd_count.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::io::SocketAddress;
using weft::io::TcpListener;
using weft::io::TcpStream;
using weft::tls::Context;
using weft::tls::TlsStream;

using weft::test::open_fd_count;

struct ServerCounts {
  std::atomic<long> live{0};
  std::atomic<long> handshakes{0};
  std::atomic<long> orderly{0};  // ended by the client's close_notify
  std::atomic<long> failed{0};   // handshake refused, truncated, reset
};

Task<void> serve(TcpStream tcp, Context context, ServerCounts& counts) {
  counts.live.fetch_add(1, std::memory_order_relaxed);
  try {
    TlsStream tls = co_await TlsStream::accept(std::move(tcp), context, 10s);
    counts.handshakes.fetch_add(1, std::memory_order_relaxed);
    std::array<std::byte, 512> buffer{};
    for (;;) {
      const std::size_t n = co_await tls.read_some(buffer);
      if (n == 0) break;
      co_await tls.write_all(std::span(buffer).first(n));
    }
    co_await tls.shutdown();  // close_notify back
    counts.orderly.fetch_add(1, std::memory_order_relaxed);
  } catch (const std::exception&) {
    // TlsError, std::system_error or TimeoutError: the client cut the connection.
    counts.failed.fetch_add(1, std::memory_order_relaxed);
  }
  counts.live.fetch_sub(1, std::memory_order_relaxed);
}

enum class Cut { before_handshake, garbage, no_close_notify, cancelled_in_read, none };
constexpr int kCuts = 5;

// Clients whose TCP connect completed (a client cancelled before or during its connect may
// or may not have reached the server's accept queue).
std::atomic<long> g_connected{0};

Task<void> client(SocketAddress address, Context context, Cut cut, int id) {
  TcpStream tcp = co_await TcpStream::connect(address);
  g_connected.fetch_add(1, std::memory_order_relaxed);
  if (cut == Cut::before_handshake) co_return;  // closed here
  if (cut == Cut::garbage) {
    std::array<std::byte, 64> junk{};
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::byte>(id * 31 + i);
    co_await tcp.write_all(junk);
    co_return;
  }
  TlsStream tls = co_await TlsStream::connect(std::move(tcp), context, "localhost");
  const std::string message = "connection " + std::to_string(id);
  co_await tls.write_all(std::as_bytes(std::span(message)));
  std::string reply(message.size(), '\0');
  co_await tls.read_exact(std::as_writable_bytes(std::span(reply)));
  EXPECT_EQ(reply, message);
  if (cut == Cut::no_close_notify) {
    ::shutdown(tls.native_handle(), SHUT_RDWR);  // cut under TLS: no close_notify gets out
    co_return;
  }
  if (cut == Cut::cancelled_in_read) {
    std::array<std::byte, 16> more{};
    // Nothing more comes: the deadline cancels the read.
    try {
      (void)co_await weft::wait_for(tls.read_some(more), 5ms);
      ADD_FAILURE() << "the server sent something unasked";
    } catch (const weft::TimeoutError&) {
    }
    co_return;  // and closes without close_notify
  }
  co_await tls.shutdown();
  std::array<std::byte, 16> rest{};
  EXPECT_EQ(co_await tls.read_some(rest), 0u);  // the server's close_notify, then its close
}

TEST(TlsStress, ConnectionsCutAtRandomPointsLeakNothing) {
  const std::size_t total = weft::test::scaled(1'000, 100);
  const weft::test::TestCa ca;
  const weft::test::KeyAndCert identity = ca.issue();
  const Context server_context =
      Context::server({.cert_chain_pem = identity.cert_pem, .key_pem = identity.key_pem});
  const Context client_context = Context::client({.ca_pem = ca.cert_pem()});
  auto body = [&](std::size_t connections) -> Task<void> {
    const std::size_t baseline = open_fd_count();
    {
      auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"), {.backlog = 4096});
      const SocketAddress address = listener.local_address();
      ServerCounts server;
      JoinHandle<void> acceptor =
          weft::spawn(weft::with_task_group([&](weft::TaskGroup& group) -> Task<void> {
            for (;;) {
              TcpStream accepted = co_await listener.accept();
              group.spawn(serve(std::move(accepted), server_context, server));
            }
          }));

      std::mt19937 rng(20261207);
      std::array<long, kCuts> planned{};
      std::vector<JoinHandle<void>> clients;
      clients.reserve(connections);
      for (std::size_t i = 0; i < connections; ++i) {
        const auto cut = static_cast<Cut>(rng() % kCuts);
        ++planned[static_cast<int>(cut)];
        clients.push_back(weft::spawn(client(address, client_context, cut, static_cast<int>(i))));
      }
      // All of them are open at once; some are also cancelled from outside, at a random
      // point of their exchange.
      for (std::size_t i = 0; i < connections; ++i) {
        if (rng() % 10 != 0) continue;
        for (unsigned y = rng() % 4; y > 0; --y) co_await weft::yield();
        clients[i].cancel();
      }
      long cancelled = 0;
      for (auto& h : clients) {
        if (const bool ok = co_await weft::test::finished_within(h, 60s); !ok) {
          ADD_FAILURE() << "a client did not finish";
          continue;
        }
        try {
          co_await h;
        } catch (const weft::CancelledError&) {
          ++cancelled;
        } catch (const std::exception& e) {
          ADD_FAILURE() << "client: " << e.what();
        }
      }
      for (long p : planned) EXPECT_GT(p, 0);
      // Every client end is closed, so every server task sees an end and finishes.
      // (A connection may still wait in the accept queue: wait for the count too.)
      EXPECT_TRUE(co_await weft::test::co_wait_until(
          [&] {
            return server.live.load() == 0 &&
                   server.orderly.load() + server.failed.load() >= g_connected.load();
          },
          60s));
      // Every connection the server accepted ended in one of the two counts; it accepted every
      // client that connected, and perhaps some cancelled while connecting.
      const long accepted = server.orderly.load() + server.failed.load();
      EXPECT_GE(accepted, g_connected.load());
      EXPECT_LE(accepted, static_cast<long>(connections));
      EXPECT_GT(g_connected.load(), static_cast<long>(connections) / 2);
      // The clients that were neither cut nor cancelled ended in close_notify.
      EXPECT_GE(server.orderly.load(), planned[static_cast<int>(Cut::none)] - cancelled);
      EXPECT_LE(server.handshakes.load(), static_cast<long>(connections) -
                                              planned[static_cast<int>(Cut::before_handshake)] -
                                              planned[static_cast<int>(Cut::garbage)]);
      acceptor.cancel();
      EXPECT_TRUE(co_await weft::test::finished_within(acceptor));
    }
    EXPECT_EQ(open_fd_count(), baseline);
  };
  weft::run(weft::wait_for(body(total), 600s), weft::test::options(2));
}

}  // namespace

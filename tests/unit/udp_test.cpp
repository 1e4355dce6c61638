// weft::io::UdpSocket: datagrams over loopback both ways, the sender's address, truncation,
// and a receive that ends under wait_for.

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <weft/io/udp_socket.hpp>
#include <weft/wait_for.hpp>

#include "fd_test_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::io::SocketAddress;
using weft::io::UdpSocket;

using weft::test::bytes;

template <class T>
T run_bounded(Task<T> body) {
  return weft::run(weft::wait_for(std::move(body), weft::test::kDeadline), weft::test::options());
}

TEST(Udp, SendsAndReceivesDatagramsBothWays) {
  auto body = []() -> Task<void> {
    auto a = UdpSocket::bind(SocketAddress::parse("127.0.0.1:0"));
    auto b = UdpSocket::bind(SocketAddress::parse("127.0.0.1:0"));
    EXPECT_NE(a.local_address().port(), 0);
    EXPECT_EQ(co_await a.send_to(bytes("ping"), b.local_address()), 4u);
    std::array<std::byte, 64> buffer{};
    const auto got = co_await b.receive_from(buffer);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer.data()), got.size), "ping");
    EXPECT_EQ(got.from, a.local_address());
    EXPECT_FALSE(got.truncated);
    // Reply to whoever sent it.
    EXPECT_EQ(co_await b.send_to(bytes("pong!"), got.from), 5u);
    const auto reply = co_await a.receive_from(buffer);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buffer.data()), reply.size), "pong!");
    EXPECT_EQ(reply.from, b.local_address());
  };
  run_bounded(body());
}

TEST(Udp, ReportsTruncatedDatagrams) {
  auto body = []() -> Task<void> {
    auto a = UdpSocket::bind(SocketAddress::parse("127.0.0.1:0"));
    auto b = UdpSocket::bind(SocketAddress::parse("127.0.0.1:0"));
    (void)co_await a.send_to(bytes("0123456789"), b.local_address());
    std::array<std::byte, 4> small{};
    const auto got = co_await b.receive_from(small);
    EXPECT_EQ(got.size, 4u);
    EXPECT_TRUE(got.truncated);
  };
  run_bounded(body());
}

TEST(Udp, ReceiveEndsUnderWaitFor) {
  auto body = []() -> Task<void> {
    auto socket = UdpSocket::bind(SocketAddress::parse("127.0.0.1:0"));
    std::array<std::byte, 16> buffer{};
    const auto start = std::chrono::steady_clock::now();
    try {
      (void)co_await weft::wait_for(socket.receive_from(buffer), 50ms);
      ADD_FAILURE() << "received a datagram nobody sent";
    } catch (const weft::TimeoutError&) {
    }
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
    // The socket is still usable after the cancelled receive.
    (void)co_await socket.send_to(bytes("self"), socket.local_address());
    const auto got = co_await socket.receive_from(buffer);
    EXPECT_EQ(got.size, 4u);
  };
  run_bounded(body());
}

}  // namespace

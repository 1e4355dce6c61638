// weft::io::SocketAddress: parsing, printing and refusing what is not an address.

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <weft/io/socket_address.hpp>

namespace {

using weft::io::SocketAddress;

TEST(SocketAddress, ParsesAndPrintsIpv4AndIpv6) {
  const auto a = SocketAddress::parse("127.0.0.1:8080");
  EXPECT_TRUE(a.is_ipv4());
  EXPECT_EQ(a.port(), 8080);
  EXPECT_EQ(a.to_string(), "127.0.0.1:8080");
  const auto b = SocketAddress::parse("[::1]:443");
  EXPECT_TRUE(b.is_ipv6());
  EXPECT_EQ(b.port(), 443);
  EXPECT_EQ(b.to_string(), "[::1]:443");
  EXPECT_EQ(SocketAddress::parse("0.0.0.0:0").port(), 0);
  EXPECT_EQ(a, SocketAddress::parse("127.0.0.1:8080"));
  EXPECT_FALSE(a == SocketAddress::parse("127.0.0.1:8081"));
}

TEST(SocketAddress, RefusesWhatIsNotAnAddress) {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x", "::1:80",
        "[::1]80", "[::1]:", "example.com:80", "256.0.0.1:80", "[127.0.0.1:80"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(SocketAddress::try_parse(bad).has_value());
    EXPECT_THROW((void)SocketAddress::parse(bad), std::invalid_argument);
  }
}

TEST(SocketAddress, FromIpAndPort) {
  auto a = SocketAddress::from_ip("10.1.2.3", 53);
  ASSERT_TRUE(a.has_value());
  a->set_port(5353);
  EXPECT_EQ(a->to_string(), "10.1.2.3:5353");
  EXPECT_FALSE(SocketAddress::from_ip("not-an-ip", 1).has_value());
}

TEST(SocketAddress, UnixPaths) {
  const auto u = SocketAddress::unix_path("/tmp/weft.sock");
  EXPECT_TRUE(u.is_unix());
  EXPECT_EQ(u.port(), 0);
  EXPECT_EQ(u.to_string(), "unix:/tmp/weft.sock");
  EXPECT_THROW((void)SocketAddress::unix_path(std::string(200, 'x')), std::invalid_argument);
  EXPECT_THROW((void)SocketAddress::unix_path(""), std::invalid_argument);
}

}  // namespace

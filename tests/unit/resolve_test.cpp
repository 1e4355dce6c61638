// weft::io::resolve: localhost offline, IP literals without a lookup, clear errors.

#include <gtest/gtest.h>
#include <netdb.h>

#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <weft/io/resolve.hpp>
#include <weft/wait_for.hpp>

#include "test_support.hpp"

namespace {

using weft::Task;
using weft::io::SocketAddress;

template <class T>
T run_bounded(Task<T> body) {
  return weft::run(weft::wait_for(std::move(body), weft::test::kDeadline), weft::test::options());
}

TEST(Resolve, LocalhostResolvesOffline) {
  const std::vector<SocketAddress> addrs = run_bounded(weft::io::resolve("localhost", 80));
  ASSERT_FALSE(addrs.empty());
  for (const SocketAddress& a : addrs) {
    EXPECT_EQ(a.port(), 80);
    const std::string s = a.to_string();
    EXPECT_TRUE(s == "127.0.0.1:80" || s == "[::1]:80") << s;
  }
  // No duplicates (getaddrinfo lists each address once per socket type unless told one).
  for (std::size_t i = 0; i < addrs.size(); ++i)
    for (std::size_t j = i + 1; j < addrs.size(); ++j) EXPECT_FALSE(addrs[i] == addrs[j]);
}

TEST(Resolve, NumericAddressesNeedNoLookup) {
  auto v4 = run_bounded(weft::io::resolve("127.0.0.1", 8080));
  ASSERT_EQ(v4.size(), 1u);
  EXPECT_EQ(v4[0], SocketAddress::parse("127.0.0.1:8080"));
  auto v6 = run_bounded(weft::io::resolve("::1", 443));
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v6[0], SocketAddress::parse("[::1]:443"));
  auto bracketed = run_bounded(weft::io::resolve("[::1]", 443));
  ASSERT_EQ(bracketed.size(), 1u);
  EXPECT_EQ(bracketed[0], v6[0]);
}

// ".invalid" is reserved (RFC 6761): no resolver may answer it. glibc fails it without
// waiting for a DNS timeout here; if a resolver made it slow, the deadline fails the test.
TEST(Resolve, UnknownNameIsAClearError) {
  try {
    (void)run_bounded(weft::io::resolve("no-such-host.invalid", 80));
    ADD_FAILURE() << "resolved a .invalid name";
  } catch (const std::system_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no-such-host.invalid"), std::string::npos) << what;
    if (e.code().category() == weft::io::resolve_category()) {
      EXPECT_TRUE(e.code().value() == EAI_NONAME || e.code().value() == EAI_AGAIN ||
                  e.code().value() == EAI_NODATA)
          << what;
      EXPECT_NE(what.find(::gai_strerror(e.code().value())), std::string::npos) << what;
    }
  }
}

}  // namespace

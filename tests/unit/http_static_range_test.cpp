// Byte ranges of Server::static_files (RFC 9110 14.1.2, 14.2, 13.1.5): one range per GET gets
// a 206 with Content-Range and exactly those bytes; a range past the end a 416 with
// "Content-Range: bytes */SIZE"; several ranges, a malformed Range, another unit, a failed
// If-Range and a HEAD get the whole file with "Accept-Ranges: bytes". Every case runs on one
// keep-alive connection after a ranged answer, so the framing of each is checked too.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <vector>
#include <weft/http/server.hpp>

#include "http_server_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::TempDir;
using weft::test::http::get_request;
using weft::test::http::RawClient;
using weft::test::http::RawResponse;
using weft::test::http::TestServer;

constexpr std::size_t kSize = 300'001;  // odd, so off-by-ones at the end show
// Wed, 01 Jan 2020 00:00:00 GMT: a Last-Modified old enough to be a strong validator.
constexpr std::time_t kModified = 1'577'836'800;
constexpr const char* kModifiedText = "Wed, 01 Jan 2020 00:00:00 GMT";

struct RangeServed {
  TempDir dir{"static-range"};
  std::string data;
  TestServer server;
  RangeServed() {
    std::mt19937 rng(777);
    data.resize(kSize);
    for (char& c : data) c = static_cast<char>(rng());
    const std::filesystem::path file = dir.write("data.bin", data);
    const timespec times[2] = {{kModified, 0}, {kModified, 0}};
    if (::utimensat(AT_FDCWD, file.c_str(), times, 0) != 0)
      throw std::system_error(errno, std::system_category(), "utimensat");
    dir.write("empty.txt", "");
    server.server().static_files("/files", dir.path());
    server.start();
  }
};

// One request with the extra header lines, on `c`; the response or std::nullopt.
std::optional<RawResponse> ask(RawClient& c, const std::string& extra,
                               const std::string& method = "GET",
                               const std::string& target = "/files/data.bin") {
  if (!c.send(get_request(target, extra, method))) return std::nullopt;
  return c.read_response(method, 10s);
}

std::string range(const std::string& spec) { return "Range: " + spec + "\r\n"; }

class HttpStaticRange : public ::testing::Test {
 protected:
  RangeServed s;
  RawClient c = RawClient::connect(s.server.address());

  void expect_part(const std::string& spec, std::size_t first, std::size_t last) {
    SCOPED_TRACE(spec);
    const auto r = ask(c, range(spec));
    ASSERT_TRUE(r) << weft::test::http::to_string(c.last_end());
    EXPECT_EQ(r->status, 206) << r->describe();
    EXPECT_EQ(r->header("Content-Range").value_or(""), "bytes " + std::to_string(first) + "-" +
                                                           std::to_string(last) + "/" +
                                                           std::to_string(kSize));
    EXPECT_EQ(r->header("Content-Length").value_or(""), std::to_string(last - first + 1));
    EXPECT_TRUE(r->body == s.data.substr(first, last - first + 1))
        << "wrong bytes: " << r->body.size() << " received";
  }

  void expect_whole(const std::string& extra, const std::string& why) {
    SCOPED_TRACE(why);
    const auto r = ask(c, extra);
    ASSERT_TRUE(r) << weft::test::http::to_string(c.last_end());
    EXPECT_EQ(r->status, 200) << r->describe();
    EXPECT_FALSE(r->header("Content-Range")) << r->describe();
    EXPECT_EQ(r->header("Accept-Ranges").value_or(""), "bytes");
    EXPECT_EQ(r->body.size(), kSize);
    EXPECT_TRUE(r->body == s.data) << "not the file";
  }

  void expect_unsatisfiable(const std::string& spec) {
    SCOPED_TRACE(spec);
    const auto r = ask(c, range(spec));
    ASSERT_TRUE(r) << weft::test::http::to_string(c.last_end());
    EXPECT_EQ(r->status, 416) << r->describe();
    EXPECT_EQ(r->header("Content-Range").value_or(""), "bytes */" + std::to_string(kSize));
    EXPECT_EQ(r->body.find(s.data.substr(0, 16)), std::string::npos);
  }
};

TEST_F(HttpStaticRange, FullResponseAdvertisesByteRanges) { expect_whole("", "no Range"); }

TEST_F(HttpStaticRange, FirstAndLastPositionGive206WithThoseBytes) {
  expect_part("bytes=0-99", 0, 99);
  expect_part("bytes=0-0", 0, 0);
  expect_part("bytes=123456-234567", 123456, 234567);
  expect_part("bytes=" + std::to_string(kSize - 1) + "-" + std::to_string(kSize - 1), kSize - 1,
              kSize - 1);
  // A last position past the end is cut to the end.
  expect_part("bytes=299990-99999999", 299990, kSize - 1);
  // The unit is case-insensitive; whitespace around the list element is allowed.
  expect_part("BYTES=5-9", 5, 9);
  expect_part("bytes= 10-19 ", 10, 19);
  // Still a clean connection after all these.
  expect_whole("", "after the ranges");
}

TEST_F(HttpStaticRange, OpenRangeRunsToTheEnd) {
  expect_part("bytes=100-", 100, kSize - 1);
  expect_part("bytes=0-", 0, kSize - 1);
}

TEST_F(HttpStaticRange, SuffixRangeIsTheLastBytes) {
  expect_part("bytes=-500", kSize - 500, kSize - 1);
  expect_part("bytes=-1", kSize - 1, kSize - 1);
  // Longer than the file: all of it, still as a range.
  expect_part("bytes=-99999999", 0, kSize - 1);
}

TEST_F(HttpStaticRange, RangeStartingPastTheEndIs416) {
  expect_unsatisfiable("bytes=" + std::to_string(kSize) + "-");
  expect_unsatisfiable("bytes=" + std::to_string(kSize) + "-" + std::to_string(kSize + 10));
  expect_unsatisfiable("bytes=99999999999999999999999999-");
  expect_unsatisfiable("bytes=-0");
  // The connection goes on.
  expect_part("bytes=0-9", 0, 9);
}

TEST_F(HttpStaticRange, SeveralRangesGetTheWholeFile) {
  expect_whole(range("bytes=0-1,5-6"), "two ranges");
  expect_whole(range("bytes=0-1, 100-"), "two ranges with a space");
  expect_whole(range("bytes=-5,0-0"), "a suffix and a range");
}

TEST_F(HttpStaticRange, MalformedRangeIsIgnored) {
  for (const std::string spec :
       {"bytes=abc", "bytes=5-1", "bytes=-", "bytes=", "bytes=--1", "bytes=0-1-2", "bytes=1",
        "bytes 0-1", "items=0-1", "bytes=+1-2", "bytes=0x10-0x20", "=0-1"}) {
    expect_whole(range(spec), spec);
  }
}

TEST_F(HttpStaticRange, IfRangeWithTheLastModifiedDateKeepsTheRange) {
  const auto plain = ask(c, "");
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->header("Last-Modified").value_or(""), kModifiedText);
  const auto r = ask(c, range("bytes=10-19") + "If-Range: " + kModifiedText + "\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 206) << r->describe();
  EXPECT_EQ(r->body, s.data.substr(10, 10));
}

TEST_F(HttpStaticRange, IfRangeThatDoesNotMatchGetsTheWholeFile) {
  expect_whole(range("bytes=10-19") + "If-Range: Thu, 02 Jan 2020 00:00:00 GMT\r\n",
               "another date");
  expect_whole(range("bytes=10-19") + "If-Range: \"some-etag\"\r\n", "an entity tag");
  expect_whole(range("bytes=10-19") + "If-Range: W/\"weak\"\r\n", "a weak entity tag");
  expect_whole(range("bytes=10-19") + "If-Range: yesterday\r\n", "not a date");
  // Without Range, If-Range changes nothing.
  expect_whole(std::string("If-Range: ") + kModifiedText + "\r\n", "If-Range alone");
}

TEST_F(HttpStaticRange, HeadWithRangeDescribesTheWholeFile) {
  // RFC 9110 14.2 defines range handling for GET only: HEAD ignores Range.
  const auto r = ask(c, range("bytes=0-99"), "HEAD");
  ASSERT_TRUE(r) << weft::test::http::to_string(c.last_end());
  EXPECT_EQ(r->status, 200) << r->describe();
  EXPECT_EQ(r->header("Content-Length").value_or(""), std::to_string(kSize));
  EXPECT_EQ(r->header("Accept-Ranges").value_or(""), "bytes");
  EXPECT_FALSE(r->header("Content-Range"));
  EXPECT_TRUE(r->body.empty());
  // No body followed the head: the next answer on the connection is whole and in place.
  expect_part("bytes=0-3", 0, 3);
}

TEST_F(HttpStaticRange, RangeOfAnEmptyFileGetsTheEmptyFile) {
  const auto r = ask(c, range("bytes=0-10"), "GET", "/files/empty.txt");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->describe();
  EXPECT_TRUE(r->body.empty());
}

TEST_F(HttpStaticRange, IfModifiedSinceStillWinsOverRange) {
  const auto r = ask(c, range("bytes=0-9") + "If-Modified-Since: " + kModifiedText + "\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 304) << r->describe();
  EXPECT_TRUE(r->body.empty());
}

}  // namespace

// weft::http::Server's static files (Server::static_files) over loopback: content types by
// extension, a 1 MiB file byte for byte, index.html for a directory, 404s, every path escape
// (dot segments raw and percent-encoded, encoded slashes and backslashes, NULs, symlinks out of
// the root, the absolute-form), encoded slashes inside the root, HEAD, If-Modified-Since,
// queries, percent-encoded names, a FIFO under the root, and running out of file descriptors.
// Byte ranges: http_static_range_test.cpp.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>
#include <weft/http/server.hpp>

#include "http_server_test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::TempDir;
using weft::test::http::add_routes;
using weft::test::http::body_of;
using weft::test::http::fetch;
using weft::test::http::get_request;
using weft::test::http::RawClient;
using weft::test::http::status_of;
using weft::test::http::TestServer;

// ---------------------------------------------------------------------------------------------
// Static files

struct StaticTree {
  TempDir dir{"srv-static"};
  std::filesystem::path root;
  std::string big;
  StaticTree() {
    root = dir.path() / "root";
    dir.write("root/index.html", "<h1>index</h1>");
    dir.write("root/style.css", "body{}");
    dir.write("root/app.js", "let a=1;");
    dir.write("root/img.png", std::string("\x89PNG\r\n\x1a\n", 8));
    dir.write("root/data.json", "{\"a\":1}");
    dir.write("root/readme.txt", "plain text");
    dir.write("root/blob.xyzzy", "unknown");
    dir.write("root/sub/index.html", "<p>sub</p>");
    std::mt19937 rng(12345);
    big.resize(1 << 20);
    for (char& ch : big) ch = static_cast<char>(rng());
    dir.write("root/big.bin", big);
    // Outside the root: reachable only by escaping it.
    dir.write("secret.txt", "TOP-SECRET-CONTENT");
    std::filesystem::create_symlink(dir.path() / "secret.txt", root / "escape_link");
    std::filesystem::create_directories(dir.path() / "outside");
    dir.write("outside/secret.txt", "TOP-SECRET-CONTENT");
    std::filesystem::create_directory_symlink(dir.path() / "outside", root / "outdir");
  }
};

struct StaticServed {
  StaticTree tree;
  TestServer server;
  StaticServed() {
    server.server().static_files("/static", tree.root);
    add_routes(server.server());
    server.start();
  }
};

TEST(HttpServerStatic, ContentTypesFollowTheExtension) {
  StaticServed s;
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"index.html", {"text/html"}},
      {"style.css", {"text/css"}},
      {"app.js", {"text/javascript", "application/javascript"}},
      {"img.png", {"image/png"}},
      {"data.json", {"application/json"}},
      {"readme.txt", {"text/plain"}},
      {"blob.xyzzy", {"application/octet-stream"}},
  };
  for (const auto& [file, types] : cases) {
    const auto r = fetch(s.server.address(), get_request("/static/" + file));
    ASSERT_TRUE(r) << file;
    EXPECT_EQ(r->status, 200) << file;
    const std::string type = r->header("Content-Type").value_or("<none>");
    bool ok = false;
    for (const auto& t : types) ok = ok || type.rfind(t, 0) == 0;
    EXPECT_TRUE(ok) << file << ": " << type;
    EXPECT_EQ(r->body.size(), std::filesystem::file_size(s.tree.root / file)) << file;
  }
}

TEST(HttpServerStatic, LargeFileArrivesByteForByte) {
  StaticServed s;
  RawClient c = RawClient::connect(s.server.address());
  ASSERT_TRUE(c.send(get_request("/static/big.bin")));
  const auto r = c.read_response("GET", 20s);
  ASSERT_TRUE(r) << to_string(c.last_end());
  EXPECT_EQ(r->header("Content-Length").value_or(""), std::to_string(1 << 20));
  EXPECT_TRUE(r->body == s.tree.big) << "body differs, " << r->body.size() << " bytes";
  // And again on the same connection (the file body left the connection in a clean state).
  ASSERT_TRUE(c.send(get_request("/static/readme.txt")));
  EXPECT_EQ(body_of(c.read_response()), "plain text");
}

TEST(HttpServerStatic, DirectoryServesIndexHtml) {
  StaticServed s;
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/"))), "<h1>index</h1>");
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/sub/"))), "<p>sub</p>");
}

// Without the redirect, the relative links of /static/sub's index.html would resolve against
// /static/ instead of /static/sub/ (the web scraper example found this on a generated site).
TEST(HttpServerStatic, DirectoryWithoutTrailingSlashRedirectsToIt) {
  StaticServed s;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/static/sub", "/static/sub/"},
      {"/static/sub?x=1&y", "/static/sub/?x=1&y"},
      {"/static", "/static/"},
  };
  for (const auto& [target, location] : cases) {
    const auto r = fetch(s.server.address(), get_request(target));
    ASSERT_TRUE(r.has_value()) << target;
    EXPECT_EQ(r->status, 301) << target;
    EXPECT_EQ(r->header("Location"), location) << target;
  }
  // A file is never redirected, with or without a query.
  EXPECT_EQ(status_of(fetch(s.server.address(), get_request("/static/readme.txt?x"))), 200);
}

TEST(HttpServerStatic, MissingFileIs404) {
  StaticServed s;
  EXPECT_EQ(status_of(fetch(s.server.address(), get_request("/static/nope.txt"))), 404);
  EXPECT_EQ(status_of(fetch(s.server.address(), get_request("/static/sub/nope/x"))), 404);
}

TEST(HttpServerStatic, PathEscapesNeverServeOutsideTheRoot) {
  StaticServed s;
  const std::vector<std::string> targets = {
      "/static/../secret.txt",
      "/static/%2e%2e/secret.txt",
      "/static/%2E%2E/secret.txt",
      "/static/.%2e/secret.txt",
      "/static/..%2fsecret.txt",
      "/static/..%2Fsecret.txt",
      "/static/%2e%2e%2fsecret.txt",
      "/static/sub/../../secret.txt",
      "/static/sub/%2e%2e/%2e%2e/secret.txt",
      "/static/sub%2f..%2f..%2fsecret.txt",
      "/static/%252e%252e/secret.txt",
      "/static/..;/secret.txt",
      "/static//etc/passwd",
      "/static/%2fetc/passwd",
      "/static/%2Fetc%2Fpasswd",
      "/static/readme.txt%00",
      "/static/readme.txt%00.html",
      "/static/escape_link",
      "/static/outdir/secret.txt",
      "/static/outdir/",
      "/static/..\\secret.txt",
      "/static/%5c..%5csecret.txt",
      "http://test/static/../secret.txt",
      "http://test/static/%2e%2e/secret.txt",
      "http://test/etc/passwd",
  };
  for (const std::string& target : targets) {
    RawClient c = RawClient::connect(s.server.address());
    ASSERT_TRUE(c.send("GET " + target + " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"));
    const auto all = c.read_until_close(5s);
    EXPECT_EQ(all.bytes.find("TOP-SECRET"), std::string::npos) << target << " served the secret";
    EXPECT_EQ(all.bytes.find("root:"), std::string::npos) << target << " served /etc/passwd";
    const auto parsed = weft::test::http::parse_responses(all.bytes);
    ASSERT_EQ(parsed.responses.size(), 1u) << target << ": " << all.bytes;
    const int st = parsed.responses[0].status;
    EXPECT_TRUE(st == 404 || st == 400) << target << ": " << st;
  }
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/readme.txt"))), "plain text");
}

TEST(HttpServerStatic, HeadHasTheLengthAndNoBody) {
  StaticServed s;
  RawClient c = RawClient::connect(s.server.address());
  ASSERT_TRUE(c.send(get_request("/static/big.bin", {}, "HEAD")));
  const auto r = c.read_response("HEAD");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Length").value_or(""), std::to_string(1 << 20));
  EXPECT_TRUE(r->header("Last-Modified"));
  // A body after the head would break the next response.
  ASSERT_TRUE(c.send(get_request("/static/readme.txt")));
  EXPECT_EQ(body_of(c.read_response()), "plain text");
  EXPECT_EQ(c.read_for(50ms), "");
}

TEST(HttpServerStatic, IfModifiedSinceGives304ForTheSameDateAnd200ForAnOlderOne) {
  StaticServed s;
  RawClient c = RawClient::connect(s.server.address());
  ASSERT_TRUE(c.send(get_request("/static/readme.txt")));
  const auto first = c.read_response();
  ASSERT_TRUE(first);
  const auto modified = first->header("Last-Modified");
  ASSERT_TRUE(modified) << first->describe();
  EXPECT_NE(modified->find("GMT"), std::string::npos) << *modified;  // IMF-fixdate
  ASSERT_TRUE(
      c.send(get_request("/static/readme.txt", "If-Modified-Since: " + *modified + "\r\n")));
  const auto same = c.read_response();
  ASSERT_TRUE(same) << to_string(c.last_end());
  EXPECT_EQ(same->status, 304);
  EXPECT_TRUE(same->body.empty());
  ASSERT_TRUE(c.send(
      get_request("/static/readme.txt", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n")));
  const auto older = c.read_response();
  ASSERT_TRUE(older) << to_string(c.last_end());
  EXPECT_EQ(older->status, 200);
  EXPECT_EQ(older->body, "plain text");
  // A date that is not a date is ignored, not an error.
  ASSERT_TRUE(c.send(get_request("/static/readme.txt", "If-Modified-Since: yesterday\r\n")));
  EXPECT_EQ(status_of(c.read_response()), 200);
}

TEST(HttpServerStatic, QueryAndPercentEncodedNamesAreServed) {
  StaticServed s;
  s.tree.dir.write("root/a b.txt", "spaced");
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/readme.txt?v=1"))),
            "plain text");
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/a%20b.txt"))), "spaced");
  const auto post = fetch(s.server.address(), get_request("/static/readme.txt", {}, "POST"));
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
}

TEST(HttpServerStatic, DirectoryWithoutIndexIs404) {
  StaticServed s;
  std::filesystem::create_directories(s.tree.root / "empty");
  EXPECT_EQ(status_of(fetch(s.server.address(), get_request("/static/empty/"))), 404);
}

// A FIFO under the root: opening it for reading would block until a writer comes. It is not
// a regular file: refused at once, and the loops stay free for other clients.
TEST(HttpServerStatic, FifoIsNotOpened) {
  StaticServed s;
  ASSERT_EQ(::mkfifo((s.tree.root / "pipe").c_str(), 0644), 0);
  RawClient c = RawClient::connect(s.server.address());
  ASSERT_TRUE(c.send(get_request("/static/pipe")));
  const auto r = c.read_response("GET", 3s);
  EXPECT_TRUE(r) << "no answer for a FIFO: " << to_string(c.last_end());
  if (r) {
    EXPECT_EQ(r->status, 404);
  }
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/readme.txt"), "GET", 3s)),
            "plain text");
  // Unblock a server thread stuck in open(), so the test can end either way.
  const int w = ::open((s.tree.root / "pipe").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (w >= 0) ::close(w);
}

// An encoded slash is refused in either case, even when the path it would form stays inside
// the root: "sub%2fa.txt" is one segment to the client and two to the file system. So is a
// backslash, raw or encoded, a separator to some clients.
TEST(HttpServerStatic, EncodedSlashAndBackslashAre404EvenInsideTheRoot) {
  StaticServed s;
  s.tree.dir.write("root/sub/a.txt", "in sub");
  s.tree.dir.write("root/back\\slash.txt", "a backslash in the name");
  EXPECT_EQ(body_of(fetch(s.server.address(), get_request("/static/sub/a.txt"))), "in sub");
  for (const std::string target :
       {"/static/sub%2fa.txt", "/static/sub%2Fa.txt", "/static/sub%2f%2fa.txt",
        "/static/back%5cslash.txt", "/static/back%5Cslash.txt", "/static/back\\slash.txt"}) {
    const auto r = fetch(s.server.address(), get_request(target));
    EXPECT_TRUE(status_of(r) == 404 || status_of(r) == 400) << target << ": " << status_of(r);
    EXPECT_NE(body_of(r), "in sub") << target;
    EXPECT_NE(body_of(r), "a backslash in the name") << target;
  }
}

// Lowers RLIMIT_NOFILE to just above the fds open now and takes the rest, so that the next
// open() in this process fails with EMFILE; gives everything back when it goes.
class FdsExhausted {
 public:
  FdsExhausted() {
    ::getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = weft::test::open_fd_count() + 16;
    if (::setrlimit(RLIMIT_NOFILE, &low) != 0)
      throw std::system_error(errno, std::system_category());
    for (;;) {
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        exhausted_ = errno == EMFILE;
        break;
      }
      fillers_.push_back(fd);
    }
  }
  FdsExhausted(const FdsExhausted&) = delete;
  FdsExhausted& operator=(const FdsExhausted&) = delete;
  ~FdsExhausted() {
    for (const int fd : fillers_) ::close(fd);
    ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  [[nodiscard]] bool exhausted() const noexcept { return exhausted_; }

 private:
  rlimit saved_{};
  std::vector<int> fillers_;
  bool exhausted_ = false;
};

// Out of fds, an existing file cannot be opened: the client is told to come back (503 with
// Retry-After), never that the file does not exist. On a connection accepted before (proved by
// an answer), so only the server's open() of the file needs an fd; that first answer is no
// file, whose fd the server might close only after the fds were taken.
TEST(HttpServerStatic, OutOfFileDescriptorsIs503NotA404) {
  StaticServed s;
  RawClient c = RawClient::connect(s.server.address());
  ASSERT_TRUE(c.send(get_request("/hello")));
  ASSERT_EQ(body_of(c.read_response()), "hello\n");
  {
    const FdsExhausted exhausted;
    ASSERT_TRUE(exhausted.exhausted());
    ASSERT_TRUE(c.send(get_request("/static/readme.txt")));
    const auto r = c.read_response();
    ASSERT_TRUE(r) << to_string(c.last_end());
    EXPECT_EQ(r->status, 503) << r->describe();
    EXPECT_TRUE(r->header("Retry-After")) << r->describe();
  }
  // With fds back, the same connection gets the file.
  ASSERT_TRUE(c.send(get_request("/static/readme.txt")));
  EXPECT_EQ(body_of(c.read_response()), "plain text");
}

}  // namespace

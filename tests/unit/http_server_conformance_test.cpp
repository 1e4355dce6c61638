// weft::http::Server against the refusals of the request conformance table
// (http_conformance_cases.hpp, shared with http_request_conformance_test.cpp): each request the
// parser must refuse, sent to a real server whose every route answers 200, gets a 4xx/5xx or a
// closed connection, never a 2xx. And a request that ends the connection (Connection: close,
// HTTP/1.0 without keep-alive) is answered alone: the bytes after it are never taken for a
// request, which is what llhttp's strict "data after close" refusal protects.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "http_conformance_cases.hpp"
#include "http_server_test_support.hpp"

namespace {

using namespace weft::test::conformance;

namespace wt = weft::test::http;

std::vector<Case> refused_cases() {
  std::vector<Case> out;
  for (Case& c : all_cases()) {
    if (c.weft == Verdict::refused) out.push_back(std::move(c));
  }
  return out;
}

// The method token a case's request line starts with, when it has one.
std::string method_of(const std::string& bytes) {
  std::size_t i = 0;
  while (i < bytes.size() && weft::http::detail::is_tchar(static_cast<unsigned char>(bytes[i]))) {
    ++i;
  }
  return bytes.substr(0, i);
}

// One server for every case: routes for every method the table uses, on every path, so a
// request the parser let through would reach a handler and get its 200.
class ConformanceServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new wt::TestServer();
    std::set<std::string> methods;
    for (const Case& c : all_cases()) {
      if (const std::string m = method_of(c.bytes); !m.empty()) methods.insert(m);
    }
    for (const std::string& m : methods) {
      server_->server().route(m, "/*",
                              [](weft::http::ServerRequest&) { return wt::reply("handled\n"); });
    }
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Sends `bytes` and reads until the server closes, or for at most 5 s: a refusal closes the
  // connection at once, and a request wrongly served keeps it open.
  static wt::RawClient::UntilClose exchange(const std::string& bytes) {
    wt::RawClient client = wt::RawClient::connect(server_->address());
    // The server may close before it has read everything (it refused early): a failed send is
    // part of the outcome, not an error of the test.
    (void)client.send(bytes);
    return client.read_until_close(std::chrono::seconds(5));
  }

  static inline wt::TestServer* server_ = nullptr;
};

class RefusedRequest : public ConformanceServer, public ::testing::WithParamInterface<Case> {};

TEST_P(RefusedRequest, GetsAnErrorStatusOrACloseNeverA2xx) {
  const Case& c = GetParam();
  const auto got = exchange(c.bytes);
  const wt::Parsed parsed = wt::parse_responses(got.bytes, {method_of(c.bytes)});
  for (const wt::RawResponse& r : parsed.responses) {
    EXPECT_FALSE(r.status >= 200 && r.status < 300) << r.describe();
  }
  // The answer, when one arrived before the close, is the refusal itself.
  if (!parsed.responses.empty()) {
    EXPECT_EQ(parsed.responses.size(), 1u);
    EXPECT_GE(parsed.responses.back().status, 400) << parsed.responses.back().describe();
    EXPECT_LT(parsed.responses.back().status, 600) << parsed.responses.back().describe();
  }
  EXPECT_NE(got.end, wt::ReadEnd::timeout) << "the server kept the connection open";
}

INSTANTIATE_TEST_SUITE_P(Cases, RefusedRequest, ::testing::ValuesIn(refused_cases()), case_name);

class ConnectionEndingRequest : public ConformanceServer,
                                public ::testing::WithParamInterface<Case> {};

TEST_P(ConnectionEndingRequest, IsAnsweredAloneAndTheBytesAfterItAreNotServed) {
  const Case& c = GetParam();
  const auto got = exchange(c.bytes);
  ASSERT_NE(got.end, wt::ReadEnd::timeout) << "the server kept the connection open";
  const wt::Parsed parsed = wt::parse_responses(got.bytes, {method_of(c.bytes)});
  ASSERT_EQ(parsed.responses.size(), 1u) << got.bytes;
  EXPECT_EQ(parsed.responses.front().status, 200) << parsed.responses.front().describe();
  EXPECT_EQ(parsed.trailing_bytes, 0u) << got.bytes;
}

std::vector<Case> connection_ending_cases() {
  std::vector<Case> out;
  for (Case& c : all_cases()) {
    if (c.llhttp == Llhttp::rejects_after_close) out.push_back(std::move(c));
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, ConnectionEndingRequest,
                         ::testing::ValuesIn(connection_ending_cases()), case_name);

}  // namespace

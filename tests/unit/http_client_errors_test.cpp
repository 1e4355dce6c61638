// weft::http::Client's errors (client_errors.hpp) as a user catches them: ClientTimeout is a
// weft::TimeoutError and a ClientError at once, so one `catch (const weft::TimeoutError&)`
// handles a client timeout and a wait_for deadline alike, one `catch (const ClientError&)`
// every failure of a request, and `catch (const std::exception&)` still catches it (one
// std::runtime_error inside). A timeout inside the total_timeout scope keeps its own phase.

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <weft/http/client.hpp>
#include <weft/timeout_error.hpp>
#include <weft/wait_for.hpp>

#include "http_client_script_server.hpp"
#include "http_client_test_support.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::Task;
using weft::TimeoutError;
using weft::http::Client;
using weft::http::ClientError;
using weft::http::ClientTimeout;
using weft::http::TimeoutPhase;
using weft::test::run_client_bounded;
using weft::test::ScriptServer;
using weft::test::ServerConnection;
using weft::test::ServerRequest;

static_assert(std::is_base_of_v<TimeoutError, ClientTimeout>);
static_assert(std::is_base_of_v<ClientError, ClientTimeout>);
static_assert(std::is_base_of_v<ClientError, weft::http::InvalidUrl>);
static_assert(std::is_base_of_v<ClientError, weft::http::ConnectError>);
static_assert(std::is_base_of_v<ClientError, weft::http::ConnectionClosed>);
static_assert(!std::is_base_of_v<TimeoutError, weft::http::ConnectionClosed>);

// Answers nothing until the client goes away.
std::unique_ptr<ScriptServer> silent_server() {
  return ScriptServer::start([](ServerConnection& c, const ServerRequest&) -> Task<bool> {
    (void)co_await c.until_client_closes();
    co_return false;
  });
}

TEST(HttpClientErrors, AClientTimeoutIsCaughtAsEachOfItsBasesWithItsMessage) {
  const ClientTimeout thrown("http://example.com/", TimeoutPhase::read, 250ms);
  const auto caught_as = [&thrown]<class E>() -> std::string {
    try {
      throw thrown;
    } catch (const E& e) {
      return e.what();
    } catch (...) {
      return "(not caught)";
    }
  };
  const std::string message = thrown.what();
  EXPECT_NE(message.find("read_timeout"), std::string::npos) << message;
  EXPECT_EQ(caught_as.operator()<TimeoutError>(), message);
  EXPECT_EQ(caught_as.operator()<ClientError>(), message);
  EXPECT_EQ(caught_as.operator()<std::runtime_error>(), message);
  EXPECT_EQ(caught_as.operator()<std::exception>(), message);
  // A plain TimeoutError keeps its own message.
  EXPECT_STREQ(TimeoutError().what(), "weft: timed out");
}

TEST(HttpClientErrors, OneCatchOfTimeoutErrorHandlesAClientTimeoutAndAWaitForDeadline) {
  auto body = []() -> Task<void> {
    auto server = silent_server();
    // The client's read_timeout runs out.
    {
      Client client({.read_timeout = 100ms});
      std::optional<TimeoutPhase> phase;
      try {
        (void)co_await client.get(server->url("/client-timeout"));
        ADD_FAILURE() << "the request succeeded";
      } catch (const TimeoutError& e) {
        const auto* client_timeout = dynamic_cast<const ClientTimeout*>(&e);
        EXPECT_NE(client_timeout, nullptr) << e.what();
        if (client_timeout != nullptr) phase = client_timeout->phase();
      }
      EXPECT_EQ(phase, TimeoutPhase::read) << "inside total_timeout, the read keeps its phase";
      co_await client.close();
    }
    // The caller's wait_for runs out first: the same catch, and not a ClientTimeout.
    {
      Client client({.read_timeout = 10s});
      bool caught = false;
      try {
        (void)co_await weft::wait_for(client.get(server->url("/caller-timeout")), 100ms);
        ADD_FAILURE() << "the request succeeded";
      } catch (const TimeoutError& e) {
        caught = true;
        EXPECT_EQ(dynamic_cast<const ClientTimeout*>(&e), nullptr) << e.what();
      }
      EXPECT_TRUE(caught);
      co_await client.close();
    }
    co_await server->stop();
  };
  run_client_bounded(body());
}

TEST(HttpClientErrors, TheTotalTimeoutIsATimeoutErrorNamingItsPhase) {
  auto body = []() -> Task<void> {
    auto server = silent_server();
    Client client({.read_timeout = 10s, .total_timeout = 100ms});
    std::optional<TimeoutPhase> phase;
    try {
      (void)co_await client.get(server->url("/total"));
      ADD_FAILURE() << "the request succeeded";
    } catch (const ClientError& e) {
      // Caught as a ClientError this time: the same object.
      const auto* timeout = dynamic_cast<const ClientTimeout*>(&e);
      EXPECT_NE(dynamic_cast<const TimeoutError*>(&e), nullptr);
      if (timeout != nullptr) phase = timeout->phase();
    }
    EXPECT_EQ(phase, TimeoutPhase::total);
    co_await client.close();
    co_await server->stop();
  };
  run_client_bounded(body());
}

}  // namespace

// weft::http::Client over https: requests and keep-alive on TLS, verification failures as
// TlsHandshakeError, the handshake timeout, the pool keyed by scheme, and a redirect from
// https down to http that drops the credentials.

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <weft/http/client.hpp>
#include <weft/io/tcp_listener.hpp>
#include <weft/io/tcp_stream.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/tls_stream.hpp>
#include <weft/wait_for.hpp>

#include "http_client_script_server.hpp"
#include "test_certs.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using weft::http::Client;
using weft::http::ClientTimeout;
using weft::http::TimeoutPhase;
using weft::http::TlsHandshakeError;
using weft::io::SocketAddress;
using weft::io::TcpListener;
using weft::io::TcpStream;
using weft::test::KeyAndCert;
using weft::test::TestCa;
using weft::tls::Context;
using weft::tls::TlsStream;

template <class T>
T run_bounded(Task<T> body) {
  return weft::run(weft::wait_for(std::move(body), weft::test::kDeadline), weft::test::options(2));
}

std::string text(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// An HTTPS server answering every request head with `respond(head)`, keep-alive, on loopback.
// Records the request heads. Start and stop it inside a task.
class HttpsServer {
 public:
  using Respond = std::string (*)(const std::string& head, const std::string& self);

  HttpsServer(const KeyAndCert& identity, Respond respond)
      : listener_(TcpListener::bind(SocketAddress::parse("127.0.0.1:0"))),
        context_(Context::server({.cert_chain_pem = identity.cert_pem,
                                  .key_pem = identity.key_pem,
                                  .alpn = {"http/1.1"}})),
        respond_(respond),
        acceptor_(weft::spawn(accept_loop(this))) {}

  [[nodiscard]] int port() const { return listener_.local_address().port(); }
  [[nodiscard]] std::string url(const std::string& host, const std::string& path) const {
    return "https://" + host + ":" + std::to_string(port()) + path;
  }
  [[nodiscard]] std::vector<std::string> heads() const {
    std::lock_guard lock(mutex_);
    return heads_;
  }
  [[nodiscard]] std::size_t handshakes() const { return handshakes_.load(); }

  Task<void> stop() {
    acceptor_.cancel();
    try {
      co_await acceptor_;
    } catch (const weft::CancelledError&) {
    }
  }

 private:
  static Task<void> accept_loop(HttpsServer* self) {
    std::vector<JoinHandle<void>> connections;
    try {
      for (;;) {
        TcpStream accepted = co_await self->listener_.accept();
        connections.push_back(weft::spawn(serve(self, std::move(accepted))));
      }
    } catch (const weft::CancelledError&) {
      for (auto& c : connections) c.cancel();
    }
    for (auto& c : connections) {
      try {
        co_await c;
      } catch (const std::exception&) {
      }
    }
    throw weft::CancelledError();
  }

  static Task<void> serve(HttpsServer* self, TcpStream tcp) {
    try {
      TlsStream tls = co_await TlsStream::accept(std::move(tcp), self->context_);
      ++self->handshakes_;
      std::string pending;
      std::array<std::byte, 4096> buffer{};
      for (;;) {
        std::size_t end = pending.find("\r\n\r\n");
        while (end == std::string::npos) {
          const std::size_t n = co_await tls.read_some(buffer);
          if (n == 0) co_return;
          pending += text(std::span(buffer).first(n));
          end = pending.find("\r\n\r\n");
        }
        const std::string head = pending.substr(0, end + 4);
        pending.erase(0, end + 4);
        {
          std::lock_guard lock(self->mutex_);
          self->heads_.push_back(head);
        }
        const std::string response = self->respond_(head, self->url("localhost", ""));
        co_await tls.write_all(std::as_bytes(std::span(response)));
      }
    } catch (const std::exception&) {
      // A client that refused the certificate, or went away.
    }
  }

  TcpListener listener_;
  Context context_;
  Respond respond_;
  mutable std::mutex mutex_;
  std::vector<std::string> heads_;
  std::atomic<std::size_t> handshakes_{0};
  JoinHandle<void> acceptor_;
};

std::string hello(const std::string&, const std::string&) {
  return weft::test::http_response(200, "hello over tls");
}

Context trusting(const TestCa& ca) {
  return Context::client({.ca_pem = ca.cert_pem(), .alpn = {"http/1.1"}});
}

TEST(HttpClientTls, GetsOverHttpsAndReusesTheConnection) {
  const TestCa ca;
  const KeyAndCert identity = ca.issue();
  auto body = [&]() -> Task<void> {
    HttpsServer server(identity, &hello);
    Client client({.tls = trusting(ca)});
    const auto first = co_await client.get(server.url("localhost", "/a"));
    const auto second = co_await client.get(server.url("localhost", "/b"));
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(first.body, "hello over tls");
    EXPECT_EQ(second.body, "hello over tls");
    EXPECT_EQ(first.url, server.url("localhost", "/a"));
    const auto stats = client.stats();
    EXPECT_EQ(stats.connections_opened, 1u);
    EXPECT_EQ(stats.connections_reused, 1u);
    EXPECT_EQ(server.handshakes(), 1u);
    const auto heads = server.heads();
    EXPECT_EQ(heads.size(), 2u);
    if (!heads.empty()) {
      EXPECT_NE(heads[0].find("Host: localhost:" + std::to_string(server.port())),
                std::string::npos)
          << heads[0];
    }
    co_await client.close();
    co_await server.stop();
  };
  run_bounded(body());
}

TEST(HttpClientTls, AnUntrustedServerIsATlsHandshakeErrorWithItsReason) {
  const TestCa ca;
  const KeyAndCert identity = ca.issue();
  auto body = [&]() -> Task<void> {
    HttpsServer server(identity, &hello);
    Client client;  // the system's trust store: the test CA is not in it
    std::optional<TlsHandshakeError> failure;
    try {
      (void)co_await client.get(server.url("localhost", "/"));
      ADD_FAILURE() << "an untrusted certificate was accepted";
    } catch (const TlsHandshakeError& e) {
      failure = e;
    }
    if (failure) {
      EXPECT_EQ(failure->verify_result(), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
          << failure->what();
      EXPECT_EQ(failure->url(), server.url("localhost", "/"));
      EXPECT_NE(std::string(failure->what()).find("TLS handshake failed"), std::string::npos);
    }
    co_await client.close();
    co_await server.stop();
  };
  run_bounded(body());
}

// A server that does not speak TLS: the error says once where it happened and gives
// OpenSSL's reason on its own, not a message of the TLS layer wrapped in the client's.
TEST(HttpClientTls, AServerThatDoesNotSpeakTlsIsAHandshakeErrorSaidOnce) {
  auto body = []() -> Task<std::optional<TlsHandshakeError>> {
    auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
    // Answers the ClientHello with a plain HTTP response, as a plain server on the port would.
    auto plain = [](TcpListener& l) -> Task<void> {
      TcpStream s = co_await l.accept();
      std::array<std::byte, 4096> hello{};
      (void)co_await s.read_some(hello);
      const std::string answer = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
      co_await s.write_all(std::as_bytes(std::span(answer)));
    };
    JoinHandle<void> server = weft::spawn(plain(listener));
    Client client({.tls = Context::client({.insecure_skip_verification = true})});
    std::optional<TlsHandshakeError> failure;
    try {
      (void)co_await client.get(
          "https://127.0.0.1:" + std::to_string(listener.local_address().port()) + "/");
    } catch (const TlsHandshakeError& e) {
      failure = e;
    }
    co_await server;
    co_await client.close();
    co_return failure;
  };
  const std::optional<TlsHandshakeError> failure = run_bounded(body());
  ASSERT_TRUE(failure.has_value()) << "a server answering in plain HTTP was taken for TLS";
  const std::string what = failure->what();
  EXPECT_EQ(failure->verify_result(), 0);
  EXPECT_FALSE(failure->reason().empty());
  EXPECT_EQ(failure->reason().find("weft::"), std::string::npos) << failure->reason();
  EXPECT_EQ(what.find("weft::tls"), std::string::npos) << what;
  EXPECT_NE(what.find(": TLS handshake failed: " + failure->reason()), std::string::npos) << what;
}

TEST(HttpClientTls, AnAddressNotInTheCertificateIsRefused) {
  const TestCa ca;
  const KeyAndCert identity = ca.issue({.dns_names = {"localhost"}, .ip_addresses = {}});
  auto body = [&]() -> Task<long> {
    HttpsServer server(identity, &hello);
    Client client({.tls = trusting(ca)});
    long result = 0;
    try {
      (void)co_await client.get(server.url("127.0.0.1", "/"));
    } catch (const TlsHandshakeError& e) {
      result = e.verify_result();
    }
    co_await client.close();
    co_await server.stop();
    co_return result;
  };
  EXPECT_EQ(run_bounded(body()), X509_V_ERR_IP_ADDRESS_MISMATCH);
}

TEST(HttpClientTls, AnInsecureContextReachesASelfSignedServer) {
  const KeyAndCert identity = weft::test::self_signed();
  auto body = [&]() -> Task<std::string> {
    HttpsServer server(identity, &hello);
    Client client({.tls = Context::client({.insecure_skip_verification = true})});
    const auto response = co_await client.get(server.url("localhost", "/"));
    co_await client.close();
    co_await server.stop();
    co_return response.body;
  };
  EXPECT_EQ(run_bounded(body()), "hello over tls");
}

TEST(HttpClientTls, AHandshakeThatNeverCompletesTimesOut) {
  auto body = []() -> Task<std::optional<TimeoutPhase>> {
    auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
    // Accepts and says nothing: the client's ClientHello is never answered.
    auto silent = [](TcpListener& l) -> Task<void> {
      TcpStream held = co_await l.accept();
      co_await weft::sleep(5s);
    };
    JoinHandle<void> server = weft::spawn(silent(listener));
    Client client({.handshake_timeout = 200ms});
    std::optional<TimeoutPhase> phase;
    try {
      (void)co_await client.get(
          "https://127.0.0.1:" + std::to_string(listener.local_address().port()) + "/");
    } catch (const ClientTimeout& e) {
      phase = e.phase();
      EXPECT_EQ(e.limit(), 200ms);
    }
    server.cancel();
    try {
      co_await server;
    } catch (const weft::CancelledError&) {
    }
    co_await client.close();
    co_return phase;
  };
  EXPECT_EQ(run_bounded(body()), TimeoutPhase::handshake);
}

// The https server's answer: a redirect to the plain server whose URL is in the request's
// X-Next header.
std::string redirect_to_next(const std::string& head, const std::string&) {
  const std::string key = "X-Next: ";
  const auto at = head.find(key);
  const auto end = head.find("\r\n", at);
  return weft::test::redirect_response(302, head.substr(at + key.size(), end - at - key.size()));
}

TEST(HttpClientTls, ARedirectFromHttpsDownToHttpDropsTheCredentials) {
  const TestCa ca;
  const KeyAndCert identity = ca.issue();
  auto body = [&]() -> Task<void> {
    auto plain = weft::test::ScriptServer::start(
        [](weft::test::ServerConnection& c, const weft::test::ServerRequest&) -> Task<bool> {
          co_await c.write(weft::test::http_response(200, "plain"));
          co_return true;
        });
    HttpsServer secure(identity, &redirect_to_next);
    Client client({.tls = trusting(ca)});
    const weft::http::HeaderList headers{{"Authorization", "Bearer secret"},
                                         {"Cookie", "session=1"},
                                         {"X-Next", plain->url("/landed")}};
    const auto response = co_await client.get(secure.url("localhost", "/start"), headers);
    EXPECT_EQ(response.body, "plain");
    EXPECT_EQ(response.redirects, 1u);
    const auto secure_heads = secure.heads();
    EXPECT_EQ(secure_heads.size(), 1u);
    if (!secure_heads.empty()) {
      EXPECT_NE(secure_heads[0].find("Authorization: Bearer secret"), std::string::npos);
    }
    const auto plain_requests = plain->requests();
    EXPECT_EQ(plain_requests.size(), 1u);
    for (const auto& r : plain_requests) {
      EXPECT_FALSE(r.headers.contains("Authorization"));
      EXPECT_FALSE(r.headers.contains("Cookie"));
    }
    co_await client.close();
    co_await secure.stop();
    co_await plain->stop();
  };
  run_bounded(body());
}

}  // namespace
